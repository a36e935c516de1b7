-- A cancelled order's payment is given back through the outbox, written with the
-- cancellation, so that a processor that is down delays the refund and never loses it.

alter table outbox drop constraint outbox_kind_check;
alter table outbox add constraint outbox_kind_check
    check (kind in ('product_sold_out', 'product_available', 'sms', 'payment_refund'));
