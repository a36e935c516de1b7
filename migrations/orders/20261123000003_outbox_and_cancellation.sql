-- Cancellation, and the outbox that carries every push to another system.

alter table orders
    add column cancelled_at      timestamptz,
    add column cancel_request_id text check (length(cancel_request_id) between 1 and 64),
    add constraint orders_cancelled_consistent
        check ((status = 'cancelled') = (cancelled_at is not null));

-- A message to deliver outside the database, written in the same transaction as the
-- change that caused it, so it exists if and only if that change committed.
create table outbox (
    id              bigint generated always as identity primary key,
    kind            text not null check (kind in ('product_sold_out', 'product_available')),
    -- For callbacks: the provider to call (its current endpoint is looked up at
    -- delivery time, so re-registering a new address redirects pending messages).
    provider_id     bigint references providers (id),
    product_id      bigint references products (id),
    payload         jsonb not null default '{}',
    occurred_at     timestamptz not null default now(),
    status          text not null default 'pending'
                    check (status in ('pending', 'delivered', 'exhausted')),
    attempts        integer not null default 0 check (attempts >= 0),
    -- When the row may next be claimed. A claim pushes it forward by a lease, so a
    -- row in flight is not claimed again by another replica.
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    delivered_at    timestamptz,
    constraint outbox_delivered_consistent check ((status = 'delivered') = (delivered_at is not null))
);

create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';

-- Every delivery attempt, kept for operators.
create table outbox_attempts (
    outbox_id    bigint not null references outbox (id),
    attempt      integer not null check (attempt >= 1),
    attempted_at timestamptz not null default now(),
    -- NULL when the attempt succeeded.
    error        text,
    primary key (outbox_id, attempt)
);
