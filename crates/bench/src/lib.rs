//! `cinema-bench`: drives a running Cinema stack the way its users do and prints
//! throughput and latency percentiles (HDR histograms) for each scenario, next to
//! what the same Postgres does under pgbench in turns with it: TPC-B, or for the
//! search GetShowtimes' own statement.
//!
//! ```sh
//! MOVIES_ADMIN_TOKEN=bench ORDERS_ADMIN_TOKEN=bench ORDERS_PAYMENT_LATENCY_MS=300 \
//!   cargo run --release -p cinema-dev -- up --demo &
//! MOVIES_ADMIN_TOKEN=bench ORDERS_ADMIN_TOKEN=bench \
//!   cargo run --release -p cinema-bench -- --workers 8 --seconds 20
//! ```
//!
//! Scenarios: `place-order` (one ticket, spread over 200 products), `hold-and-pay`
//! (HoldProducts then PlaceOrder for the hold: a browser checkout), `get-showtimes`
//! (ZIP 02139 on the demo data), `movie-page` (the website's page of a movie near that
//! ZIP), and `hot-showtime` (S seats, B buyers buying one ticket at a time until it
//! sells out: the elapsed time, and a check that exactly S were sold).
//! `national-search` searches ZIP codes all over a national-scale catalogue (6,000
//! theatres, ~500,000 showtimes), which it writes into the movies database first if
//! it is not there yet (so give it a stack of its own); `national-home` asks what the
//! home page asks of it (the movies playing near each ZIP code, or anywhere).
//!
//! The modules: [`cli`] reads the command line and runs the scenarios asked for,
//! [`scenarios`] makes the calls, [`measure`] times them, [`cpu`] reads what each
//! side spent, [`pgbench`] measures the database's own ceiling, and [`server`] warns
//! about a server that would skew the figures.

pub mod cli;
pub mod cpu;
pub mod measure;
pub mod pgbench;
pub mod scenarios;
pub mod server;

pub use cli::{Args, Scenario, run};
