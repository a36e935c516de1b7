//! `cinema-web`: serves the website until SIGTERM or Ctrl-C.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "cinema-web", version, about = "The Cinema website")]
struct Cli {
    #[command(flatten)]
    settings: cinema_web::Settings,
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = cinema_runtime::LogFormat::Text)]
    log_format: cinema_runtime::LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = cinema_runtime::init_telemetry(cli.log_format, "cinema-web")?;
    let shutdown = cinema_runtime::shutdown_signal();
    let app = cinema_web::Application::build(cli.settings).await?;
    app.run_until_stopped(shutdown).await
}
