//! `cinema-web`: serves the website until SIGTERM or Ctrl-C; `cinema-web healthcheck`
//! exits 0 if the site on the configured address answers `/healthz` (for containers).

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// Serving a call allocates and frees many small buffers (protobuf, JSON, HTTP/2
// frames); mimalloc does that for less CPU than the system allocator did (glibc's
// malloc and free were a sixth of the movies service's time under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "cinema-web", version, about = "The Cinema website")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: cinema_web::Settings,
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = cinema_service::LogFormat::Text, global = true)]
    log_format: cinema_service::LogFormat,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Command {
    /// Serve the site (the default).
    Serve,
    /// Exit 0 if the site listening on the configured address is serving.
    Healthcheck,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck(cli.settings.listen_addr).await;
    }
    let _telemetry = cinema_service::init_telemetry(cli.log_format, "cinema-web")?;
    let shutdown = cinema_service::shutdown_signal();
    let app = cinema_web::Application::build(cli.settings).await?;
    app.run_until_stopped(shutdown).await
}

/// One plain HTTP/1.0 request: no client library needed in the image's healthcheck.
async fn healthcheck(mut addr: std::net::SocketAddr) -> anyhow::Result<()> {
    if addr.ip().is_unspecified() {
        addr.set_ip([127, 0, 0, 1].into());
    }
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), check).await??;
    let status = String::from_utf8_lossy(&answer);
    anyhow::ensure!(
        status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200"),
        "the site at {addr} is not healthy"
    );
    Ok(())
}
