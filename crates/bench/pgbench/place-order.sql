-- PlaceOrder's statements, as the orders service sends them for one ticket paid by
-- card (crates/orders/src/store: insert_hold, with its authorization claim, then
-- insert_confirmed_order; each commits on its own for one product), for pgbench: what
-- Postgres alone can do with them, with no service, gRPC or load generator in the
-- way. The ceiling the service's PlaceOrder can approach, next to TPC-B on the same
-- server. (Billing ZIPs are cached by the service, and a first attempt looks for no
-- earlier order, so neither look-up is here.)
--
-- On a scratch database with the orders schema and 200 products (ids 1-200):
--   createdb po && for f in migrations/orders/*.sql; do psql -q -d po -f $f; done
--   psql -d po -c "INSERT INTO products (description, price_cents, quantity_total, quantity_remaining)
--                  SELECT 'p' || g, 1200, 1e9, 1e9 FROM generate_series(1, 200) g"
--   pgbench -n -M prepared -c 8 -j 2 -T 20 -f crates/bench/pgbench/place-order.sql po
--
-- pgbench substitutes `:name` even inside string literals, hence chr(58) for ':'.
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
     RETURNING p.id, p.quantity_remaining, t.quantity, t.position, p.price_cents,
               p.provider_id, p.external_ref, p.sales_end
 ),
 hold AS (
     INSERT INTO holds (public_id, request_id, request_fingerprint, expires_at)
     SELECT gen_random_uuid(), 'order' || chr(58) || 'pg-' || :client_id::text || '-' || :r::text, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, least(now() + interval '10 minutes', (SELECT min(sales_end) FROM taken))
     WHERE (SELECT count(*) FROM taken) = 1
     RETURNING id, expires_at
 ),
 items AS (
     INSERT INTO hold_items (hold_id, position, product_id, quantity, unit_price_cents)
     SELECT hold.id, taken.position, taken.id, taken.quantity, taken.price_cents
     FROM hold, taken
 ),
 claim AS (
     INSERT INTO payment_authorizations (request_id, hold_id, amount_cents, claimed_by)
     SELECT 'pg-' || :client_id::text || '-' || :r::text, hold.id,
            (SELECT sum(taken.quantity * taken.price_cents) FROM taken), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid
     FROM hold
     ON CONFLICT (request_id) DO UPDATE
         SET status = 'pending', hold_id = EXCLUDED.hold_id,
             amount_cents = EXCLUDED.amount_cents, updated_at = now(),
             authorization_code = NULL, claimed_by = EXCLUDED.claimed_by
         WHERE payment_authorizations.status IN ('declined', 'voided')
            OR (payment_authorizations.status = 'pending'
                AND payment_authorizations.updated_at < now() - make_interval(secs => 36))
     RETURNING id
 ),
 sold_out AS (
     INSERT INTO outbox (kind, provider_id, product_id, payload)
     SELECT 'product_sold_out', taken.provider_id, taken.id,
            jsonb_build_object('external_ref', taken.external_ref, 'remaining', 0, 'traceparent', NULL::text)
     FROM taken
     WHERE taken.quantity_remaining = 0 AND taken.provider_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM hold)
     RETURNING id
 ),
 announced AS (
     SELECT pg_notify('cinema_outbox', '') FROM (SELECT 1 FROM sold_out LIMIT 1) AS any_row
 )
 SELECT taken.id, taken.quantity_remaining, (SELECT id FROM hold) AS hold_id, (SELECT expires_at FROM hold) AS expires_at, EXISTS (SELECT 1 FROM claim) AS claimed,
        (SELECT count(*) FROM announced) AS announced
 FROM taken \gset
WITH locked AS (
     SELECT p.id FROM products p
     WHERE p.id = ANY (ARRAY(SELECT product_id FROM hold_items WHERE hold_id = :hold_id::bigint))
     ORDER BY p.id FOR UPDATE OF p
 ),
 confirmed AS (
     UPDATE holds SET status = 'confirmed', ended_at = now()
     WHERE id = :hold_id::bigint AND status = 'active' AND expires_at > now()
       AND (SELECT count(*) FROM locked) > 0
     RETURNING id
 ),
 sold AS (
     UPDATE products p SET quantity_held = p.quantity_held - i.quantity
     FROM hold_items i JOIN confirmed c ON c.id = i.hold_id
     WHERE p.id = i.product_id
 ),
 redeemed AS (
     UPDATE promotions SET uses_remaining = uses_remaining - 1
     WHERE 'card' = 'promotion' AND code = NULL::text AND active AND uses_remaining > 0
       AND EXISTS (SELECT 1 FROM confirmed)
     RETURNING code
 ),
 card AS (
     INSERT INTO credit_card_payments
         (brand, last_four, expiration_month, expiration_year, billing_line_1,
          billing_line_2, billing_city, billing_state, billing_zip, authorization_code)
     SELECT 'Visa', '1111', 12::smallint, 2030::smallint, '1 Main St', NULL, 'Cambridge', 'MA', '02139', 'AUTH-' || :r::text
     WHERE EXISTS (SELECT 1 FROM confirmed)
     RETURNING id
 ),
 paypal AS (
     INSERT INTO paypal_payments (email, authorization_code)
     SELECT NULL::text, 'AUTH-' || :r::text
     WHERE 'card' = 'paypal' AND EXISTS (SELECT 1 FROM confirmed)
     RETURNING id
 ),
 promo AS (
     INSERT INTO promotional_payments (promotion_code)
     SELECT code FROM redeemed
     RETURNING id
 ),
 placed AS (
     INSERT INTO orders
         (confirmation_code, request_id, request_fingerprint, customer_phone,
          credit_card_payment_id, paypal_payment_id, promotional_payment_id, hold_id)
     SELECT translate(:c::text, '0123456789', 'ABCDEFGHJK') || 'ZZ', 'pg-' || :client_id::text || '-' || :r::text, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, NULL,
            (SELECT id FROM card), (SELECT id FROM paypal), (SELECT id FROM promo), :hold_id::bigint
     WHERE num_nonnulls((SELECT id FROM card), (SELECT id FROM paypal), (SELECT id FROM promo)) = 1
     RETURNING id, created_at
 ),
 captured AS (
     UPDATE payment_authorizations
     SET status = 'captured', authorization_code = 'AUTH-' || :r::text, updated_at = now()
     WHERE request_id = 'pg-' || :client_id::text || '-' || :r::text AND EXISTS (SELECT 1 FROM placed)
 ),
 texted AS (
     INSERT INTO outbox (kind, payload)
     SELECT NULL::text, NULL::jsonb FROM placed WHERE NULL::text IS NOT NULL
     RETURNING id
 ),
 announced AS (
     SELECT pg_notify('cinema_outbox', '') FROM texted
 )
 SELECT EXISTS (SELECT 1 FROM confirmed) AS confirmed, (SELECT id FROM placed) AS order_id, (SELECT count(*) FROM announced) AS announced;
