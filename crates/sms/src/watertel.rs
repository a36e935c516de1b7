//! Watertel (appendix A): log in with a username and password for an access token
//! that expires, then send with the token.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::http::{HttpSettings, status_error};
use crate::{Message, PhoneNumber, SendSms, SmsError};

/// Renew the token this long before it expires, so a send never races its expiry.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

#[derive(Clone)]
struct Token {
    value: SecretString,
    /// Measured on tokio's clock, so tests can move time with `tokio::time::pause`.
    renew_at: Instant,
}

pub struct Watertel {
    http: reqwest::Client,
    settings: HttpSettings,
    base_url: String,
    username: String,
    password: SecretString,
    /// The current token. The lock is held during a login, so concurrent sends that
    /// all find the token expired share one login instead of a burst of them.
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for Watertel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watertel")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct LoginRequest<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Serialize)]
struct SendRequest<'a> {
    message: &'a str,
    phone: &'a str,
    priority: u8,
}

impl Watertel {
    /// `base_url` is where `/api/login` and `/api/sms` live, e.g. `https://watertel.com`.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
        settings: HttpSettings,
    ) -> Result<Self, SmsError> {
        Ok(Self::with_client(
            settings.client()?,
            base_url,
            username,
            password,
            settings,
        ))
    }

    /// With a caller-built HTTP client (tests use one without timers or pooling, so
    /// tokio's paused clock can be moved freely). It must not follow redirects.
    pub fn with_client(
        http: reqwest::Client,
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
        settings: HttpSettings,
    ) -> Self {
        Self {
            http,
            settings,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            username: username.into(),
            password,
            token: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a fresh login. `stale` is a token the gateway
    /// just refused; if another send has already replaced it, that replacement is used
    /// instead of logging in again.
    async fn token(&self, stale: Option<&SecretString>) -> Result<SecretString, SmsError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            let refused = stale.is_some_and(|s| s.expose_secret() == token.value.expose_secret());
            if !refused && Instant::now() < token.renew_at {
                return Ok(token.value.clone());
            }
        }
        let token = self.login().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    async fn login(&self) -> Result<Token, SmsError> {
        tracing::debug!(username = %self.username, "logging in to Watertel");
        let response = self
            .http
            .post(format!("{}/api/login", self.base_url))
            .json(&LoginRequest {
                username: &self.username,
                password: self.password.expose_secret(),
            })
            .send()
            .await
            .map_err(|e| self.settings.transport_error("Watertel login", e))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(SmsError::Misconfigured(format!(
                    "Watertel refused the login for {:?} ({}): check the username and password",
                    self.username,
                    response.status()
                )));
            }
            _ => return Err(status_error("Watertel login", response).await),
        }
        let body: LoginResponse = response
            .json()
            .await
            .map_err(|e| SmsError::retryable(format!("Watertel login answered garbage: {e}")))?;
        let lifetime = Duration::from_secs(body.expires_in);
        Ok(Token {
            value: SecretString::from(body.access_token),
            renew_at: Instant::now() + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY),
        })
    }

    async fn post_sms(
        &self,
        token: &SecretString,
        phone: &PhoneNumber,
        message: &Message,
    ) -> Result<reqwest::Response, SmsError> {
        self.http
            .post(format!("{}/api/sms", self.base_url))
            .query(&[("accessToken", token.expose_secret())])
            .json(&SendRequest {
                message: message.as_str(),
                phone: phone.as_str(),
                priority: 1,
            })
            .send()
            .await
            .map_err(|e| self.settings.transport_error("Watertel", e))
    }
}

#[async_trait]
impl SendSms for Watertel {
    async fn send(&self, phone: &PhoneNumber, message: &Message) -> Result<(), SmsError> {
        let token = self.token(None).await?;
        let mut response = self.post_sms(&token, phone, message).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            // The token went bad before its time: log in again, once, and resend once.
            tracing::info!("Watertel refused our token; logging in again");
            let fresh = self.token(Some(&token)).await?;
            response = self.post_sms(&fresh, phone, message).await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                return Err(SmsError::Misconfigured(
                    "Watertel refused a freshly issued token".into(),
                ));
            }
        }
        if response.status() == StatusCode::OK {
            Ok(())
        } else {
            Err(status_error("Watertel", response).await)
        }
    }

    fn name(&self) -> &str {
        "watertel"
    }
}
