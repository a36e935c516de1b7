-- The sequence of the last availability event applied to a showtime: events arrive at
-- least once and possibly out of order, and an older one must never undo a newer one.
alter table showtimes add column availability_seq bigint not null default 0;
