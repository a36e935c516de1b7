-- What a movie is about, for its own page (GetMovie). Null when the catalogue has none:
-- every movie created before stays as it was. Listings do not read it.
alter table movies
    add column synopsis text check (length(synopsis) between 1 and 1000);
