//! The gRPC layer: translates between the wire contract and the domain, and turns
//! errors into statuses. Thin by design: no SQL and no business rules live here.

mod admin;
mod convert;
mod public;

pub use admin::AdminApi;
pub use public::PublicApi;
