//! Configuration from flags and environment variables (flags win). Secrets are held in
//! `SecretString`, so printing the configuration never prints them.

use std::net::SocketAddr;

use cinema_runtime::{LogFormat, parse_secret};
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

#[derive(Debug, Parser)]
#[command(
    name = "orders-service",
    version,
    about = "The Cinema orders service (gRPC)"
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

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Postgres connection URL of the orders database.
    #[arg(long, env = "DATABASE_URL", value_parser = parse_secret, hide_env_values = true)]
    pub database_url: SecretString,

    /// Address to serve gRPC on. Port 0 picks a free port.
    #[arg(long, env = "ORDERS_LISTEN_ADDR", default_value = "127.0.0.1:50052")]
    pub listen_addr: SocketAddr,

    /// Bearer token required by RegisterProvider and AddProduct. Required to serve.
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub admin_token: Option<SecretString>,

    /// Do not apply migrations at start-up (run `orders-service migrate` separately).
    #[arg(long, env = "ORDERS_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,

    /// Size of the database connection pool.
    #[arg(long, env = "ORDERS_DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,

    /// Bearer token presented to providers on sold-out / available callbacks; they must
    /// be configured to accept it. Required to serve.
    #[arg(long, env = "ORDERS_CALLBACK_TOKEN", value_parser = parse_secret, hide_env_values = true)]
    pub callback_token: Option<SecretString>,

    /// Run the outbox dispatcher in this process (turn off to run API-only replicas).
    #[arg(long, env = "ORDERS_DISPATCHER", default_value_t = true, action = clap::ArgAction::Set)]
    pub dispatcher: bool,

    #[command(flatten)]
    pub dispatch: crate::dispatcher::DispatchSettings,
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
    fn migrate_does_not_need_the_admin_token() {
        let cli = Cli::try_parse_from([
            "orders-service",
            "--database-url",
            "postgres://x/y",
            "migrate",
        ])
        .expect("parses");
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert!(cli.settings.admin_token.is_none());
        assert!(
            !format!("{cli:?}").contains("postgres://x/y"),
            "secrets stay hidden"
        );
    }
}
