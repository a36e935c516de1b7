use std::time::Duration;

/// Why a text was not sent, and so whose problem it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The caller's fault: not a phone number we can text. Never retried.
    #[error("invalid phone number: {0}")]
    InvalidPhone(String),
    /// The caller's fault: empty, or longer than the gateways accept. Never retried.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The gateway refused the input (HTTP 400) although it passed our checks.
    #[error("the gateway refused the text: {0}")]
    Rejected(String),
    /// The gateway or the network failed; sending again later may work. Carries the
    /// gateway's `Retry-After` when it gave one.
    #[error("temporary failure: {reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The request reached the gateway but no answer came back: the text may have been
    /// delivered. Not retried by default (a customer would get it twice).
    #[error("no answer from the gateway; the text may have been sent: {0}")]
    Unconfirmed(String),
    /// Our own misconfiguration (bad credentials, a redirect, a 403): retrying cannot
    /// help until someone fixes the configuration.
    #[error("SMS misconfiguration: {0}")]
    Misconfigured(String),
}

impl SmsError {
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// Whether sending the same text again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the caller sent something we cannot text.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::InvalidPhone(_) | Self::InvalidMessage(_) | Self::Rejected(_)
        )
    }
}
