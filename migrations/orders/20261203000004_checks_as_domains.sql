-- The single-column checks of the tables a checkout writes, as domains.
--
-- Why: Postgres reads a table's CHECK constraints from their stored text, and plans
-- them, every time a statement writes the table (ExecConstraints: 18 % of its
-- samples in a profile of the benchmark's place-order), and an UPDATE checks every
-- one of them whichever columns it sets: moving a seat from held to sold re-checked
-- the product's description. A domain's check is read and planned once per
-- connection, and runs only where a value is written to a column of its type. pgbench
-- on PlaceOrder's statements: 9-11 % less Postgres CPU per order (interleaved runs).
-- The checks that tie two columns together stay on their tables.
--
-- The domains also name what several columns share: a request id is the same 1-64
-- characters wherever it is stored.
--
-- Each ALTER COLUMN ... TYPE rewrites its table (a domain with a check is not taken on
-- trust) under an exclusive lock; on a large orders table, run it in a quiet hour.

create domain request_id as text check (length(value) between 1 and 64);
-- A hold's key: a request id, or 'order:' and the id of the order that made it.
create domain hold_key as text check (length(value) between 1 and 80);
create domain request_fingerprint as bytea check (length(value) = 32);
create domain cents as bigint check (value >= 0);
create domain stock_quantity as bigint check (value >= 0);
create domain authorization_code as text check (length(value) between 1 and 64);

create domain product_description as text check (length(value) between 1 and 1000);
create domain external_ref as text check (length(value) between 1 and 200);

create domain hold_status as text
    check (value in ('active', 'confirmed', 'released', 'expired'));
create domain line_position as integer check (value between 1 and 100);
create domain line_quantity as bigint check (value between 1 and 10000);

create domain authorization_status as text
    check (value in ('pending', 'authorized', 'declined', 'captured', 'voided'));

create domain card_brand as text check (value in ('AmericanExpress', 'Visa', 'MasterCard'));
create domain card_last_four as text check (value ~ '^[0-9]{4}$');
create domain card_expiration_month as smallint check (value between 1 and 12);
create domain card_expiration_year as smallint check (value between 2000 and 2200);
create domain billing_line as text check (length(value) between 1 and 256);
create domain billing_city as text check (length(value) between 1 and 128);
create domain us_state as text check (value ~ '^[A-Z]{2}$');

create domain confirmation_code as text check (value ~ '^[A-HJ-NP-Z2-9]{8,16}$');
create domain order_status as text check (value in ('placed', 'cancelled'));
create domain phone_number as text check (value ~ '^\+[1-9][0-9]{6,14}$');

alter table products
    drop constraint products_description_check,
    drop constraint products_external_ref_check,
    drop constraint products_price_cents_check,
    drop constraint products_quantity_held_check,
    drop constraint products_quantity_total_check,
    alter column description type product_description,
    alter column external_ref type external_ref,
    alter column price_cents type cents,
    alter column quantity_held type stock_quantity,
    alter column quantity_total type stock_quantity;

alter table holds
    drop constraint holds_request_id_check,
    drop constraint holds_request_fingerprint_check,
    drop constraint holds_status_check,
    alter column request_id type hold_key,
    alter column request_fingerprint type request_fingerprint,
    alter column status type hold_status;

alter table hold_items
    drop constraint hold_items_position_check,
    drop constraint hold_items_quantity_check,
    drop constraint hold_items_unit_price_cents_check,
    alter column "position" type line_position,
    alter column quantity type line_quantity,
    alter column unit_price_cents type cents;

alter table payment_authorizations
    drop constraint payment_authorizations_request_id_check,
    drop constraint payment_authorizations_amount_cents_check,
    drop constraint payment_authorizations_status_check,
    drop constraint payment_authorizations_authorization_code_check,
    alter column request_id type request_id,
    alter column amount_cents type cents,
    alter column status type authorization_status,
    alter column authorization_code type authorization_code;

alter table credit_card_payments
    drop constraint credit_card_payments_brand_check,
    drop constraint credit_card_payments_last_four_check,
    drop constraint credit_card_payments_expiration_month_check,
    drop constraint credit_card_payments_expiration_year_check,
    drop constraint credit_card_payments_billing_line_1_check,
    drop constraint credit_card_payments_billing_line_2_check,
    drop constraint credit_card_payments_billing_city_check,
    drop constraint credit_card_payments_billing_state_check,
    drop constraint credit_card_payments_authorization_code_check,
    alter column brand type card_brand,
    alter column last_four type card_last_four,
    alter column expiration_month type card_expiration_month,
    alter column expiration_year type card_expiration_year,
    alter column billing_line_1 type billing_line,
    alter column billing_line_2 type billing_line,
    alter column billing_city type billing_city,
    alter column billing_state type us_state,
    alter column authorization_code type authorization_code;

alter table orders
    drop constraint orders_request_id_check,
    drop constraint orders_request_fingerprint_check,
    drop constraint orders_confirmation_code_check,
    drop constraint orders_status_check,
    drop constraint orders_customer_phone_check,
    drop constraint orders_cancel_request_id_check,
    alter column request_id type request_id,
    alter column request_fingerprint type request_fingerprint,
    alter column confirmation_code type confirmation_code,
    alter column status type order_status,
    alter column customer_phone type phone_number,
    alter column cancel_request_id type request_id;
