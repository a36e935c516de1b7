//! The services' one error type, and the one table that maps it to gRPC statuses.
//!
//! Handlers return [`Error`]; only [`Error::Unexpected`] becomes INTERNAL, and its
//! details are logged, never sent: clients get a message they can act on for every
//! error that is theirs to fix.

use tonic::{Code, Status};

/// A request field that failed validation; becomes INVALID_ARGUMENT with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

impl ValidationError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed: INVALID_ARGUMENT.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Something the request names does not exist: NOT_FOUND.
    #[error("{0}")]
    NotFound(String),
    /// The request is well-formed but the system's state refuses it (payment declined,
    /// promotion used up): FAILED_PRECONDITION.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Not enough stock: RESOURCE_EXHAUSTED.
    #[error("{0}")]
    OutOfStock(String),
    /// An idempotency key reused with a different body: ALREADY_EXISTS.
    #[error("{0}")]
    Conflict(String),
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
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }
    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::FailedPrecondition(message.into())
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(message))
    }
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::Unexpected(anyhow::anyhow!(message.into()))
    }

    /// Whether the same call may succeed if made again later.
    pub fn is_retryable(&self) -> bool {
        self.code() == Code::Unavailable
    }

    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) => Code::InvalidArgument,
            Self::NotFound(_) => Code::NotFound,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::OutOfStock(_) => Code::ResourceExhausted,
            Self::Conflict(_) => Code::AlreadyExists,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::Unavailable(_) | Self::Contention(_) => Code::Unavailable,
            Self::Unexpected(_) => Code::Internal,
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
        let code = e.code();
        match e {
            Error::Unexpected(err) => {
                tracing::error!(error = ?err, "request failed unexpectedly");
                Status::internal("internal error")
            }
            other => Status::new(code, bounded(other.to_string())),
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
    fn messages_are_bounded_whatever_a_handler_formats() {
        let status = Status::from(Error::not_found("é".repeat(10_000)));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.message().ends_with('…'));
    }
}
