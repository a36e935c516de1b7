-- A showtime called off by CancelShowtime. It is marked sold out as well: nothing of
-- it is on sale, and every listing (filtered on sold_out, through the partial indexes
-- built on it) leaves it out with no change to the search.
alter table showtimes add column cancelled_at timestamptz;

-- A cancelled showtime frees its auditorium: another may be scheduled in its place,
-- the same movie at the same time included.
alter table showtimes drop constraint showtimes_no_overlap;
alter table showtimes add constraint showtimes_no_overlap exclude using gist (
    theatre_id with =,
    room with =,
    tstzrange(start_time, busy_until) with &&
) where (cancelled_at is null);
alter table showtimes drop constraint showtimes_movie_theatre_room_start_key;
create unique index showtimes_movie_theatre_room_start_key
    on showtimes (movie_id, theatre_id, room, start_time) where cancelled_at is null;
