//! Milio (appendix B): a fixed access token and a registered sender phone.

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::http::{HttpSettings, status_error};
use crate::{Message, PhoneNumber, SendSms, SmsError};

pub struct Milio {
    http: reqwest::Client,
    settings: HttpSettings,
    base_url: String,
    access_token: SecretString,
    /// Texts appear to come from this number; Milio requires it in every request.
    registered_phone: PhoneNumber,
}

impl std::fmt::Debug for Milio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Milio")
            .field("base_url", &self.base_url)
            .field("registered_phone", &self.registered_phone)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SendRequest<'a> {
    text: &'a str,
    recipient_phone: &'a str,
    registered_phone: &'a str,
}

impl Milio {
    /// `base_url` is where `/api/sms` lives, e.g. `https://milio-sms-gateway.com`.
    pub fn new(
        base_url: impl Into<String>,
        access_token: SecretString,
        registered_phone: PhoneNumber,
        settings: HttpSettings,
    ) -> Result<Self, SmsError> {
        Ok(Self {
            http: settings.client()?,
            settings,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            access_token,
            registered_phone,
        })
    }
}

#[async_trait]
impl SendSms for Milio {
    async fn send(&self, phone: &PhoneNumber, message: &Message) -> Result<(), SmsError> {
        let response = self
            .http
            .post(format!("{}/api/sms", self.base_url))
            .query(&[("accessToken", self.access_token.expose_secret())])
            .json(&SendRequest {
                text: message.as_str(),
                recipient_phone: phone.as_str(),
                registered_phone: self.registered_phone.as_str(),
            })
            .send()
            .await
            .map_err(|e| self.settings.transport_error("Milio", e))?;
        match response.status() {
            StatusCode::CREATED => Ok(()),
            // A fixed token cannot be renewed: 401 is our configuration's fault.
            StatusCode::UNAUTHORIZED => Err(SmsError::Misconfigured(
                "Milio refused our access token: check it".into(),
            )),
            _ => Err(status_error("Milio", response).await),
        }
    }

    fn name(&self) -> &str {
        "milio"
    }
}
