use cinema_proto::error::Details;
pub use cinema_proto::error::{ErrorKind, FieldViolation, Reason, Resource};
use tonic::{Code, Status};

/// What a service said about a failure: its message (for people) and the
/// machine-readable details of the error contract (for code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// The `ErrorInfo` reason, when the server sent one this client knows.
    pub reason: Option<Reason>,
    /// The resource not found, or the product sold out.
    pub resource: Option<Resource>,
    /// The invalid fields of the request.
    pub violations: Vec<FieldViolation>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            reason: None,
            resource: None,
            violations: Vec::new(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// How an [`ClientError::Unavailable`] that never reached the server begins.
const CONNECTION_FAILED: &str = "the connection failed";

/// What went wrong with a call, in the terms a front-end acts on. Which variant a
/// status becomes is decided by [`ErrorKind::of`], the contract's one table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The movie, theatre, showtime, product or order does not exist; the failure's
    /// `resource` says which.
    #[error("not found: {0}")]
    NotFound(Failure),
    /// The request was malformed; `violations` name the fields.
    #[error("invalid input: {0}")]
    InvalidInput(Failure),
    /// Not enough seats (or units) left of the product the `resource` names.
    #[error("sold out: {0}")]
    SoldOut(Failure),
    /// Refused in the current state; the `reason` says why (`PAYMENT_DECLINED`,
    /// `HOLD_EXPIRED`, `PROMOTION_UNUSABLE`, `AUDITORIUM_BUSY`, ...).
    #[error("refused: {0}")]
    Refused(Failure),
    /// A request id was reused for a different request, or a reference is taken.
    #[error("conflict: {0}")]
    Conflict(Failure),
    /// The service could not be reached, or is overloaded; retrying later can help.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A missing or wrong credential.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The server answered with something the client cannot make sense of (for
    /// example a showtime referring to a movie missing from the same result).
    #[error("inconsistent answer: {0}")]
    Inconsistent(String),
    /// Any other failure (a server bug: INTERNAL; a call the server does not know).
    #[error("{code:?}: {message}")]
    Other { code: Code, message: String },
}

impl ClientError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Whether the service could not be reached at all (nothing listening, no route):
    /// unlike an overloaded one, most often a service that is not running, or an
    /// address that is wrong, which retrying does not mend.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unavailable(m) if m.starts_with(CONNECTION_FAILED))
    }

    /// A request the client refuses before sending it.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(Failure::new(message))
    }

    fn failure(&self) -> Option<&Failure> {
        match self {
            Self::NotFound(f)
            | Self::InvalidInput(f)
            | Self::SoldOut(f)
            | Self::Refused(f)
            | Self::Conflict(f) => Some(f),
            _ => None,
        }
    }

    /// The server's `ErrorInfo` reason, if it sent one.
    pub fn reason(&self) -> Option<Reason> {
        self.failure().and_then(|f| f.reason)
    }

    /// The resource a NOT_FOUND or sold-out error is about.
    pub fn resource(&self) -> Option<&Resource> {
        self.failure().and_then(|f| f.resource.as_ref())
    }

    /// The invalid fields of a refused request.
    pub fn violations(&self) -> &[FieldViolation] {
        self.failure().map_or(&[], |f| f.violations.as_slice())
    }
}

impl From<Status> for ClientError {
    fn from(status: Status) -> Self {
        let kind = ErrorKind::of(&status);
        let message = status.message().to_owned();
        let failure = || {
            let Details {
                reason,
                resource,
                violations,
            } = Details::of(&status);
            Failure {
                message: message.clone(),
                reason,
                resource,
                violations,
            }
        };
        match kind {
            ErrorKind::NotFound => Self::NotFound(failure()),
            ErrorKind::InvalidArgument => Self::InvalidInput(failure()),
            ErrorKind::OutOfStock => Self::SoldOut(failure()),
            ErrorKind::Refused => Self::Refused(failure()),
            ErrorKind::Conflict => Self::Conflict(failure()),
            ErrorKind::Unauthenticated => Self::Unauthenticated(message),
            ErrorKind::Unavailable if std::error::Error::source(&status).is_some() => {
                Self::Unavailable(format!("{CONNECTION_FAILED} ({message}); retry"))
            }
            ErrorKind::Unavailable => Self::Unavailable(message),
            ErrorKind::Unsupported | ErrorKind::Internal => Self::Other {
                code: status.code(),
                message,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sold_out_answer_names_its_product() {
        let status = Details::reason(Reason::OutOfStock)
            .with_resource(Resource::new("product", "7"))
            .into_status(ErrorKind::OutOfStock, "product 7 has 0 left; 2 requested");
        let error = ClientError::from(status);
        assert!(matches!(error, ClientError::SoldOut(_)), "{error:?}");
        assert_eq!(error.reason(), Some(Reason::OutOfStock));
        assert_eq!(error.resource(), Some(&Resource::new("product", "7")));
    }

    #[test]
    fn resource_exhausted_without_its_reason_is_worth_a_retry_not_sold_out() {
        let error = ClientError::from(Status::resource_exhausted("message too large"));
        assert!(error.is_retryable(), "{error:?}");
    }

    #[test]
    fn an_overloaded_service_was_reached_one_not_listening_was_not() {
        let overloaded = ClientError::from(Status::unavailable("too many requests"));
        assert!(overloaded.is_retryable() && !overloaded.is_unreachable());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let unreachable = ClientError::from(Status::from_error(Box::new(refused)));
        assert!(unreachable.is_unreachable(), "{unreachable:?}");
    }
}
