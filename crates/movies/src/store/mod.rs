//! The only module that writes SQL. Functions take domain types and return domain
//! types; every value is bound, never spliced into the query text.

mod catalogue;
mod movies;
mod showtimes;
mod theatres;

pub use catalogue::*;
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

/// Refreshes the planner's statistics of the whole database, and the visibility map,
/// after a bulk load: with stale statistics it scans every current showtime for each
/// ZIP search instead of using the indexes, and until the new rows are marked visible
/// to all, a search visits the table for each index entry it reads instead of
/// answering from the index alone. (VACUUM cannot be prepared, or run in a
/// transaction: the one statement sent as plain text.)
pub async fn analyze(pool: &sqlx::PgPool) -> Result<(), crate::Error> {
    sqlx::raw_sql("VACUUM (ANALYZE)").execute(pool).await?;
    Ok(())
}
