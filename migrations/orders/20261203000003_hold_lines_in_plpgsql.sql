-- hold_lines again, in PL/pgSQL. As a SQL function that Postgres may not inline
-- (20261202000001 says why it must not), its body was parsed and planned afresh each
-- time a hold statement ran: about 8 % of Postgres's CPU per order (pgbench running
-- PlaceOrder's statements, crates/bench/pgbench/place-order.sql, interleaved runs).
-- PL/pgSQL parses its one query once per connection. The planner still sees ROWS 4,
-- so the hold statement's own plan is still kept.
create or replace function hold_lines(products bigint[], quantities bigint[], positions int[])
returns table (id bigint, quantity bigint, "position" int)
language plpgsql immutable strict parallel safe
rows 4
as $$
begin
    return query select * from unnest(products, quantities, positions);
end
$$;
