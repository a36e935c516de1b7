//! Tests that drive the movies service over gRPC, against real Postgres and a real
//! orders service spawned in-process, each service on its own fresh database.

mod admin;
mod callbacks;
mod cancel_showtime;
mod create_showtime;
mod distance;
mod get_showtimes;
mod helpers;
mod national;
mod schedule;
mod tracing;
