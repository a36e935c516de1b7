-- Holds: stock set aside for a customer while they pay, so that no row lock is held
-- while a payment processor thinks (200 ms to 2 s for a real one).
--
-- A product's units are now: available (quantity_remaining, the name old clients
-- know), held (quantity_held) and sold (the rest of quantity_total). A hold moves
-- units from available to held; confirming it moves them to sold; releasing it, or
-- its expiry, moves them back to available.

alter table products
    add column quantity_held bigint not null default 0 check (quantity_held >= 0),
    drop constraint products_quantity_remaining_range,
    add constraint products_quantity_range
        check (quantity_remaining >= 0 and quantity_remaining + quantity_held <= quantity_total);

create table holds (
    id                  bigint generated always as identity primary key,
    -- What clients see: unguessable, since whoever knows it can pay for the seats.
    public_id           uuid not null unique,
    -- Idempotency of HoldProducts (its request id) or of the PlaceOrder that made the
    -- hold for itself ('order:' || its request id).
    request_id          text not null unique check (length(request_id) between 1 and 80),
    request_fingerprint bytea not null check (length(request_fingerprint) = 32),
    status              text not null default 'active'
                        check (status in ('active', 'confirmed', 'released', 'expired')),
    expires_at          timestamptz not null,
    created_at          timestamptz not null default now(),
    ended_at            timestamptz,
    constraint holds_ended_consistent check ((status = 'active') = (ended_at is null))
);

-- The sweeper's scan: active holds by expiry.
create index holds_active_expiry_idx on holds (expires_at) where status = 'active';

create table hold_items (
    hold_id          bigint not null references holds (id),
    position         integer not null check (position between 1 and 100),
    product_id       bigint not null references products (id),
    quantity         bigint not null check (quantity between 1 and 10000),
    -- Priced when held: the customer pays what they were shown.
    unit_price_cents bigint not null check (unit_price_cents >= 0),
    primary key (hold_id, position),
    unique (hold_id, product_id)
);

-- Every payment authorization a checkout asks for, recorded *before* asking, so a
-- process that dies between authorizing and confirming leaves a row that a restart
-- (any replica) can finish: captured with the order, or voided.
create table payment_authorizations (
    id                 bigint generated always as identity primary key,
    -- The PlaceOrder request it belongs to; one authorization per request.
    request_id         text not null unique check (length(request_id) between 1 and 64),
    hold_id            bigint not null references holds (id),
    amount_cents       bigint not null check (amount_cents >= 0),
    status             text not null default 'pending'
                       check (status in ('pending', 'authorized', 'declined', 'captured', 'voided')),
    -- The processor's reference, once it has given one.
    authorization_code text check (length(authorization_code) between 1 and 64),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

create index payment_authorizations_open_idx on payment_authorizations (hold_id)
    where status in ('pending', 'authorized');

alter table orders add column hold_id bigint unique references holds (id);
