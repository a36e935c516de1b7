-- The lines of a hold, as the hold statement (store::insert_hold) reads them from its
-- three parallel arrays. Written inline as unnest($1, $2, $3), the lines were
-- estimated at their real count when Postgres planned for the call's own arrays, and
-- at 100 rows in the plan it could keep for every call; so the kept plan always looked
-- dearer and it planned the statement afresh on every hold (0.3 ms, about a tenth of
-- the database's work per order). STRICT keeps the planner from inlining the function,
-- so ROWS is the estimate in both plans, the two cost the same, and the plan is kept.
-- (A basket holds a handful of lines; 4 is the planner's guess, not a limit.)
create function hold_lines(products bigint[], quantities bigint[], positions int[])
returns table (id bigint, quantity bigint, "position" int)
language sql immutable strict parallel safe
rows 4
as $$
    select * from unnest(products, quantities, positions)
$$;
