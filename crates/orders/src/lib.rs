//! The Cinema orders service: a generic product and order store over gRPC.
//!
//! It knows products, not movies. Providers (the movies service is one) register
//! products with a quantity and a price; front-ends place orders against them.
//!
//! # Layout
//!
//! - [`grpc`]: tonic service implementations. Translates proto <-> domain, checks
//!   credentials, maps errors to statuses. Thin.
//! - [`domain`]: types that cannot hold invalid values (`parse()` is the only way in).
//! - [`checkout`]: the PlaceOrder flow, one transaction across store and payments.
//! - [`store`]: sqlx queries; the only module that writes SQL.
//! - [`payments`]: the payment processor trait and the simulated processor.
//! - [`dispatcher`]: delivers the outbox (callbacks to providers, texts to customers)
//!   with retries.
//! - [`texts`]: what customers are texted about their orders.
//! - errors: `cinema_runtime::error`, one type and its mapping to `tonic::Code`.
//! - [`startup`] and [`config`]: `Application::build` / `run_until_stopped`, used by
//!   `main`, the tests and the local launcher alike.

pub mod checkout;
pub mod config;
pub mod dispatcher;
pub mod domain;
pub mod grpc;
pub mod payments;
pub mod startup;
pub mod store;
pub mod texts;

pub use startup::Application;

/// The service-wide error type (shared by every Cinema service).
pub use cinema_runtime::error::Error;
pub mod error {
    pub use cinema_runtime::error::{Error, Reason};
}
