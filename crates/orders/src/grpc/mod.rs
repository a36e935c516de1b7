//! The gRPC layer: translates between the wire contract (`cinema-proto`) and the
//! domain, checks credentials, and turns [`crate::error::Error`] into statuses. Thin by
//! design: no SQL and no business rules live here.

mod admin;
mod convert;
mod orders;

pub use admin::AdminApi;
pub use orders::OrdersApi;
