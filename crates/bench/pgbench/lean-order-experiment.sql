-- An experiment, not the service's schema: the leanest data model found that keeps an
-- order's two durable commits (the hold, then the confirmation), to measure how close
-- such a checkout's statements could come to TPC-B (docs/performance.md). The order
-- *is* the hold row, confirmed in place: its items are arrays, and the authorization
-- claim and the card are its columns, so an order writes 8 index entries instead of
-- the service's 22. It gives up what the real schema keeps: several authorizations per
-- hold (a customer's second card after a decline), and orders, payments and holds as
-- tables of their own.
--
-- Its variables and its first CTE (taking the stock) are place-order.sql's, on purpose:
-- pgbench scripts cannot include one another, and the two runs must draw the same
-- load and take stock the same way, so that they differ only in what they write.
--
-- On the scratch database of place-order.sql (its header), add the table, then run it
-- interleaved with TPC-B and place-order.sql:
--   psql -d po -c "CREATE TABLE lean_orders (
--     id bigint generated always as identity primary key,
--     public_id uuid not null unique, request_id text not null unique,
--     fingerprint bytea not null, status text not null default 'held',
--     expires_at timestamptz not null,
--     product_ids bigint[] not null, quantities bigint[] not null, unit_prices bigint[] not null,
--     amount_cents bigint not null, claimed_by uuid,
--     auth_status text not null default 'pending', authorization_code text,
--     confirmation_code text unique,
--     card_brand text, last_four text, exp_month smallint, exp_year smallint,
--     billing_line_1 text, billing_city text, billing_state text,
--     billing_zip text references zip_codes (zip),
--     created_at timestamptz not null default now(), ended_at timestamptz);
--   CREATE INDEX ON lean_orders (expires_at) WHERE status = 'held'"
--   pgbench -n -M prepared -c 8 -j 2 -T 20 -f crates/bench/pgbench/lean-order-experiment.sql po
\set p random(1, 200)
\set r random(1, 1000000000000)
\set c random(100000000000, 999999999999)
WITH taken AS (
     UPDATE products p
     SET quantity_remaining = p.quantity_remaining - t.quantity,
         quantity_held = p.quantity_held + t.quantity
     FROM hold_lines(ARRAY[:p::bigint]::bigint[], ARRAY[1]::bigint[], ARRAY[1]::int[]) AS t
     WHERE p.id = t.id AND p.quantity_remaining >= t.quantity
       AND (p.sales_end IS NULL OR p.sales_end > now())
     RETURNING p.id, p.quantity_remaining, t.quantity, t.position, p.price_cents
 ),
 hold AS (
     INSERT INTO lean_orders (public_id, request_id, fingerprint, expires_at, product_ids, quantities, unit_prices, amount_cents, claimed_by)
     SELECT gen_random_uuid(), 'pg-' || :client_id::text || '-' || :r::text, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, now() + interval '10 minutes',
        (SELECT array_agg(id ORDER BY position) FROM taken), (SELECT array_agg(quantity ORDER BY position) FROM taken), (SELECT array_agg(price_cents ORDER BY position) FROM taken),
        (SELECT sum(quantity*price_cents) FROM taken), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid
     WHERE (SELECT count(*) FROM taken) = 1
     RETURNING id
 )
 SELECT taken.id, (SELECT id FROM hold) AS hold_id FROM taken \gset
WITH confirmed AS (
     UPDATE lean_orders SET status = 'placed', ended_at = now(), confirmation_code = translate(:c::text, '0123456789', 'ABCDEFGHJK') || 'ZZ',
        auth_status = 'captured', authorization_code = 'AUTH-' || :r::text,
        card_brand = 'Visa', last_four = '1111', exp_month = 12, exp_year = 2030, billing_line_1 = '1 Main St', billing_city = 'Cambridge', billing_state = 'MA', billing_zip = '02139'
     WHERE id = :hold_id::bigint AND status = 'held' AND expires_at > now()
     RETURNING product_ids, quantities
 ),
 sold AS (
     UPDATE products p SET quantity_held = p.quantity_held - i.quantity
     FROM confirmed c, unnest(c.product_ids, c.quantities) AS i(product_id, quantity)
     WHERE p.id = i.product_id
 )
 SELECT EXISTS (SELECT 1 FROM confirmed) AS confirmed;
