use sqlx::PgPool;

use crate::Error;
use crate::domain::{Movie, MovieId, NewMovie, Rating};

/// A movie as the store reads it: a row, or an element of a search's JSON.
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub(super) struct MovieRow {
    id: i64,
    name: String,
    length_minutes: i32,
    rating: String,
}

impl MovieRow {
    pub(super) fn into_movie(self) -> Result<Movie, Error> {
        let Self {
            id,
            name,
            length_minutes,
            rating,
        } = self;
        Ok(Movie {
            id: MovieId::from_db(id),
            name,
            length_minutes: length_minutes as u16,
            rating: Rating::from_db(&rating)
                .ok_or_else(|| Error::unexpected(format!("movie {id} has rating {rating:?}")))?,
        })
    }
}

pub async fn insert_movie(pool: &PgPool, new: &NewMovie) -> Result<Movie, Error> {
    sqlx::query_as!(
        MovieRow,
        "INSERT INTO movies (name, length_minutes, rating) VALUES ($1, $2, $3)
         RETURNING id, name, length_minutes, rating",
        new.name,
        i32::from(new.length_minutes),
        new.rating.as_str(),
    )
    .fetch_one(pool)
    .await?
    .into_movie()
}

pub async fn get_movie(pool: &PgPool, id: MovieId) -> Result<Option<Movie>, Error> {
    sqlx::query_as!(
        MovieRow,
        "SELECT id, name, length_minutes, rating FROM movies WHERE id = $1",
        id.get(),
    )
    .fetch_optional(pool)
    .await?
    .map(MovieRow::into_movie)
    .transpose()
}

/// The given movies, by name then id.
pub async fn movies_by_ids(pool: &PgPool, ids: &[MovieId]) -> Result<Vec<Movie>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    sqlx::query_as!(
        MovieRow,
        "SELECT id, name, length_minutes, rating FROM movies WHERE id = ANY($1)
         ORDER BY name, id",
        &ids,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(MovieRow::into_movie)
    .collect()
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
    let movies = sqlx::query!("SELECT id, name FROM movies")
        .fetch_all(pool)
        .await?;
    let theatres = sqlx::query!("SELECT id, name FROM theatres")
        .fetch_all(pool)
        .await?;
    Ok((
        movies
            .into_iter()
            .map(|m| (MovieId::from_db(m.id), m.name))
            .collect(),
        theatres
            .into_iter()
            .map(|t| (crate::domain::TheatreId::from_db(t.id), t.name))
            .collect(),
    ))
}
