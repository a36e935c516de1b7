-- Whether an order's holder was let in outside its products' admission window, by a
-- manager's override (AdmitOrder's override_admission_window): on the order's record,
-- for whoever reviews the door later. Only an admitted order can have been.
alter table orders add column admitted_by_override boolean not null default false;
alter table orders add constraint orders_override_only_when_admitted
    check (not admitted_by_override or admitted_at is not null);
