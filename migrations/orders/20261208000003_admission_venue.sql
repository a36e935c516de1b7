-- Where a product's holders are let in (a theatre's id): AdmitOrder at another venue
-- refuses them. NULL: any venue, as for products added before this column.
alter table products add column admission_venue text
    constraint products_admission_venue_bounded
        check (length(admission_venue) between 1 and 200);
