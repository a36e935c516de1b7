-- great_circle_miles again, with the same result, so that the planner can inline it.
-- Postgres inlines a STRICT SQL function only when its body is strict too, and
-- least() is not (least(1.0, NULL) is 1.0), so every search ran the old body as a
-- query of its own: parsed from its stored tree and planned on each execution, then
-- run once per theatre near the ZIP code. float8smaller is the same clamp (it is what
-- min(float8) is made of) and is strict, so a NULL coordinate still gives NULL.
-- (National catalogue, cinema-bench --only national-search: Postgres's CPU per search
-- fell by a quarter, and the ZIP 02139 search's by a tenth.) The clamp keeps asin's
-- argument in its domain when rounding takes it just over 1 (antipodal points).
create or replace function great_circle_miles(lat1 double precision, lon1 double precision,
                                              lat2 double precision, lon2 double precision)
returns double precision
language sql immutable strict parallel safe
return 3958.7613 * 2 * asin(float8smaller(1.0, sqrt(
    power(sin(radians(lat2 - lat1) / 2), 2)
    + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2))));
