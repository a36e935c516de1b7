//! Rebuilds the crate when a migration is added. `sqlx::migrate!` embeds
//! `migrations/movies` at compile time, and Cargo reruns a macro only when a file it
//! knows of changes: a new migration is a new file, so without this the service and
//! its tests keep migrating to the schema of the previous build (sqlx's own advice).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/movies");
}
