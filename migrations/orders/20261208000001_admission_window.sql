-- When a product's holders may be let in at the door (AdmitOrder): from
-- admission_start (a showtime's doors opening) until admission_end (the movie's end).
-- NULL on a side: no bound there. Products added before these columns existed keep
-- NULL (nothing is invented for them); a provider retrying its AddProduct fills them.
alter table products
    add column admission_start timestamptz,
    add column admission_end timestamptz,
    add constraint products_admission_ends_after_it_starts
        check (admission_end > admission_start);
