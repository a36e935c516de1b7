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
//! - [`checkout`]: holds and PlaceOrder: hold (a short transaction), authorize the
//!   payment with no transaction open, confirm (another short one) or release.
//! - [`store`]: the only module that writes SQL; every query is a `sqlx::query!`
//!   macro checked against the migrations (offline data in `.sqlx/`). `store::outbox`
//!   holds the typed outbox: one `Message` enum, stored as a kind and a JSON payload.
//! - [`payments`]: the payment processor trait and the simulated processor.
//! - [`dispatcher`]: delivers the outbox (callbacks to providers, texts to customers)
//!   with retries, each kind its own way; `deliver_due()` drains it on demand.
//! - [`texts`]: what customers are texted about their orders.
//! - errors: `cinema_service::error`, one type; its codes and `google.rpc` details come
//!   from the contract's table, `cinema_proto::error`.
//! - [`startup`] and [`config`]: `Application::build` / `run_until_stopped` on the
//!   kit's `Foundation`, used by `main` (one call of `cinema_service::service::main`),
//!   the tests and the local launcher alike; settings flatten the kit's shared ones.

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
pub use cinema_service::error::Error;
pub mod error {
    pub use cinema_service::error::{Error, Reason};
}
