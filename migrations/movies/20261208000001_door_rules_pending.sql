-- Since 20261208 the orders service keeps the door's rules of each product (orders'
-- migrations: from when to when, and at which theatre, a ticket's holder is let in),
-- and CreateShowtime registers them with the product. Showtimes registered before
-- have products without them, whose codes the box office would let in at any time and
-- any theatre. The movies service registers those not over yet again when it starts
-- (`Scheduler::register_missing_door_rules`: AddProduct with the same values fills in
-- what a product lacks) and marks them here.
--
-- Existing rows are still to do (false); a row written from now on is registered with
-- its rules (the default becomes true).
alter table showtimes add column door_rules_registered boolean not null default false;
alter table showtimes alter column door_rules_registered set default true;

-- What is left to do, found without reading every showtime; empty once it is done,
-- and on a database that never had showtimes without the rules.
create index showtimes_door_rules_pending_idx on showtimes (id)
    where not door_rules_registered;
