-- The theatres within `radius_miles` of a ZIP code's centre, with their distance: the
-- one definition of "near a ZIP code" for every search. A latitude/longitude box
-- around the centre (a degree of latitude is ~69 miles; one of longitude shrinks with
-- cos(latitude); 1 % of margin keeps edge points inside) narrows to the few theatres
-- inside it with theatres_lat_lon_idx, and the exact distance is computed for those
-- only. LANGUAGE sql and STABLE, so the planner inlines it into the calling query.
create function theatres_within(origin_zip text, radius_miles double precision)
returns table (theatre_id bigint, distance_miles double precision)
language sql stable parallel safe
as $$
    select t.id, great_circle_miles(z.latitude, z.longitude, t.latitude, t.longitude)
    from zip_codes z
    cross join lateral (
        select radius_miles / 69.0 * 1.01 as dlat,
               least(radius_miles / (69.17 * greatest(abs(cos(radians(z.latitude))), 0.01))
                     * 1.01, 180.0) as dlon
    ) box
    join theatres t
      on t.latitude between z.latitude - box.dlat and z.latitude + box.dlat
     and t.longitude between z.longitude - box.dlon and z.longitude + box.dlon
    where z.zip = origin_zip
      and great_circle_miles(z.latitude, z.longitude, t.latitude, t.longitude) <= radius_miles
$$;
