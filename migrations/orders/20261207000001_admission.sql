-- When an order's holder was let in at the door (AdmitOrder): once, and only for an
-- order that stands. A copy of the code shown a second time is refused, and an
-- order whose tickets were used can no longer be cancelled and refunded.

alter table orders add column admitted_at timestamptz;
alter table orders add constraint orders_admitted_only_when_placed
    check (admitted_at is null or status = 'placed');
