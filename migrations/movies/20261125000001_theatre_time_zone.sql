-- Showtimes are instants; moviegoers read them in the theatre's local time, so each
-- theatre keeps its IANA time zone. New theatres get one from the service (given, or
-- derived from the state and longitude); existing rows are backfilled here from their
-- state's main zone, which an admin can correct.
alter table theatres add column time_zone text;

update theatres set time_zone = case
    when state in ('AL','AR','IL','IA','LA','MN','MS','MO','OK','WI','TN','KS','NE','ND','SD','TX')
        then 'America/Chicago'
    when state = 'AZ' then 'America/Phoenix'
    when state in ('CO','MT','NM','UT','WY','ID') then 'America/Denver'
    when state in ('CA','NV','OR','WA') then 'America/Los_Angeles'
    when state = 'AK' then 'America/Anchorage'
    when state = 'HI' then 'Pacific/Honolulu'
    when state = 'PR' then 'America/Puerto_Rico'
    when state = 'VI' then 'America/St_Thomas'
    when state = 'GU' then 'Pacific/Guam'
    when state = 'AS' then 'Pacific/Pago_Pago'
    when state = 'MP' then 'Pacific/Saipan'
    else 'America/New_York'
end;

alter table theatres
    alter column time_zone set not null,
    add constraint theatres_time_zone_check check (time_zone ~ '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$');
