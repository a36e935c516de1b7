use tonic::{Code, Status};

/// What went wrong with a call, in the terms a front-end acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The movie, theatre, showtime, product or order does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request was malformed; the message is the server's, meant for developers.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Not enough seats (or units) left.
    #[error("sold out: {0}")]
    SoldOut(String),
    /// Refused in the current state: payment declined, promotion used up, auditorium
    /// busy.
    #[error("refused: {0}")]
    Refused(String),
    /// A request id was reused for a different request, or a reference is taken.
    #[error("conflict: {0}")]
    Conflict(String),
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
    /// Any other failure (a server bug: INTERNAL).
    #[error("{code:?}: {message}")]
    Other { code: Code, message: String },
}

impl ClientError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Whether the call failed below gRPC (the connection refused, reset or closed
/// mid-call, as when a replica dies): tonic reports that as UNKNOWN "transport error",
/// or CANCELLED / INTERNAL "h2 protocol error", made here from the error underneath.
/// A status the server sent has no such source, so this never hides a server's answer.
fn is_transport_failure(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unknown | Code::Cancelled | Code::Internal
    ) && std::error::Error::source(status).is_some()
}

impl From<Status> for ClientError {
    fn from(status: Status) -> Self {
        let message = status.message().to_owned();
        if is_transport_failure(&status) {
            return Self::Unavailable(format!("the connection failed ({message}); retry"));
        }
        match status.code() {
            Code::NotFound => Self::NotFound(message),
            Code::InvalidArgument | Code::OutOfRange => Self::InvalidInput(message),
            Code::ResourceExhausted => Self::SoldOut(message),
            Code::FailedPrecondition => Self::Refused(message),
            Code::AlreadyExists | Code::Aborted => Self::Conflict(message),
            Code::Unavailable | Code::DeadlineExceeded => Self::Unavailable(message),
            Code::Unauthenticated | Code::PermissionDenied => Self::Unauthenticated(message),
            code => Self::Other { code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(ClientError::from(broken).is_retryable(), "{code:?}");
            let answered = Status::new(code, "the server said so");
            assert!(!ClientError::from(answered).is_retryable(), "{code:?}");
        }
    }
}
