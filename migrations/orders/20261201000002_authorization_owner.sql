-- Which process's attempt holds a pending authorization. A retry that reaches the same
-- process can then tell a live attempt (still authorizing there) from one that died
-- with its call (the database went away mid-checkout) and take over at once, rather
-- than wait for the claim to lapse. NULL for claims made before this column existed.
alter table payment_authorizations add column claimed_by uuid;
