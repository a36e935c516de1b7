//! The only module that writes SQL. Functions take domain types and return domain
//! types; every value is bound, never spliced into the query text.

mod movies;
mod showtimes;
mod theatres;

pub use movies::*;
pub use showtimes::*;
pub use theatres::*;

/// The embedded migrations of the movies database.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/movies");

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// Refreshes the planner's statistics of the whole database, after a bulk load: with
/// stale ones it scans every current showtime for each ZIP search instead of using
/// the indexes. (ANALYZE cannot be prepared: the one statement sent as plain text.)
pub async fn analyze(pool: &sqlx::PgPool) -> Result<(), crate::Error> {
    sqlx::raw_sql("ANALYZE").execute(pool).await?;
    Ok(())
}
