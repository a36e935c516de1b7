-- Texts to customers travel through the outbox too.

alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check
    check (kind in ('product_sold_out', 'product_available', 'sms'));

-- A checkout whose payment was declined: kept so the failed-checkout text has a record
-- to be written with, and for support ("why was I not charged?").
create table declined_checkouts (
    id             bigint generated always as identity primary key,
    request_id     text not null check (length(request_id) between 1 and 64),
    customer_phone text check (customer_phone ~ '^\+[1-9][0-9]{6,14}$'),
    total_cents    bigint not null check (total_cents >= 0),
    reason         text not null check (length(reason) between 1 and 500),
    created_at     timestamptz not null default now()
);
