//! What the two gateway clients share: the HTTP client, and how transport failures and
//! status codes are classified.

use std::time::Duration;

use reqwest::StatusCode;

use crate::SmsError;

/// HTTP settings for a gateway client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// The whole request, once connected.
    pub request_timeout: Duration,
    /// Whether a timeout after the request was sent counts as retryable. The text may
    /// have been delivered, so by default it does not (no double texts).
    pub retry_unconfirmed: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            retry_unconfirmed: false,
        }
    }
}

impl HttpSettings {
    pub(crate) fn client(&self) -> Result<reqwest::Client, SmsError> {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            // A redirect means a wrong URL in our configuration: surface it as such
            // instead of following it.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsError::Misconfigured(format!("cannot build the HTTP client: {e}")))
    }

    /// Classifies a failure to get any response. The message says why, and never
    /// which URL: both gateways take their access token in the query string, and this
    /// text ends up in logs and in the outbox.
    pub(crate) fn transport_error(&self, gateway: &str, e: reqwest::Error) -> SmsError {
        let e = Causes(e.without_url());
        if e.0.is_connect() {
            // Nothing reached the gateway: always safe to retry.
            SmsError::retryable(format!("{gateway}: cannot connect ({e})"))
        } else if e.0.is_timeout() {
            let reason = format!("{gateway}: no answer in time ({e})");
            if self.retry_unconfirmed {
                SmsError::retryable(reason)
            } else {
                SmsError::Unconfirmed(reason)
            }
        } else if e.0.is_builder() {
            SmsError::Misconfigured(format!("{gateway}: {e}"))
        } else {
            // The connection broke mid-request: like a timeout, the gateway may have
            // acted on it.
            let reason = format!("{gateway}: {e}");
            if self.retry_unconfirmed {
                SmsError::retryable(reason)
            } else {
                SmsError::Unconfirmed(reason)
            }
        }
    }
}

/// A reqwest error with its causes: its own message is only "error sending request",
/// and the cause (a reset, a connection closed before the answer, a refused connect)
/// is what an operator reading the outbox needs.
struct Causes(reqwest::Error);

impl std::fmt::Display for Causes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(&self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// The `Retry-After` header, in seconds or as an HTTP date.
pub(crate) fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Classifies a status that is not the gateway's success code. `gateway` names it in
/// messages; 401 is handled by the caller (Watertel re-logs in first).
pub(crate) async fn status_error(gateway: &str, response: reqwest::Response) -> SmsError {
    let status = response.status();
    let retry_after = retry_after(&response);
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(200).collect();
    match status {
        StatusCode::BAD_REQUEST => SmsError::Rejected(format!("{gateway}: {body}")),
        StatusCode::TOO_MANY_REQUESTS => SmsError::Retryable {
            reason: format!("{gateway} rate-limited us"),
            retry_after,
        },
        s if s.is_server_error() => SmsError::Retryable {
            reason: format!("{gateway} failed with {s}: {body}"),
            retry_after,
        },
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            SmsError::Misconfigured(format!("{gateway} refused our credentials ({status})"))
        }
        s if s.is_redirection() => {
            SmsError::Misconfigured(format!("{gateway} redirected us ({s}): check its URL"))
        }
        s => SmsError::Misconfigured(format!("{gateway} answered {s} unexpectedly: {body}")),
    }
}
