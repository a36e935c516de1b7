//! The error contract: what every Cinema service sends when a call fails, and how every
//! client reads it back. It is part of the contract crate because both sides must agree
//! on it exactly, and a client should not link a server's dependencies to read an error.
//!
//! A failed call carries, besides its gRPC code and a message for people, the standard
//! `google.rpc` error details (see `error_details.proto`):
//! - `ErrorInfo` with a [`Reason`] (`OUT_OF_STOCK`, `PAYMENT_DECLINED`, ...) and the
//!   domain [`ERROR_DOMAIN`], on every error the service means to send;
//! - `BadRequest` naming the field(s) on INVALID_ARGUMENT;
//! - `ResourceInfo` naming the resource on NOT_FOUND and the product on OUT_OF_STOCK.
//!
//! [`ErrorKind`] is the one table between those codes and what a caller does about
//! them: the servers, the client, the outbox dispatcher and the movies service's
//! orders gateway all go through it.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error a Cinema service sends.
pub const ERROR_DOMAIN: &str = "cinema.example.com";

/// What a failed call means for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed (INVALID_ARGUMENT); `BadRequest` names the field.
    InvalidArgument,
    /// Something the request names does not exist (NOT_FOUND).
    NotFound,
    /// Well-formed, but the system's state refuses it (FAILED_PRECONDITION): payment
    /// declined, hold expired, promotion used up, auditorium busy.
    Refused,
    /// Not enough stock (RESOURCE_EXHAUSTED with reason `OUT_OF_STOCK`).
    OutOfStock,
    /// An idempotency key reused for a different request (ALREADY_EXISTS).
    Conflict,
    /// Missing or wrong credential (UNAUTHENTICATED, PERMISSION_DENIED).
    Unauthenticated,
    /// The service or one it depends on cannot answer now; the same call made again
    /// later may succeed (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED,
    /// RESOURCE_EXHAUSTED without `OUT_OF_STOCK`, or the connection failing mid-call).
    Unavailable,
    /// The server does not implement the call (UNIMPLEMENTED): an older server, or a
    /// provider that does not serve that service.
    Unsupported,
    /// A bug, or a status no Cinema service sends (INTERNAL, UNKNOWN, DATA_LOSS).
    Internal,
}

impl ErrorKind {
    /// The code a server sends for this kind.
    pub const fn code(self) -> Code {
        match self {
            Self::InvalidArgument => Code::InvalidArgument,
            Self::NotFound => Code::NotFound,
            Self::Refused => Code::FailedPrecondition,
            Self::OutOfStock => Code::ResourceExhausted,
            Self::Conflict => Code::AlreadyExists,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::Unavailable => Code::Unavailable,
            Self::Unsupported => Code::Unimplemented,
            Self::Internal => Code::Internal,
        }
    }

    /// Whether the same call (same request id) may succeed if made again later.
    pub const fn is_retryable(self) -> bool {
        matches!(self, Self::Unavailable)
    }

    /// What a status a caller received means. RESOURCE_EXHAUSTED is "sold out" only
    /// with the `OUT_OF_STOCK` reason: tonic and proxies also send it for an oversized
    /// message or a rate limit, which are worth a retry, not a "sold out" page.
    pub fn of(status: &Status) -> Self {
        if is_transport_failure(status) {
            return Self::Unavailable;
        }
        match status.code() {
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidArgument,
            Code::NotFound => Self::NotFound,
            Code::FailedPrecondition => Self::Refused,
            Code::ResourceExhausted if reason_of(status) == Some(Reason::OutOfStock) => {
                Self::OutOfStock
            }
            Code::AlreadyExists => Self::Conflict,
            Code::Unauthenticated | Code::PermissionDenied => Self::Unauthenticated,
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::Cancelled
            | Code::ResourceExhausted => Self::Unavailable,
            Code::Unimplemented => Self::Unsupported,
            Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => Self::Internal,
        }
    }
}

/// Whether the call failed below gRPC (the connection refused, reset or closed
/// mid-call, as when a replica dies): tonic reports that as UNKNOWN "transport error",
/// or CANCELLED / INTERNAL "h2 protocol error", made from the error underneath. A
/// status the server sent has no such source, so this never hides a server's answer.
fn is_transport_failure(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unknown | Code::Cancelled | Code::Internal
    ) && std::error::Error::source(status).is_some()
}

/// Declares [`Reason`] with its wire names, so the two cannot drift apart.
macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $wire:literal, )*) => {
        /// The machine-readable `ErrorInfo.reason` of a failure. Documented with the
        /// rpcs in the proto files; a client acts on it instead of parsing messages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $( $(#[$doc])* $variant, )*
        }

        impl Reason {
            pub const ALL: &[Reason] = &[$(Reason::$variant,)*];

            /// The wire form, `UPPER_SNAKE_CASE`.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $wire, )* }
            }

            /// `None` for a reason this build does not know (a newer server's).
            pub fn parse(wire: &str) -> Option<Self> {
                match wire { $( $wire => Some(Self::$variant), )* _ => None }
            }
        }
    };
}

reasons! {
    /// A field of the request is invalid; `BadRequest` says which and why.
    InvalidArgument = "INVALID_ARGUMENT",
    /// The resource `ResourceInfo` names does not exist.
    NotFound = "NOT_FOUND",
    /// Not enough units of the product `ResourceInfo` names.
    OutOfStock = "OUT_OF_STOCK",
    /// The payment processor declined the payment; nothing was charged.
    PaymentDeclined = "PAYMENT_DECLINED",
    /// The hold expired (or was released) before it was paid for.
    HoldExpired = "HOLD_EXPIRED",
    /// The hold was already turned into an order.
    HoldConfirmed = "HOLD_CONFIRMED",
    /// The promotion code is no longer active, or has no uses left.
    PromotionUnusable = "PROMOTION_UNUSABLE",
    /// The product is no longer sold, nor its orders cancelled (a showtime that has
    /// started).
    SalesEnded = "SALES_ENDED",
    /// The auditorium is already booked at that time.
    AuditoriumBusy = "AUDITORIUM_BUSY",
    /// An outbox message cannot be redriven in its current state.
    NotRedrivable = "NOT_REDRIVABLE",
    /// The order's holder was already let in: it cannot be admitted again, nor
    /// cancelled.
    AlreadyAdmitted = "ALREADY_ADMITTED",
    /// The order was cancelled: nobody is let in with it.
    OrderCancelled = "ORDER_CANCELLED",
    /// Too early to let the order's holder in: its admission has not started (a
    /// showtime's doors are not open yet).
    AdmissionNotOpen = "ADMISSION_NOT_OPEN",
    /// Too late to let the order's holder in: its admission has ended (the movie is
    /// over).
    AdmissionClosed = "ADMISSION_CLOSED",
    /// The order's tickets are for another venue (another theatre).
    WrongVenue = "WRONG_VENUE",
    /// The request id was already used for a different request.
    RequestIdReused = "REQUEST_ID_REUSED",
    /// The reference is already taken by another resource.
    AlreadyExists = "ALREADY_EXISTS",
    /// A missing or wrong credential.
    Unauthenticated = "UNAUTHENTICATED",
    /// A dependency (the database, the payment processor, another service) cannot
    /// answer now; retry with the same request id.
    Unavailable = "UNAVAILABLE",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resource a NOT_FOUND or OUT_OF_STOCK error is about (`ResourceInfo`):
/// `resource_type` is one of `product`, `order`, `hold`, `promotion_code`, `movie`,
/// `theatre`, `showtime`, `zip_code`, `outbox_message`; `name` is its id as the API
/// spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub resource_type: String,
    pub name: String,
}

impl Resource {
    pub fn new(resource_type: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            resource_type: resource_type.into(),
            name: name.into(),
        }
    }
}

/// One invalid field (`BadRequest.FieldViolation`); `field` is the request field's
/// path, as in `payment.credit_card.number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Everything machine-readable a failure carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub reason: Option<Reason>,
    pub resource: Option<Resource>,
    pub violations: Vec<FieldViolation>,
}

impl Details {
    pub fn reason(reason: Reason) -> Self {
        Self {
            reason: Some(reason),
            ..Self::default()
        }
    }

    pub fn with_resource(mut self, resource: Resource) -> Self {
        self.resource = Some(resource);
        self
    }

    pub fn with_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.violations.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
        self
    }

    /// Reads the details of a received status; what is absent or undecodable stays
    /// empty (a proxy's own status has none).
    pub fn of(status: &Status) -> Self {
        let details = status.get_error_details();
        Self {
            reason: details
                .error_info()
                .filter(|info| info.domain == ERROR_DOMAIN)
                .and_then(|info| Reason::parse(&info.reason)),
            resource: details.resource_info().map(|info| Resource {
                resource_type: info.resource_type.clone(),
                name: info.resource_name.clone(),
            }),
            violations: details
                .bad_request()
                .map(|bad| {
                    bad.field_violations
                        .iter()
                        .map(|v| FieldViolation {
                            field: v.field.clone(),
                            description: v.description.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The status a server sends: `kind`'s code, the message, and these details.
    pub fn into_status(self, kind: ErrorKind, message: impl Into<String>) -> Status {
        let mut details = ErrorDetails::new();
        if let Some(reason) = self.reason {
            details.set_error_info(reason.as_str(), ERROR_DOMAIN, HashMap::new());
        }
        if let Some(resource) = self.resource {
            details.set_resource_info(resource.resource_type, resource.name, "", "");
        }
        for violation in self.violations {
            details.add_bad_request_violation(violation.field, violation.description);
        }
        Status::with_error_details(kind.code(), message, details)
    }
}

fn reason_of(status: &Status) -> Option<Reason> {
    status
        .get_details_error_info()
        .filter(|info| info.domain == ERROR_DOMAIN)
        .and_then(|info| Reason::parse(&info.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_survive_the_wire() {
        let sent = Details::reason(Reason::OutOfStock)
            .with_resource(Resource::new("product", "42"))
            .into_status(ErrorKind::OutOfStock, "product 42 has 0 left");
        // What a client rebuilds from the trailers: code, message, details bytes.
        let received =
            Status::with_details(sent.code(), sent.message(), sent.details().to_vec().into());
        assert_eq!(ErrorKind::of(&received), ErrorKind::OutOfStock);
        let details = Details::of(&received);
        assert_eq!(details.reason, Some(Reason::OutOfStock));
        assert_eq!(details.resource, Some(Resource::new("product", "42")));
    }

    #[test]
    fn resource_exhausted_is_sold_out_only_with_its_reason() {
        let limit = Status::resource_exhausted("message length too large");
        assert_eq!(ErrorKind::of(&limit), ErrorKind::Unavailable);
        assert!(ErrorKind::of(&limit).is_retryable());
    }

    #[test]
    fn every_kind_reads_back_as_itself() {
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::NotFound,
            ErrorKind::Refused,
            ErrorKind::Conflict,
            ErrorKind::Unauthenticated,
            ErrorKind::Unavailable,
            ErrorKind::Unsupported,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::of(&Status::new(kind.code(), "x")), kind);
        }
    }

    #[test]
    fn reasons_parse_their_wire_names() {
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(*reason));
        }
        assert_eq!(Reason::parse("SOMETHING_NEWER"), None);
    }

    #[derive(Debug)]
    struct Broken;
    impl std::fmt::Display for Broken {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection reset")
        }
    }
    impl std::error::Error for Broken {}

    #[test]
    fn a_call_broken_below_grpc_is_unavailable_but_a_servers_answer_is_kept() {
        for code in [Code::Unknown, Code::Cancelled, Code::Internal] {
            let mut broken = Status::new(code, "h2 protocol error: http2 error");
            broken.set_source(std::sync::Arc::new(Broken));
            assert!(ErrorKind::of(&broken).is_retryable(), "{code:?}");
        }
        for code in [Code::Unknown, Code::Internal] {
            let answered = Status::new(code, "the server said so");
            assert!(!ErrorKind::of(&answered).is_retryable(), "{code:?}");
        }
    }
}
