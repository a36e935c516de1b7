-- A provider that withdraws a product (a showing called off once its doors opened: the
-- projector broke mid-film) cancels and refunds the orders whose holders were let in
-- too. Such an order keeps its admitted_at, the record of the visit. A customer still
-- cannot cancel an admitted order: the service refuses it (ALREADY_ADMITTED).
alter table orders drop constraint orders_admitted_only_when_placed;
alter table orders add constraint orders_admitted_only_when_placed
    check (admitted_at is null or status = 'placed' or cancelled_by_provider);
