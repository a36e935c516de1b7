//! The gRPC layer: translates between the wire contract and the domain, and turns
//! errors into statuses. Thin by design: no SQL and no business rules live here.

mod admin;
mod callbacks;
mod convert;
mod public;

pub use admin::AdminApi;
pub use callbacks::CallbacksApi;
pub use public::PublicApi;
