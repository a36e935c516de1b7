//! `cinema-dev`: the local launcher. `cinema-dev up --demo` runs the whole stack (both
//! services, the website and the SMS gateway simulator) in this process with demo data;
//! `cinema-dev demo` loads the demo catalogue into a stack that is already running. The
//! command-line front-end is another binary, `cinema`, which links no server.

mod demo;
mod up;

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

// Serving a call allocates and frees many small buffers (protobuf, JSON, HTTP/2
// frames); mimalloc does that for less CPU than the system allocator did (glibc's
// malloc and free were a sixth of the movies service's time under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "cinema-dev",
    version,
    about = "Run the Cinema stack locally, with demo data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the movies and orders services, the website and the SMS gateway
    /// simulator, in this process, until Ctrl-C.
    Up(UpArgs),
    /// Load the demo catalogue into a stack that is already running (docker compose,
    /// or `up` without `--demo`). Running it again adds nothing twice.
    Demo(DemoArgs),
}

#[derive(Debug, Clone, Args)]
struct UpArgs {
    /// Load demo data: every US ZIP code, a catalogue, and a week of showtimes. Loading
    /// it again adds nothing twice.
    #[arg(long)]
    demo: bool,
    /// The Postgres server; the stack creates its two databases there.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@localhost:5432/postgres",
        hide_env_values = true
    )]
    database_url: String,
    /// Databases are named `<prefix>_movies` and `<prefix>_orders`.
    #[arg(long, default_value = "cinema")]
    db_prefix: String,
    #[arg(long, env = "CINEMA_MOVIES_ADDR", default_value = "127.0.0.1:50051")]
    movies_addr: SocketAddr,
    #[arg(long, env = "CINEMA_ORDERS_ADDR", default_value = "127.0.0.1:50052")]
    orders_addr: SocketAddr,
    #[arg(long, env = "CINEMA_SMS_ADDR", default_value = "127.0.0.1:50060")]
    sms_addr: SocketAddr,
    /// Where the website is served.
    #[arg(long, env = "CINEMA_WEB_ADDR", default_value = "127.0.0.1:8080")]
    web_addr: SocketAddr,
    /// Delay of the simulated payment processor (a real one takes 200 to 2000 ms).
    #[arg(long, env = "ORDERS_PAYMENT_LATENCY_MS", default_value_t = 0)]
    payment_latency_ms: u64,
    /// Log format of the services.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = cinema_service::LogFormat::Text)]
    log_format: cinema_service::LogFormat,
    /// Serve Prometheus metrics of both services and the website on `http://<addr>/metrics` (off
    /// unless given).
    #[arg(long, env = "METRICS_ADDR")]
    metrics_addr: Option<SocketAddr>,
}

/// What `cinema-dev demo` needs: the services and the movies admin token.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// The movies service.
    #[arg(long, env = "CINEMA_MOVIES", default_value = "http://127.0.0.1:50051")]
    movies: String,
    /// The orders service.
    #[arg(long, env = "CINEMA_ORDERS", default_value = "http://127.0.0.1:50052")]
    orders: String,
    /// The token the movies service accepts for admin calls.
    #[arg(long, env = "MOVIES_ADMIN_TOKEN", value_parser = cinema_service::parse_secret, hide_env_values = true)]
    movies_admin_token: secrecy::SecretString,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up::run(args).await,
        Command::Demo(args) => demo::run(&args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
