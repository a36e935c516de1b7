-- A product its provider withdrew (a cancelled showing): its sales end at that moment,
-- and every order of it is cancelled and refunded. NULL for a product still offered.
alter table products add column withdrawn_at timestamptz;

-- Whether an order was cancelled because its provider withdrew a product of it, rather
-- than by its customer: the customer is told so.
alter table orders add column cancelled_by_provider boolean not null default false;
