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
/// but no server answered, so it is the service being unavailable.
fn is_transport_failure(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::transport::Error>() {
            return true;
        }
        source = error.source();
    }
    false
}

impl From<Status> for ClientError {
    fn from(status: Status) -> Self {
        let message = status.message().to_owned();
        if status.code() == Code::Unknown && is_transport_failure(&status) {
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
