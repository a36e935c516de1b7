-- The holds 20261203000001 made for orders from before holds existed now carry the key
-- a retry of that order looks for ('order:' and its request id, as every PlaceOrder's
-- own hold does). A retry then meets its order's hold like any other retry, and is
-- answered with the order (the hold carries the order's fingerprint, not a hold's, so
-- the hold step refuses it and the order is found by request id), and the hold
-- statement no longer has to look for an earlier order on every checkout.
update holds h
set request_id = 'order:' || o.request_id
from orders o
where o.hold_id = h.id and h.request_id = 'placed-before-holds:' || o.id;
