//! The only module that writes SQL. Functions take domain types and return domain
//! types; every value is bound, never spliced into the query text.
//!
//! Functions that must run inside a caller's transaction take `&mut PgConnection`
//! (pass `&mut *tx`); the rest take the pool.
//!
//! Many columns have SQL domains for types (`request_id`, `cents`, `hold_status`, ...:
//! migration 20261203000004). A parameter written straight into such a column is cast
//! to the domain's base type (`$2::text`): sqlx's macros have no Rust type for a
//! domain, and Postgres applies the domain's check as it stores the value.

mod holds;
mod orders;
pub mod outbox;
mod products;
mod promotions;

pub use holds::*;
pub use orders::*;
pub use products::*;
pub use promotions::*;

use sqlx::PgPool;

/// The embedded migrations of the orders database.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/orders");

/// Postgres' SQLSTATE for a foreign-key violation.
const FOREIGN_KEY_VIOLATION: &str = "23503";

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == FOREIGN_KEY_VIOLATION)
}

/// Whether `e` is a violation of the named constraint.
fn is_constraint_violation(e: &sqlx::Error, constraint: &str) -> bool {
    e.as_database_error()
        .and_then(|d| d.constraint())
        .is_some_and(|name| name == constraint)
}

/// Whether the database answers: used by readiness and start-up.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT FROM (VALUES (1)) AS alive")
        .execute(pool)
        .await
        .map(|_| ())
}
