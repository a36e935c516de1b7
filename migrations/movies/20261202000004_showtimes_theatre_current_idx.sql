-- A ZIP code search reads each nearby theatre's next current showtimes in
-- (start_time, id) order from this index alone (movie_id included for the movie
-- filter, so the table is not visited), merges them, and reads the page's rows only
-- (see search_showtimes.sql). On a national catalogue that is a few thousand index
-- entries, where a scan of every current showtime in time order read most of the
-- table for a rural ZIP code with one theatre.
create index showtimes_theatre_current_idx on showtimes (theatre_id, start_time, id)
    include (movie_id)
    where not sold_out;
