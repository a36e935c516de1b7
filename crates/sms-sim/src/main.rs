//! Serves the Watertel and Milio simulators until Ctrl-C.

use std::net::SocketAddr;

use cinema_sms_sim::{SimSettings, Simulator};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "sms-gateway-sim",
    version,
    about = "Simulates the Watertel and Milio SMS gateways"
)]
struct Cli {
    #[arg(long, env = "SIM_LISTEN_ADDR", default_value = "127.0.0.1:50060")]
    listen_addr: SocketAddr,
    #[command(flatten)]
    settings: SimSettings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Exit 0 if the simulator listening on the configured address answers (for
    /// container healthchecks).
    Healthcheck,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Healthcheck) = cli.command {
        let mut addr = cli.listen_addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(3))
            .build()?;
        client
            .get(format!("http://{addr}/texts"))
            .send()
            .await?
            .error_for_status()?;
        return Ok(());
    }
    let logs = tracing_subscriber::fmt().with_env_filter(
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
    );
    // Colours only at a terminal, as in the services.
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        logs.init();
    } else {
        logs.with_ansi(false).init();
    }
    let sim = Simulator::start(cli.listen_addr, cli.settings).await?;
    tracing::info!(watertel = %sim.watertel_url(), milio = %sim.milio_url(), texts = %sim.texts_url(), "SMS gateway simulator listening");
    tokio::signal::ctrl_c().await?;
    sim.stop().await;
    Ok(())
}
