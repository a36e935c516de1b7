//! Configuration from flags and environment variables (flags win). Secrets are held in
//! `SecretString`, so printing the configuration never prints them.

use std::net::SocketAddr;

use cinema_runtime::{LogFormat, parse_secret};
use clap::{Args, Parser};
use secrecy::SecretString;

#[derive(Debug, Parser)]
#[command(
    name = "movies-service",
    version,
    about = "The Cinema movies service (gRPC)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// What the binary does; every service binary offers the same three.
pub use cinema_runtime::ServiceCommand as Command;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Postgres connection URL of the movies database.
    #[arg(long, env = "DATABASE_URL", value_parser = parse_secret, hide_env_values = true)]
    pub database_url: SecretString,

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

    /// Do not apply migrations at start-up (run `movies-service migrate` separately).
    #[arg(long, env = "MOVIES_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,

    /// Size of the database connection pool.
    #[arg(long, env = "MOVIES_DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,

    /// Serve Prometheus metrics on `http://<addr>/metrics`. Off when unset.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// How often gRPC health checks the database while it answers. A call that finds
    /// the database unreachable triggers a check at once, and while it is down health
    /// checks every 200 ms, so this only bounds how late a silent outage is noticed.
    #[arg(long, env = "HEALTH_INTERVAL_MS", default_value_t = 2000)]
    pub health_interval_ms: u64,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn secrets_stay_hidden() {
        let cli = Cli::try_parse_from([
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
