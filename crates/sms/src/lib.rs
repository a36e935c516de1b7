//! Sending texts, as "Designing Modules in Python" designs it, in Rust.
//!
//! Callers see one thing: [`SmsClient::send_sms`]`(phone, message)` on a client that
//! was configured elsewhere. Gateways, tokens, retries and the traffic split stay
//! behind it, and are composed rather than inherited:
//!
//! ```text
//! SmsClient (validates)  ->  Retrying( Router( 80: Watertel, 20: Milio ) )
//! ```
//!
//! Retrying wraps the router, so a retry may go to the other gateway. Errors say whose
//! problem it is ([`SmsError`]): the caller's (invalid phone or message: never
//! retried), the network's or the gateway's (retryable), or ours (misconfiguration:
//! not retried, logged loudly).
//!
//! Messages are limited to 140 *characters* (Unicode scalar values), not bytes.

mod config;
mod error;
mod http;
mod milio;
mod retry;
mod router;
mod validate;
mod watertel;

use std::sync::Arc;

use async_trait::async_trait;

pub use config::{GatewayConfig, SmsConfig};
pub use error::SmsError;
pub use http::HttpSettings;
pub use milio::Milio;
pub use phonenumber::country::Id as Region;
pub use retry::{RetryPolicy, Retrying};
pub use router::Router;
pub use validate::{MAX_MESSAGE_CHARS, Message, PhoneNumber};
pub use watertel::Watertel;

/// Anything that can send a validated text: a gateway, or a composition of them.
#[async_trait]
pub trait SendSms: Send + Sync + std::fmt::Debug {
    async fn send(&self, phone: &PhoneNumber, message: &Message) -> Result<(), SmsError>;

    /// A short name for logs.
    fn name(&self) -> &str;
}

#[async_trait]
impl<S: SendSms + ?Sized> SendSms for Arc<S> {
    async fn send(&self, phone: &PhoneNumber, message: &Message) -> Result<(), SmsError> {
        (**self).send(phone, message).await
    }

    fn name(&self) -> &str {
        (**self).name()
    }
}

/// What callers use.
#[derive(Debug, Clone)]
pub struct SmsClient {
    sender: Arc<dyn SendSms>,
    /// The region of phone numbers written without a country code.
    default_region: Region,
}

impl SmsClient {
    pub fn new(sender: Arc<dyn SendSms>, default_region: Region) -> Self {
        Self {
            sender,
            default_region,
        }
    }

    /// Checks a phone number with the same rules `send_sms` applies.
    pub fn parse_phone(&self, raw: &str) -> Result<PhoneNumber, SmsError> {
        PhoneNumber::parse(raw, self.default_region)
    }

    /// Sends `message` to `phone`. Both are checked before any network call.
    pub async fn send_sms(&self, phone: &str, message: &str) -> Result<(), SmsError> {
        let phone = self.parse_phone(phone)?;
        let message = Message::parse(message)?;
        let result = self.sender.send(&phone, &message).await;
        match &result {
            Ok(()) => tracing::info!(%phone, "text sent"),
            Err(e @ SmsError::Misconfigured(_)) => {
                tracing::error!(error = %e, "SMS IS MISCONFIGURED: texts cannot be sent until it is fixed");
            }
            // The caller decides what a failure means (retry later, give up) and logs
            // that once; a WARN here too would say the same thing twice.
            Err(e) => tracing::debug!(%phone, error = %e, "text not sent"),
        }
        result
    }
}
