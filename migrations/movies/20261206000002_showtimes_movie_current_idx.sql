-- A search for some movies anywhere (no ZIP code, no theatre) reads each movie's
-- current showtimes in time order from here, like a theatre's from
-- showtimes_theatre_current_idx, instead of every current showtime.
create index showtimes_movie_current_idx on showtimes (movie_id, start_time, id)
    where not sold_out;
