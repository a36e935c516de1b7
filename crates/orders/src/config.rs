//! Configuration from flags and environment variables (flags win). Secrets are held in
//! `SecretString`, so printing the configuration never prints them.

use std::net::SocketAddr;

use cinema_service::parse_secret;
use cinema_service::service::{DatabaseSettings, ServingSettings};
use clap::Args;
use secrecy::SecretString;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    /// Address to serve gRPC on. Port 0 picks a free port.
    #[arg(long, env = "ORDERS_LISTEN_ADDR", default_value = "127.0.0.1:50052")]
    pub listen_addr: SocketAddr,

    /// Bearer token required by RegisterProvider and AddProduct. Required to serve.
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub admin_token: Option<SecretString>,

    #[command(flatten)]
    pub serving: ServingSettings,

    /// Bearer token presented to providers on sold-out / available callbacks; they must
    /// be configured to accept it. Required to serve.
    #[arg(long, env = "ORDERS_CALLBACK_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub callback_token: Option<SecretString>,

    /// Run the outbox dispatcher in this process (turn off to run API-only replicas).
    #[arg(long, env = "ORDERS_DISPATCHER", default_value_t = true, action = clap::ArgAction::Set)]
    pub dispatcher: bool,

    #[command(flatten)]
    pub dispatch: crate::dispatcher::DispatchSettings,

    #[command(flatten)]
    pub checkout: CheckoutSettings,

    #[command(flatten)]
    pub sms: SmsSettings,
}

/// Holds, payments and the sweeper that returns expired holds to sale.
#[derive(Debug, Clone, Args)]
pub struct CheckoutSettings {
    /// Simulated payment processor's delay per authorization. 0 in tests; a real
    /// processor takes 200 to 2000 ms (300 is a realistic value for benchmarks).
    #[arg(long, env = "ORDERS_PAYMENT_LATENCY_MS", default_value_t = 0)]
    pub payment_latency_ms: u64,
    /// The longest a payment authorization may take before the checkout answers
    /// UNAVAILABLE (the customer's seats stay held; retrying is safe).
    #[arg(long, env = "ORDERS_PAYMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub payment_timeout_ms: u64,
    /// How long the hold a PlaceOrder with items makes for itself lasts: if the process
    /// dies mid-checkout, the units are back on sale after this.
    #[arg(long, env = "ORDERS_CHECKOUT_HOLD_SECS", default_value_t = 120)]
    pub checkout_hold_secs: u32,
    /// How often this replica looks for expired holds and orphaned authorizations.
    #[arg(long, env = "ORDERS_HOLD_SWEEP_MS", default_value_t = 1000)]
    pub hold_sweep_ms: u64,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        Self {
            payment_latency_ms: 0,
            payment_timeout_ms: 10_000,
            checkout_hold_secs: 120,
            hold_sweep_ms: 1000,
        }
    }
}

/// The SMS gateways customers are texted through. Texts are off when neither gateway
/// is configured.
#[derive(Debug, Clone, Default, Args)]
pub struct SmsSettings {
    /// Watertel's base URL (where `/api/login` and `/api/sms` live).
    #[arg(long, env = "SMS_WATERTEL_URL")]
    pub watertel_url: Option<String>,
    #[arg(long, env = "SMS_WATERTEL_USERNAME", default_value = "")]
    pub watertel_username: String,
    #[arg(long, env = "SMS_WATERTEL_PASSWORD", value_parser = parse_secret, hide_env_values = true)]
    pub watertel_password: Option<SecretString>,
    /// Share of texts sent through Watertel.
    #[arg(long, env = "SMS_WATERTEL_WEIGHT", default_value_t = 80)]
    pub watertel_weight: u32,
    /// Milio's base URL (where `/api/sms` lives).
    #[arg(long, env = "SMS_MILIO_URL")]
    pub milio_url: Option<String>,
    #[arg(long, env = "SMS_MILIO_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub milio_token: Option<SecretString>,
    /// The sender number registered with Milio.
    #[arg(long, env = "SMS_MILIO_REGISTERED_PHONE", default_value = "")]
    pub milio_registered_phone: String,
    #[arg(long, env = "SMS_MILIO_WEIGHT", default_value_t = 20)]
    pub milio_weight: u32,
    /// Retries of one send inside the SMS stack (at once, then ~2 s, ~4 s, ...).
    #[arg(long, env = "SMS_RETRIES", default_value_t = 3)]
    pub retries: usize,
    /// The first delayed retry's wait, doubled for each later one.
    #[arg(long, env = "SMS_RETRY_BASE_MS", default_value_t = 2000)]
    pub retry_base_ms: u64,
}

impl SmsSettings {
    /// The SMS stack's configuration, or `None` when no gateway is configured.
    pub fn to_config(&self) -> anyhow::Result<Option<cinema_sms::SmsConfig>> {
        use anyhow::Context;
        let mut gateways = Vec::new();
        if let Some(base_url) = &self.watertel_url {
            gateways.push(cinema_sms::GatewayConfig::Watertel {
                weight: self.watertel_weight,
                base_url: base_url.clone(),
                username: self.watertel_username.clone(),
                password: self
                    .watertel_password
                    .clone()
                    .context("SMS_WATERTEL_PASSWORD is required with SMS_WATERTEL_URL")?,
            });
        }
        if let Some(base_url) = &self.milio_url {
            gateways.push(cinema_sms::GatewayConfig::Milio {
                weight: self.milio_weight,
                base_url: base_url.clone(),
                access_token: self
                    .milio_token
                    .clone()
                    .context("SMS_MILIO_TOKEN is required with SMS_MILIO_URL")?,
                registered_phone: self.milio_registered_phone.clone(),
            });
        }
        if gateways.is_empty() {
            return Ok(None);
        }
        Ok(Some(cinema_sms::SmsConfig {
            gateways,
            // Numbers without a country code are read as US numbers.
            default_region: cinema_sms::Region::US,
            retry: cinema_sms::RetryPolicy {
                retries: self.retries,
                base_delay: std::time::Duration::from_millis(self.retry_base_ms),
                ..Default::default()
            },
            http: cinema_sms::HttpSettings::default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use cinema_service::ServiceCommand;
    use cinema_service::service::{command, try_parse_from};

    use crate::Application;

    #[test]
    fn cli_definition_is_consistent() {
        command::<Application>().debug_assert();
    }

    #[test]
    fn migrate_does_not_need_the_admin_token() {
        let cli = try_parse_from::<Application, _>([
            "orders-service",
            "--database-url",
            "postgres://x/y",
            "migrate",
        ])
        .expect("parses");
        assert!(matches!(cli.command, Some(ServiceCommand::Migrate)));
        assert!(cli.settings.admin_token.is_none());
        assert!(
            !format!("{cli:?}").contains("postgres://x/y"),
            "secrets stay hidden"
        );
    }
}
