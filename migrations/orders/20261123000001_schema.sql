-- The orders service's physical model. Every invariant that can be a constraint is one,
-- so a bug in the service cannot write a row the domain would refuse.

create table zip_codes (
    zip       text primary key check (zip ~ '^[0-9]{5}$'),
    city      text not null check (length(city) between 1 and 128),
    state     text not null check (state ~ '^[A-Z]{2}$'),
    county    text not null check (length(county) <= 128),
    latitude  double precision not null check (latitude between -90 and 90),
    longitude double precision not null check (longitude between -180 and 180)
);

-- Product providers (the movies service is one). Callbacks go to callback_endpoint.
create table providers (
    id                bigint generated always as identity primary key,
    name              text not null unique check (length(name) between 1 and 100),
    callback_endpoint text not null check (length(callback_endpoint) between 1 and 2048),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now()
);

create table products (
    id                 bigint generated always as identity primary key,
    description        text not null check (length(description) between 1 and 1000),
    price_cents        bigint not null check (price_cents >= 0),
    -- quantity_total is what the provider registered (AddProduct idempotency compares
    -- against it); quantity_remaining is what is left to sell. The check is the last
    -- line of defence against overselling.
    quantity_total     bigint not null check (quantity_total >= 0),
    quantity_remaining bigint not null,
    provider_id        bigint references providers (id),
    external_ref       text check (length(external_ref) between 1 and 200),
    created_at         timestamptz not null default now(),
    constraint products_quantity_remaining_range
        check (quantity_remaining between 0 and quantity_total),
    constraint products_external_ref_needs_provider
        check (external_ref is null or provider_id is not null),
    constraint products_provider_external_ref_key unique (provider_id, external_ref)
);

create table promotions (
    code           text primary key check (code ~ '^[A-Z0-9-]{3,32}$'),
    description    text not null default '',
    active         boolean not null default true,
    uses_remaining integer not null check (uses_remaining >= 0),
    created_at     timestamptz not null default now()
);

-- No column here can hold a full card number: brand, last four digits and expiry only.
create table credit_card_payments (
    id                 bigint generated always as identity primary key,
    brand              text not null check (brand in ('AmericanExpress', 'Visa', 'MasterCard')),
    last_four          text not null check (last_four ~ '^[0-9]{4}$'),
    expiration_month   smallint not null check (expiration_month between 1 and 12),
    expiration_year    smallint not null check (expiration_year between 2000 and 2200),
    billing_line_1     text not null check (length(billing_line_1) between 1 and 256),
    billing_line_2     text check (length(billing_line_2) between 1 and 256),
    billing_city       text not null check (length(billing_city) between 1 and 128),
    billing_state      text not null check (billing_state ~ '^[A-Z]{2}$'),
    billing_zip        text not null references zip_codes (zip),
    authorization_code text not null check (length(authorization_code) between 1 and 64),
    created_at         timestamptz not null default now()
);

create table paypal_payments (
    id                 bigint generated always as identity primary key,
    email              text not null check (length(email) between 3 and 254 and position('@' in email) > 1),
    authorization_code text not null check (length(authorization_code) between 1 and 64),
    created_at         timestamptz not null default now()
);

create table promotional_payments (
    id             bigint generated always as identity primary key,
    promotion_code text not null references promotions (code),
    created_at     timestamptz not null default now()
);

create table orders (
    id                     bigint generated always as identity primary key,
    -- Unambiguous alphabet: no 0/O/1/I.
    confirmation_code      text not null unique check (confirmation_code ~ '^[A-HJ-NP-Z2-9]{8,16}$'),
    -- The client's idempotency key, and a digest of the request body it came with, so a
    -- retry can be told apart from a different request reusing the key.
    request_id             text not null unique check (length(request_id) between 1 and 64),
    request_fingerprint    bytea not null check (length(request_fingerprint) = 32),
    status                 text not null default 'placed' check (status in ('placed', 'cancelled')),
    customer_phone         text check (customer_phone ~ '^\+[1-9][0-9]{6,14}$'),
    credit_card_payment_id bigint unique references credit_card_payments (id),
    paypal_payment_id      bigint unique references paypal_payments (id),
    promotional_payment_id bigint unique references promotional_payments (id),
    created_at             timestamptz not null default now(),
    -- Exactly one payment per order (the chapter's XOR).
    constraint orders_payment_xor
        check (num_nonnulls(credit_card_payment_id, paypal_payment_id, promotional_payment_id) = 1)
);

create table line_items (
    order_id         bigint not null references orders (id),
    position         integer not null check (position between 1 and 100),
    product_id       bigint not null references products (id),
    quantity         bigint not null check (quantity between 1 and 10000),
    -- The unit price paid at purchase time; the product's price may change later.
    unit_price_cents bigint not null check (unit_price_cents >= 0),
    primary key (order_id, position),
    -- Items naming the same product are merged into one line item.
    unique (order_id, product_id)
);

create index line_items_product_id_idx on line_items (product_id);
