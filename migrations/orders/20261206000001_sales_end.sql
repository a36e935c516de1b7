-- When a product stops being sold and its orders stop being cancellable (a showtime's
-- start); NULL for a product that is sold for as long as it has units. Products added
-- before this column existed keep NULL: nothing is invented for them.
alter table products add column sales_end timestamptz;
