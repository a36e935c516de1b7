use cinema_service::idempotency::Fingerprint;
use sqlx::PgPool;

use crate::Error;
use crate::domain::{Movie, MovieDetails, MovieId, MovieUpdate, NewMovie, Rating, RequestId};

/// A movie as the store reads it: a row, or an element of a search's JSON.
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub(super) struct MovieRow {
    id: i64,
    name: String,
    length_minutes: i32,
    rating: String,
    release_year: Option<i16>,
}

impl MovieRow {
    pub(super) fn into_movie(self) -> Result<Movie, Error> {
        let Self {
            id,
            name,
            length_minutes,
            rating,
            release_year,
        } = self;
        Ok(Movie {
            id: MovieId::from_db(id),
            name,
            length_minutes: length_minutes as u16,
            rating: Rating::from_db(&rating)
                .ok_or_else(|| Error::unexpected(format!("movie {id} has rating {rating:?}")))?,
            // The column's check keeps it a year.
            release_year: release_year.map(|year| year as u16),
        })
    }
}

/// Inserts the movie, under the request's id and fingerprint when it has one. `None`
/// when a movie already holds that request id (a racing duplicate made it first).
pub async fn insert_movie(
    pool: &PgPool,
    new: &NewMovie,
    request: Option<(&RequestId, &Fingerprint)>,
) -> Result<Option<Movie>, Error> {
    sqlx::query_as!(
        MovieRow,
        "INSERT INTO movies (name, length_minutes, rating, synopsis, release_year, request_id,
                             request_fingerprint)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (request_id) DO NOTHING
         RETURNING id, name, length_minutes, rating, release_year",
        new.name,
        i32::from(new.length_minutes),
        new.rating.as_str(),
        new.synopsis.as_deref(),
        new.release_year.map(|year| year as i16),
        request.map(|(id, _)| id.as_str()),
        request.map(|(_, f)| f.as_bytes().as_slice()),
    )
    .fetch_optional(pool)
    .await?
    .map(MovieRow::into_movie)
    .transpose()
}

/// The movie a request id created, with what that request asked for.
pub async fn find_movie_by_request_id(
    pool: &PgPool,
    request_id: &RequestId,
) -> Result<Option<(Movie, Fingerprint)>, Error> {
    let Some(row) = sqlx::query!(
        r#"SELECT id, name, length_minutes, rating, release_year,
                  request_fingerprint AS "fingerprint!"
           FROM movies WHERE request_id = $1"#,
        request_id.as_str(),
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let fingerprint = Fingerprint::from_db(&row.fingerprint)
        .ok_or_else(|| Error::unexpected(format!("movie {} has a bad fingerprint", row.id)))?;
    let movie = MovieRow {
        id: row.id,
        name: row.name,
        length_minutes: row.length_minutes,
        rating: row.rating,
        release_year: row.release_year,
    }
    .into_movie()?;
    Ok(Some((movie, fingerprint)))
}

/// A movie with its synopsis, as the store reads it.
struct MovieDetailsRow {
    id: i64,
    name: String,
    length_minutes: i32,
    rating: String,
    release_year: Option<i16>,
    synopsis: Option<String>,
}

impl MovieDetailsRow {
    fn into_details(self) -> Result<MovieDetails, Error> {
        let movie = MovieRow {
            id: self.id,
            name: self.name,
            length_minutes: self.length_minutes,
            rating: self.rating,
            release_year: self.release_year,
        };
        Ok(MovieDetails {
            movie: movie.into_movie()?,
            synopsis: self.synopsis,
        })
    }
}

/// The movie with its synopsis, for its own page.
pub async fn get_movie(pool: &PgPool, id: MovieId) -> Result<Option<MovieDetails>, Error> {
    sqlx::query_as!(
        MovieDetailsRow,
        "SELECT id, name, length_minutes, rating, release_year, synopsis
         FROM movies WHERE id = $1",
        id.get(),
    )
    .fetch_optional(pool)
    .await?
    .map(MovieDetailsRow::into_details)
    .transpose()
}

/// Applies the update, and returns the movie as it is then; `None` for an unknown one.
pub async fn update_movie(
    pool: &PgPool,
    id: MovieId,
    update: &MovieUpdate,
) -> Result<Option<MovieDetails>, Error> {
    if !update.changes() {
        return get_movie(pool, id).await;
    }
    // Each column is set when its flag says so (to NULL too), and left otherwise.
    let (set_synopsis, synopsis) = match &update.synopsis {
        Some(synopsis) => (true, synopsis.as_deref()),
        None => (false, None),
    };
    let (set_year, year) = match update.release_year {
        Some(year) => (true, year.map(|y| y as i16)),
        None => (false, None),
    };
    sqlx::query_as!(
        MovieDetailsRow,
        "UPDATE movies
         SET synopsis = CASE WHEN $2 THEN $3 ELSE synopsis END,
             release_year = CASE WHEN $4 THEN $5 ELSE release_year END
         WHERE id = $1
         RETURNING id, name, length_minutes, rating, release_year, synopsis",
        id.get(),
        set_synopsis,
        synopsis,
        set_year,
        year,
    )
    .fetch_optional(pool)
    .await?
    .map(MovieDetailsRow::into_details)
    .transpose()
}

/// The given movies, by name then id.
pub async fn movies_by_ids(pool: &PgPool, ids: &[MovieId]) -> Result<Vec<Movie>, Error> {
    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    sqlx::query_as!(
        MovieRow,
        "SELECT id, name, length_minutes, rating, release_year FROM movies WHERE id = ANY($1)
         ORDER BY name, id",
        &ids,
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(MovieRow::into_movie)
    .collect()
}
