//! The services' one error type, and the one table that maps it to gRPC statuses.
//!
//! Handlers return [`Error`]; only [`Error::Unexpected`] becomes INTERNAL, and its
//! details are logged, never sent: clients get a message they can act on for every
//! error that is theirs to fix.

pub use cinema_proto::error::{Details, ErrorKind, Reason, Resource};
use tonic::{Code, Status};

/// A request field that failed validation; becomes INVALID_ARGUMENT with this message,
/// and a `BadRequest` violation naming the field when it is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    field: Option<String>,
    message: String,
}

impl ValidationError {
    /// A violation whose field the caller names later (see [`ValidationError::at`]).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }

    /// A violation of the request field `field` (its path, as in `items[0].quantity`).
    pub fn of(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Names the field, unless a more precise one is already named: domain types do
    /// not know where in a request they were, the gRPC layer does.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field.get_or_insert_with(|| field.into());
        self
    }

    /// Places the field inside `prefix`, the part of the request a nested type was
    /// parsed from: `zip_code` within `billing_address` is `billing_address.zip_code`.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field {
            Some(field) => format!("{prefix}.{field}"),
            None => prefix.to_owned(),
        });
        self
    }

    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Names the request field of a failed parse: `ZipCode::parse(raw).at("zip_code")?`.
pub trait AtField<T> {
    /// See [`ValidationError::at`].
    fn at(self, field: impl Into<String>) -> Result<T, ValidationError>;
    /// See [`ValidationError::within`].
    fn within(self, prefix: &str) -> Result<T, ValidationError>;
}

impl<T> AtField<T> for Result<T, ValidationError> {
    fn at(self, field: impl Into<String>) -> Result<T, ValidationError> {
        self.map_err(|e| e.at(field))
    }
    fn within(self, prefix: &str) -> Result<T, ValidationError> {
        self.map_err(|e| e.within(prefix))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: INVALID_ARGUMENT.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Something the request names does not exist: NOT_FOUND.
    #[error("{message}")]
    NotFound { resource: Resource, message: String },
    /// The request is well-formed but the system's state refuses it (payment declined,
    /// promotion used up): FAILED_PRECONDITION.
    #[error("{message}")]
    Refused { reason: Reason, message: String },
    /// Not enough stock of `product`: RESOURCE_EXHAUSTED with reason `OUT_OF_STOCK`.
    #[error("{message}")]
    OutOfStock { product: String, message: String },
    /// An idempotency key or reference reused for something else: ALREADY_EXISTS.
    #[error("{message}")]
    Conflict { reason: Reason, message: String },
    /// Missing or wrong credential: UNAUTHENTICATED.
    #[error("{0}")]
    Unauthenticated(String),
    /// A dependency (the database) is down; retrying later can help: UNAVAILABLE.
    #[error("{0}")]
    Unavailable(String),
    /// The database refused the transaction because of a concurrent one (serialization
    /// failure, deadlock): retried in-process by [`retry_conflicts`], then UNAVAILABLE.
    #[error("{0}")]
    Contention(String),
    /// A bug or an unexpected failure: INTERNAL, details in the logs only.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl Error {
    /// NOT_FOUND naming the resource: `resource_type` as listed on
    /// [`Resource`], `name` its id as the API spells it.
    pub fn not_found(
        resource_type: &str,
        name: impl std::fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        Self::NotFound {
            resource: Resource::new(resource_type, name.to_string()),
            message: message.into(),
        }
    }
    pub fn refused(reason: Reason, message: impl Into<String>) -> Self {
        Self::Refused {
            reason,
            message: message.into(),
        }
    }
    pub fn out_of_stock(product: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Self::OutOfStock {
            product: product.to_string(),
            message: message.into(),
        }
    }
    /// A request id reused for a different request.
    pub fn request_id_reused(request_id: &str) -> Self {
        Self::Conflict {
            reason: Reason::RequestIdReused,
            message: format!(
                "request_id {} was already used for a different request; use a new request_id",
                crate::text::quote(request_id)
            ),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(message))
    }
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::Unexpected(anyhow::anyhow!(message.into()))
    }

    /// Whether the same call may succeed if made again later.
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidArgument,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Refused { .. } => ErrorKind::Refused,
            Self::OutOfStock { .. } => ErrorKind::OutOfStock,
            Self::Conflict { .. } => ErrorKind::Conflict,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::Unavailable(_) | Self::Contention(_) => ErrorKind::Unavailable,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    pub fn code(&self) -> Code {
        self.kind().code()
    }

    /// The machine-readable part of the status this error becomes.
    fn details(&self) -> Details {
        match self {
            Self::Invalid(e) => Details::reason(Reason::InvalidArgument)
                .with_violation(e.field().unwrap_or_default(), e.message()),
            Self::NotFound { resource, .. } => {
                Details::reason(Reason::NotFound).with_resource(resource.clone())
            }
            Self::Refused { reason, .. } | Self::Conflict { reason, .. } => {
                Details::reason(*reason)
            }
            Self::OutOfStock { product, .. } => Details::reason(Reason::OutOfStock)
                .with_resource(Resource::new("product", product.clone())),
            Self::Unauthenticated(_) => Details::reason(Reason::Unauthenticated),
            Self::Unavailable(_) | Self::Contention(_) => Details::reason(Reason::Unavailable),
            Self::Unexpected(_) => Details::default(),
        }
    }
}

impl From<crate::AuthError> for Error {
    fn from(e: crate::AuthError) -> Self {
        Self::Unauthenticated(e.to_string())
    }
}

/// What a failed database call means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The database cannot be reached or is going away (connection refused or lost,
    /// SQLSTATE classes 08 and 57: admin or crash shutdown, "cannot connect now"; too
    /// many connections; no connection free in the pool). Retrying later can help.
    Unreachable,
    /// The transaction lost a race (serialization failure 40001, deadlock 40P01).
    /// Running it again at once usually succeeds.
    Conflict,
    /// Anything else: a bug, a constraint the code did not expect.
    Other,
}

impl DbFailure {
    pub fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unreachable,
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("40001" | "40P01") => Self::Conflict,
                Some(code) if code.starts_with("08") || code.starts_with("57") => Self::Unreachable,
                // too_many_connections: the server is full for now.
                Some("53300") => Self::Unreachable,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match DbFailure::of(&e) {
            DbFailure::Unreachable => {
                tracing::warn!(error = %e, "database unavailable");
                // Health turns NOT_SERVING now, not on its next poll.
                crate::health::database_unreachable();
                Self::Unavailable("the database is unavailable; retry the call".into())
            }
            DbFailure::Conflict => Self::Contention(
                "the database could not serialize this call with a concurrent one; retry the call"
                    .into(),
            ),
            DbFailure::Other => Self::Unexpected(anyhow::Error::new(e).context("database error")),
        }
    }
}

/// The attempts [`retry_conflicts`] makes in all.
pub const CONFLICT_ATTEMPTS: usize = 3;

/// Runs `op` again (up to [`CONFLICT_ATTEMPTS`] in all, with a few milliseconds of
/// jittered backoff) while it fails with [`Error::Contention`]: a serialization
/// failure or a deadlock is a lost race that a second run usually wins. Only for
/// operations that are safe to run twice (idempotent on a request id, or read-only);
/// what still conflicts after the last attempt goes back as UNAVAILABLE.
pub async fn retry_conflicts<T, F, Fut>(op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    use backon::Retryable;
    op.retry(
        backon::ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_millis(5))
            .with_max_delay(std::time::Duration::from_millis(50))
            .with_jitter()
            .with_max_times(CONFLICT_ATTEMPTS - 1),
    )
    .sleep(tokio::time::sleep)
    .when(|e: &Error| matches!(e, Error::Contention(_)))
    .notify(|e, delay| tracing::debug!(error = %e, ?delay, "database conflict; running again"))
    .await
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        match e {
            Error::Unexpected(err) => {
                tracing::error!(error = ?err, "request failed unexpectedly");
                Status::internal("internal error")
            }
            other => {
                // Details repeat what the message says (a field's complaint), so they are
                // bounded the same way: together they travel in the trailers.
                let mut details = other.details();
                for violation in &mut details.violations {
                    violation.description = bounded(std::mem::take(&mut violation.description));
                    violation.field = bounded(std::mem::take(&mut violation.field));
                }
                if let Some(resource) = &mut details.resource {
                    resource.name = bounded(std::mem::take(&mut resource.name));
                }
                details.into_status(other.kind(), bounded(other.to_string()))
            }
        }
    }
}

/// The longest `grpc-message` we send. Messages quote at most 64 characters of input
/// (see [`crate::text::quote`]); this is the backstop, because a client with default
/// limits reads an oversized header as RESOURCE_EXHAUSTED, which here means sold out.
pub const MAX_MESSAGE_BYTES: usize = 512;

fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut cut = MAX_MESSAGE_BYTES - '…'.len_utf8();
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unexpected_errors_hide_their_message() {
        let status = Status::from(Error::invalid("quantity must be positive"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "quantity must be positive");
        let status = Status::from(Error::unexpected("connection string postgres://secret"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }

    #[test]
    fn a_validation_error_names_its_field() {
        let status = Status::from(Error::from(
            ValidationError::new("must be 5 digits")
                .at("payment.credit_card.billing_address.zip_code"),
        ));
        let details = Details::of(&status);
        assert_eq!(details.reason, Some(Reason::InvalidArgument));
        assert_eq!(
            details.violations[0].field,
            "payment.credit_card.billing_address.zip_code"
        );
        // The first field named wins: the domain's is the more precise.
        let inner = ValidationError::of("items[1].quantity", "must be positive").at("items");
        assert_eq!(inner.field(), Some("items[1].quantity"));
    }

    #[test]
    fn messages_are_bounded_whatever_a_handler_formats() {
        let status = Status::from(Error::not_found(
            "movie",
            "1".repeat(10_000),
            "é".repeat(10_000),
        ));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.message().ends_with('…'));
        // The details too: they travel in the same trailers.
        let details = Details::of(&status);
        assert!(details.resource.expect("resource").name.len() <= MAX_MESSAGE_BYTES);
        let status = Status::from(Error::from(ValidationError::of(
            "f".repeat(10_000),
            "x".repeat(10_000),
        )));
        let violation = &Details::of(&status).violations[0];
        assert!(violation.field.len() <= MAX_MESSAGE_BYTES);
        assert!(violation.description.len() <= MAX_MESSAGE_BYTES);
    }
}
