use sqlx::PgPool;

use crate::Error;
use crate::domain::{Movie, MovieId, NewMovie, Rating};

type MovieRow = (i64, String, i32, String);

fn movie(row: MovieRow) -> Result<Movie, Error> {
    let (id, name, length, rating) = row;
    Ok(Movie {
        id: MovieId::from_db(id),
        name,
        length_minutes: length as u16,
        rating: Rating::from_db(&rating)
            .ok_or_else(|| Error::unexpected(format!("movie {id} has rating {rating:?}")))?,
    })
}

pub async fn insert_movie(pool: &PgPool, new: &NewMovie) -> Result<Movie, Error> {
    let row: MovieRow = sqlx::query_as(
        "INSERT INTO movies (name, length_minutes, rating) VALUES ($1, $2, $3)
         RETURNING id, name, length_minutes, rating",
    )
    .bind(&new.name)
    .bind(i32::from(new.length_minutes))
    .bind(new.rating.as_str())
    .fetch_one(pool)
    .await?;
    movie(row)
}

pub async fn get_movie(pool: &PgPool, id: MovieId) -> Result<Option<Movie>, Error> {
    let row: Option<MovieRow> =
        sqlx::query_as("SELECT id, name, length_minutes, rating FROM movies WHERE id = $1")
            .bind(id.get())
            .fetch_optional(pool)
            .await?;
    row.map(movie).transpose()
}

/// The given movies, by name then id.
pub async fn movies_by_ids(pool: &PgPool, ids: &[MovieId]) -> Result<Vec<Movie>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows: Vec<MovieRow> = sqlx::query_as(
        "SELECT id, name, length_minutes, rating FROM movies WHERE id = ANY($1)
         ORDER BY name, id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(movie).collect()
}

/// The ids and names of every movie and theatre (the demo loader creates only what is
/// missing).
pub async fn catalogue_names(
    pool: &PgPool,
) -> Result<
    (
        Vec<(MovieId, String)>,
        Vec<(crate::domain::TheatreId, String)>,
    ),
    Error,
> {
    let movies: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM movies")
        .fetch_all(pool)
        .await?;
    let theatres: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM theatres")
        .fetch_all(pool)
        .await?;
    Ok((
        movies
            .into_iter()
            .map(|(id, name)| (MovieId::from_db(id), name))
            .collect(),
        theatres
            .into_iter()
            .map(|(id, name)| (crate::domain::TheatreId::from_db(id), name))
            .collect(),
    ))
}
