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
    #[arg(long, env = "MOVIES_LISTEN_ADDR", default_value = "127.0.0.1:50051")]
    pub listen_addr: SocketAddr,

    /// Bearer token required by every MoviesAdminService call. Required to serve.
    #[arg(long, env = "MOVIES_ADMIN_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub admin_token: Option<SecretString>,

    /// The orders service: `http://host:port`, a comma-separated list of them, or
    /// `dns:///host:port` to balance over every address of a name (a headless Service).
    #[arg(
        long,
        env = "ORDERS_ENDPOINT",
        default_value = "http://127.0.0.1:50052"
    )]
    pub orders_endpoint: String,

    /// The orders service's admin token, used to register showtimes as products.
    /// Required to serve.
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub orders_token: Option<SecretString>,

    /// Deadline for each call to the orders service, in milliseconds.
    #[arg(long, env = "MOVIES_ORDERS_TIMEOUT_MS", default_value_t = 5000)]
    pub orders_timeout_ms: u64,

    /// Our name as a product provider at the orders service.
    #[arg(long, env = "MOVIES_PROVIDER_NAME", default_value = "movies")]
    pub provider_name: String,

    /// The address the orders service should use to call this service back. Defaults
    /// to `http://` + the address we listen on (set it when that is not reachable from
    /// the orders service, e.g. behind a load balancer or in containers).
    #[arg(long, env = "MOVIES_CALLBACK_ENDPOINT")]
    pub callback_endpoint: Option<String>,

    /// Bearer token the orders service presents on callbacks (its ORDERS_CALLBACK_TOKEN).
    /// Required to serve.
    #[arg(long, env = "MOVIES_CALLBACK_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub callback_token: Option<SecretString>,

    /// Minutes to clean an auditorium between two showtimes.
    #[arg(long, env = "MOVIES_CLEANING_GAP_MINUTES", default_value_t = 15)]
    pub cleaning_gap_minutes: u32,

    #[command(flatten)]
    pub serving: ServingSettings,
}

#[cfg(test)]
mod tests {
    use cinema_service::service::{command, try_parse_from};

    use crate::Application;

    #[test]
    fn cli_definition_is_consistent() {
        command::<Application>().debug_assert();
    }

    #[test]
    fn secrets_stay_hidden() {
        let cli = try_parse_from::<Application, _>([
            "movies-service",
            "--database-url",
            "postgres://u:pw@x/y",
            "--admin-token",
            "adm1n",
        ])
        .expect("parses");
        let shown = format!("{cli:?}");
        assert!(!shown.contains("pw@x") && !shown.contains("adm1n"));
    }
}
