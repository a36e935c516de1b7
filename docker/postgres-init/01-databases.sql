-- One Postgres, two databases: each service owns its own and never reads the other's.
CREATE DATABASE cinema_orders;
CREATE DATABASE cinema_movies;
