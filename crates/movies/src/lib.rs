//! The Cinema movies service: movies, theatres, auditoriums, showtimes and ZIP codes.
//!
//! Front-ends call one generic read, `GetShowtimes(zip, theatre_ids, movie_ids)`, that
//! returns a normalized result (movies and theatres once each, light showtimes that
//! refer to them by id); the client crate regroups it. Every showtime is registered as
//! a product with the orders service when it is created.
//!
//! # Layout
//!
//! - [`grpc`]: `MoviesService` (public reads) and `MoviesAdminService` (writes, behind an
//!   admin-token interceptor). Translates proto <-> domain. Thin.
//! - [`domain`]: types that cannot hold invalid values (`parse()` is the only way in).
//! - [`scheduling`]: CreateShowtime, the flow that spans our database and orders.
//! - [`orders_gateway`]: our client of the orders service.
//! - [`store`]: the only module that writes SQL, every query a `sqlx::query!` macro
//!   checked against the migrations (offline data in `.sqlx/`). GetShowtimes is one
//!   statement, `store/search_showtimes.sql`; "near a ZIP code" is the SQL function
//!   `theatres_within` (migrations/movies).
//! - [`startup`] and [`config`]: `Application::build` / `run_until_stopped` on the
//!   kit's `Foundation`, used by `main` (one call of `cinema_service::service::main`),
//!   the tests and the local launcher alike; settings flatten the kit's shared ones.

pub mod config;
pub mod domain;
pub mod grpc;
pub mod orders_gateway;
pub mod scheduling;
pub mod startup;
pub mod store;

pub use cinema_service::error::Error;
pub use startup::Application;
