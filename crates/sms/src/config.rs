//! Building the whole stack from configuration, so changing providers or weights never
//! changes a caller.

use std::sync::Arc;

use secrecy::SecretString;

use crate::{
    HttpSettings, Milio, PhoneNumber, Region, RetryPolicy, Retrying, Router, SendSms, SmsClient,
    SmsError, Watertel,
};

#[derive(Debug, Clone)]
pub enum GatewayConfig {
    Watertel {
        weight: u32,
        base_url: String,
        username: String,
        password: SecretString,
    },
    Milio {
        weight: u32,
        base_url: String,
        access_token: SecretString,
        registered_phone: String,
    },
}

#[derive(Debug, Clone)]
pub struct SmsConfig {
    pub gateways: Vec<GatewayConfig>,
    pub default_region: Region,
    pub retry: RetryPolicy,
    pub http: HttpSettings,
}

impl SmsConfig {
    /// `Retrying(Router(gateways...))`.
    pub fn build(&self) -> Result<SmsClient, SmsError> {
        if self.gateways.is_empty() {
            return Err(SmsError::Misconfigured(
                "no SMS gateway is configured".into(),
            ));
        }
        let mut routes: Vec<(u32, Arc<dyn SendSms>)> = Vec::new();
        for gateway in &self.gateways {
            routes.push(match gateway {
                GatewayConfig::Watertel {
                    weight,
                    base_url,
                    username,
                    password,
                } => (
                    *weight,
                    Arc::new(Watertel::new(
                        base_url.clone(),
                        username.clone(),
                        password.clone(),
                        self.http.clone(),
                    )?),
                ),
                GatewayConfig::Milio {
                    weight,
                    base_url,
                    access_token,
                    registered_phone,
                } => {
                    let registered = PhoneNumber::parse(registered_phone, self.default_region)
                        .map_err(|e| {
                            SmsError::Misconfigured(format!("Milio registered phone: {e}"))
                        })?;
                    (
                        *weight,
                        Arc::new(Milio::new(
                            base_url.clone(),
                            access_token.clone(),
                            registered,
                            self.http.clone(),
                        )?),
                    )
                }
            });
        }
        let stack = Retrying::new(Router::new(routes)?, self.retry.clone());
        Ok(SmsClient::new(Arc::new(stack), self.default_region))
    }
}
