-- The showtime id each CreateShowtime request id was given, written before the orders
-- service is called: the id is the product's external reference there, so a retry (or
-- a racing duplicate) of the same request must use the same one to register the same
-- product. Keeping it here lets CreateShowtime hold no transaction and no lock while
-- it waits on the orders service.
create table showtime_reservations (
    request_id  text primary key check (length(request_id) between 1 and 64),
    showtime_id bigint not null unique,
    created_at  timestamptz not null default now()
);

-- Showtimes created before this table existed keep their ids.
insert into showtime_reservations (request_id, showtime_id)
select request_id, id from showtimes
on conflict do nothing;
