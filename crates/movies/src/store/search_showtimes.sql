-- GetShowtimes in one statement (see `search_showtimes` in showtimes.rs). Also run
-- as-is by `cinema-bench --only get-showtimes` under pgbench, so the service's figure
-- is compared with the database running exactly this statement.
--
-- $1 now, $2 the end of the current window, $3 the ZIP code and $4 the radius in miles
-- (both NULL: anywhere), $5 theatre ids and $6 movie ids (empty: any), $7/$8 the
-- cursor's start time and id (NULL: first page), $9 the page size.
WITH near AS (
    SELECT theatre_id, distance_miles FROM theatres_within($3::text, $4::float8)
),
-- The theatres a search is limited to, when it is: those near the ZIP code (and
-- named, if some are), or, without a ZIP code, those named.
scope AS (
    SELECT theatre_id FROM near
    WHERE cardinality($5::bigint[]) = 0 OR theatre_id = ANY($5::bigint[])
    UNION
    SELECT id FROM unnest($5::bigint[]) AS named(id) WHERE $3::text IS NULL
),
candidates AS (
    -- A search limited to some theatres takes each one's first page of keys from its
    -- own index (showtimes_theatre_current_idx, without visiting the table) and
    -- merges them; only the page's rows are read: however many showtimes the country
    -- has, it reads at most a page of index entries per theatre. (One scan of every current showtime in time order, keeping
    -- a rural ZIP code's few, read most of a national catalogue: a quarter of a second.)
    (SELECT s.id, s.start_time
     FROM scope
     CROSS JOIN LATERAL (
         SELECT s.id, s.start_time
         FROM showtimes s
         WHERE s.theatre_id = scope.theatre_id AND NOT s.sold_out
           AND s.start_time > $1::timestamptz AND s.start_time < $2::timestamptz
           AND (cardinality($6::bigint[]) = 0 OR s.movie_id = ANY($6::bigint[]))
           AND ($7::timestamptz IS NULL OR (s.start_time, s.id) > ($7::timestamptz, $8::bigint))
         ORDER BY s.start_time, s.id
         LIMIT $9::bigint + 1
     ) s
     WHERE $3::text IS NOT NULL OR cardinality($5::bigint[]) > 0)
    UNION ALL
    -- Anywhere, some movies: the same, each movie's first page of keys from its own
    -- index (showtimes_movie_current_idx). Filtering the time-ordered scan below
    -- instead read every current showtime of a national catalogue for a movie that
    -- plays at a few theatres (a movie page's "where it is playing": 0.1 s).
    (SELECT s.id, s.start_time
     FROM unnest($6::bigint[]) AS wanted(movie_id)
     CROSS JOIN LATERAL (
         SELECT s.id, s.start_time
         FROM showtimes s
         WHERE s.movie_id = wanted.movie_id AND NOT s.sold_out
           AND s.start_time > $1::timestamptz AND s.start_time < $2::timestamptz
           AND ($7::timestamptz IS NULL OR (s.start_time, s.id) > ($7::timestamptz, $8::bigint))
         ORDER BY s.start_time, s.id
         LIMIT $9::bigint + 1
     ) s
     WHERE $3::text IS NULL AND cardinality($5::bigint[]) = 0)
    UNION ALL
    -- Anywhere, any movie: current showtimes in time order.
    (SELECT s.id, s.start_time
     FROM showtimes s
     WHERE $3::text IS NULL AND cardinality($5::bigint[]) = 0
       AND cardinality($6::bigint[]) = 0
       AND s.start_time > $1::timestamptz AND s.start_time < $2::timestamptz
       AND NOT s.sold_out
       AND ($7::timestamptz IS NULL OR (s.start_time, s.id) > ($7::timestamptz, $8::bigint))
     ORDER BY s.start_time, s.id
     LIMIT $9::bigint + 1)
),
page AS (
    -- One row more than asked, to know whether another page follows. Numbered after
    -- the LIMIT, so that the sort keeps only the page (a top-N sort) instead of
    -- sorting every candidate for the window function.
    SELECT s.id, s.movie_id, s.theatre_id, s.room, s.start_time, s.price_cents,
           s.product_id, row_number() OVER (ORDER BY c.start_time, c.id) AS position
    FROM (SELECT * FROM candidates ORDER BY start_time, id LIMIT $9::bigint + 1) c
    JOIN showtimes s ON s.id = c.id
),
shown AS (SELECT * FROM page WHERE position <= $9::bigint)
SELECT
    ($3::text IS NULL OR EXISTS (SELECT 1 FROM zip_codes WHERE zip = $3::text)) AS "zip_known!",
    EXISTS (SELECT 1 FROM page WHERE position > $9::bigint) AS "more!",
    -- The page's showtimes as one array per column, in page order: cheaper to build
    -- and to decode than a JSON object per showtime.
    page_rows.ids AS "ids!", page_rows.movie_ids AS "movie_ids!",
    page_rows.theatre_ids AS "theatre_ids!", page_rows.rooms AS "rooms!",
    page_rows.start_times AS "start_times!", page_rows.prices AS "price_cents!",
    page_rows.product_ids AS "product_ids!",
    (SELECT coalesce(json_agg(json_build_object(
                'id', m.id, 'name', m.name, 'length_minutes', m.length_minutes,
                'rating', m.rating, 'release_year', m.release_year)
            ORDER BY m.name, m.id), '[]')
     FROM movies m WHERE m.id IN (SELECT movie_id FROM shown)) AS "movies!: Json<Vec<MovieRow>>",
    (SELECT coalesce(json_agg(json_build_object(
                'id', t.id, 'name', t.name, 'phone', t.phone,
                'address_line_1', t.address_line_1, 'city', t.city, 'state', t.state,
                'zip', t.zip, 'latitude', t.latitude, 'longitude', t.longitude,
                'time_zone', t.time_zone, 'distance_miles', n.distance_miles,
                'auditoriums', (
                    SELECT coalesce(json_agg(json_build_object('room', a.room, 'seats', a.seats)
                                             ORDER BY a.room), '[]')
                    FROM auditoriums a WHERE a.theatre_id = t.id))
            ORDER BY n.distance_miles NULLS LAST, t.name, t.id), '[]')
     FROM theatres t LEFT JOIN near n ON n.theatre_id = t.id
     WHERE t.id IN (SELECT theatre_id FROM shown)) AS "theatres!: Json<Vec<TheatreRow>>"
FROM (
    SELECT coalesce(array_agg(p.id ORDER BY p.position), '{}') AS ids,
           coalesce(array_agg(p.movie_id ORDER BY p.position), '{}') AS movie_ids,
           coalesce(array_agg(p.theatre_id ORDER BY p.position), '{}') AS theatre_ids,
           coalesce(array_agg(p.room ORDER BY p.position), '{}') AS rooms,
           coalesce(array_agg(p.start_time ORDER BY p.position), '{}') AS start_times,
           coalesce(array_agg(p.price_cents ORDER BY p.position), '{}') AS prices,
           coalesce(array_agg(p.product_id ORDER BY p.position), '{}') AS product_ids
    FROM shown p
) page_rows
