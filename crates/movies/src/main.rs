use cinema_movies::config::{Cli, Command};
use cinema_movies::{Application, startup};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = cinema_runtime::init_telemetry(cli.log_format, "movies-service")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let pool = startup::connect(&cli.settings).await?;
            startup::migrate(&pool).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::LoadZips(args) => {
            let pool = startup::connect(&cli.settings).await?;
            startup::migrate(&pool).await?;
            args.load_into(&pool).await
        }
        Command::Healthcheck => cinema_runtime::check_grpc_health(
            cli.settings.listen_addr,
            "cinema.movies.v1.MoviesService",
        )
        .await
        .map_err(anyhow::Error::msg),
        Command::Serve => {
            // Installed first, so a SIGTERM during start-up stops the service cleanly
            // once it is up instead of killing it mid-migration.
            let stop = cinema_runtime::shutdown_signal();
            let app = Application::build(cli.settings).await?;
            app.run_until_stopped(stop).await
        }
    }
}
