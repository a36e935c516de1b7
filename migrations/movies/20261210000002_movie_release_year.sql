-- The year of a movie's first release: what tells "Nosferatu" (1922) from its remakes.
-- Null when not known (every movie created before).
alter table movies
    add column release_year smallint check (release_year between 1888 and 2100);
