//! The integration-test application of the chapter: it drives the services only
//! through `cinema-client`, exactly as a front-end would.

mod bad_input;
mod browser;
mod chapter;
mod fixtures;
mod journey;
mod python_client;
mod web;
