//! The service kit: what every Cinema service does the same way, so a service crate
//! holds only its own domain, store, gRPC and flows.
//!
//! - [`DatabaseSettings`] and [`ServingSettings`]: the configuration every service
//!   takes, flattened into its own `Settings` (`#[command(flatten)]`).
//! - [`Foundation`]: connects the pool, migrates, binds the listener and the metrics
//!   endpoint ([`Foundation::start`]), then serves the service's routes next to health
//!   and reflection, traced and counted, and drains on shutdown ([`Foundation::serve`]).
//! - [`Service`] and [`main`]: the binary, with the same subcommands for every
//!   service (`serve`, `migrate`, `load-zips`, `healthcheck`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use secrecy::SecretString;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;

use crate::{LogFormat, ServiceCommand, health, metrics, parse_secret};

/// A service's own database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Postgres connection URL of this service's database (no other service uses it).
    #[arg(long, env = "DATABASE_URL", value_parser = parse_secret, hide_env_values = true)]
    pub database_url: SecretString,

    /// Size of the database connection pool.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 20)]
    pub db_max_connections: u32,

    /// Do not apply migrations at start-up (run the binary's `migrate` separately).
    #[arg(long, env = "SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
}

impl DatabaseSettings {
    /// The defaults, on the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            database_url: SecretString::from(url.into()),
            db_max_connections: 20,
            skip_migrations: false,
        }
    }
}

/// How every service reports on itself while it serves.
#[derive(Debug, Clone, Args)]
pub struct ServingSettings {
    /// Serve Prometheus metrics on `http://<addr>/metrics`. Off when unset.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// How often gRPC health checks the database while it answers. A call that finds
    /// the database unreachable triggers a check at once, and while it is down health
    /// checks every 200 ms, so this only bounds how late a silent outage is noticed.
    #[arg(long, env = "HEALTH_INTERVAL_MS", default_value_t = 2000)]
    pub health_interval_ms: u64,
}

impl Default for ServingSettings {
    fn default() -> Self {
        Self {
            metrics_addr: None,
            health_interval_ms: 2000,
        }
    }
}

/// Opens the pool of `service`'s database.
pub async fn connect(service: &str, database: &DatabaseSettings) -> anyhow::Result<PgPool> {
    crate::connect_database(&database.database_url, database.db_max_connections)
        .await
        .with_context(|| format!("cannot connect to the {service} database (check DATABASE_URL)"))
}

/// Applies `service`'s migrations.
pub async fn migrate(service: &str, pool: &PgPool, migrator: &Migrator) -> anyhow::Result<()> {
    migrator
        .run(pool)
        .await
        .with_context(|| format!("cannot apply the {service} database migrations"))
}

/// What every service process stands on: its database pool, its gRPC listener, its
/// metrics endpoint, and how its health follows the database.
#[derive(Debug)]
pub struct Foundation {
    /// The `service` label of metrics, and the name in logs: `orders`, `movies`.
    name: &'static str,
    pool: PgPool,
    listener: TcpListener,
    addr: SocketAddr,
    metrics: Option<metrics::MetricsListener>,
    health: health::Intervals,
}

impl Foundation {
    /// Connects the pool, applies `migrator` (unless told not to), and binds the gRPC
    /// listener and the metrics endpoint, so that a port taken or a database missing
    /// fails the start, not the first call.
    pub async fn start(
        name: &'static str,
        database: &DatabaseSettings,
        migrator: &Migrator,
        listen_addr: SocketAddr,
        serving: &ServingSettings,
    ) -> anyhow::Result<Self> {
        let pool = connect(name, database).await?;
        if !database.skip_migrations {
            migrate(name, &pool, migrator).await?;
        }
        let listener = TcpListener::bind(listen_addr)
            .await
            .with_context(|| format!("cannot listen on {listen_addr}"))?;
        let addr = listener.local_addr()?;
        let metrics = metrics::bind_optional(serving.metrics_addr).await?;
        Ok(Self {
            name,
            pool,
            listener,
            addr,
            metrics,
            health: health::Intervals {
                healthy: Duration::from_millis(serving.health_interval_ms.max(10)),
                ..Default::default()
            },
        })
    }

    /// [`Foundation::start`] with what service `S` says about itself and its settings.
    pub async fn of<S: Service>(settings: &S::Settings) -> anyhow::Result<Self> {
        Self::start(
            S::NAME,
            S::database(settings),
            S::migrator(),
            S::listen_addr(settings),
            S::serving(settings),
        )
        .await
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The address the service listens on (useful when it was asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr())
    }

    /// Serves the service's own gRPC services, named `services` and added by
    /// `add_services`, next to health (which follows the database) and reflection,
    /// every call traced and counted, until `shutdown` resolves. Then health says
    /// NOT_SERVING, calls in flight finish, and the metrics endpoint stops. `collector`
    /// refreshes the service's gauges at each scrape. The pool stays open for the
    /// caller's background work to finish: close it last.
    pub async fn serve(
        self,
        services: Vec<&'static str>,
        add_services: impl FnOnce(tonic::service::Routes) -> tonic::service::Routes,
        collector: metrics::Collector,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (standard, health) = crate::standard_routes(
            self.pool.clone(),
            services,
            cinema_proto::FILE_DESCRIPTOR_SET,
            self.health,
        )
        .await
        .context("cannot build the health and reflection services")?;
        let _collector = metrics::register_collector(collector);
        let metrics = self.metrics.map(|m| m.spawn());

        tracing::info!(addr = %self.addr, "{} service listening", self.name);
        let shutdown = async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight calls");
            health.shutting_down().await;
        };
        crate::server_builder(self.name)
            .add_routes(add_services(standard))
            .serve_with_incoming_shutdown(crate::incoming(self.listener), shutdown)
            .await
            .context("gRPC server failed")?;
        if let Some(metrics) = metrics {
            metrics.stop().await;
        }
        Ok(())
    }
}

/// A service binary, as [`main`] runs it.
pub trait Service: Sized + Send + 'static {
    /// Its settings, from flags and environment variables (flags win).
    type Settings: Args + Send + 'static;
    /// The binary's name, in `--help`, logs and traces: `orders-service`.
    const BINARY: &'static str;
    /// What `--help` says the binary is.
    const ABOUT: &'static str;
    /// The gRPC service whose health `healthcheck` asks about.
    const HEALTH_SERVICE: &'static str;
    /// The name in logs and errors: `orders`.
    const NAME: &'static str;

    fn migrator() -> &'static Migrator;
    /// What it stands on: its pool, its addresses.
    fn foundation(&self) -> &Foundation;
    fn database(settings: &Self::Settings) -> &DatabaseSettings;
    fn serving(settings: &Self::Settings) -> &ServingSettings;
    fn listen_addr(settings: &Self::Settings) -> SocketAddr;
    /// Starts the service (see [`Foundation::start`]).
    fn build(settings: Self::Settings) -> impl Future<Output = anyhow::Result<Self>> + Send;
    /// Serves until `shutdown` resolves, then drains and returns.
    fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A service serving in this process, on a task of its own: how tests and the local
/// launcher start one, in one call ([`Running::start`]).
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    pool: PgPool,
    stop: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Builds `S` with `settings` (connect, migrate, bind) and serves it.
    pub async fn start<S: Service>(settings: S::Settings) -> anyhow::Result<Self> {
        Ok(Self::serve(S::build(settings).await?))
    }

    /// Serves a service already built (once a test has taken what it needs from it).
    pub fn serve<S: Service>(app: S) -> Self {
        let foundation = app.foundation();
        let (addr, metrics_addr) = (foundation.local_addr(), foundation.metrics_addr());
        let pool = foundation.pool().clone();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(app.serve(stop.clone().cancelled_owned()));
        Self {
            addr,
            metrics_addr,
            pool,
            stop,
            task: Some(task),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and the address: what a client connects to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Stops it as SIGTERM would, and waits until calls in flight and background work
    /// have finished.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.context("the service's task panicked")?,
            None => Ok(()),
        }
    }

    /// Ends it as a killed process ends: where it is, with no drain and no cleanup.
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Running {
    /// A test that fails midway must not leave a server running behind it.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// What [`service!`](crate::service!) expands to needs, whatever the caller imports.
#[doc(hidden)]
pub mod __private {
    pub use anyhow::Result;
    pub use sqlx::PgPool;
    pub use sqlx::migrate::Migrator;
}

/// Implements [`Service`] for a service's `Application`, by the kit's conventions: its
/// `Settings` have `database: DatabaseSettings`, `serving: ServingSettings` and
/// `listen_addr: SocketAddr`, the `Application` keeps its `foundation: Foundation`
/// (whose address, metrics address and pool it gets as methods of its own), and
/// it has `build(Settings)` and `run_until_stopped(shutdown)` of its own.
///
/// ```ignore
/// cinema_service::service!(Application {
///     settings: Settings,
///     binary: "orders-service",
///     about: "The Cinema orders service (gRPC)",
///     health_service: "cinema.orders.v1.OrdersService",
///     name: "orders",
///     migrator: store::MIGRATOR,
/// });
/// ```
#[macro_export]
macro_rules! service {
    ($app:ident {
        settings: $settings:ty,
        binary: $binary:expr,
        about: $about:expr,
        health_service: $health:expr,
        name: $name:expr,
        migrator: $migrator:path $(,)?
    }) => {
        impl $app {
            /// The address the service listens on (useful when it was asked for port 0).
            pub fn local_addr(&self) -> ::std::net::SocketAddr {
                self.foundation.local_addr()
            }

            /// Where `/metrics` is served, when `METRICS_ADDR` is set.
            pub fn metrics_addr(&self) -> Option<::std::net::SocketAddr> {
                self.foundation.metrics_addr()
            }

            pub fn pool(&self) -> &$crate::service::__private::PgPool {
                self.foundation.pool()
            }
        }

        impl $crate::service::Service for $app {
            type Settings = $settings;
            const BINARY: &'static str = $binary;
            const ABOUT: &'static str = $about;
            const HEALTH_SERVICE: &'static str = $health;
            const NAME: &'static str = $name;

            fn migrator() -> &'static $crate::service::__private::Migrator {
                &$migrator
            }
            fn foundation(&self) -> &$crate::service::Foundation {
                &self.foundation
            }
            fn database(settings: &$settings) -> &$crate::service::DatabaseSettings {
                &settings.database
            }
            fn serving(settings: &$settings) -> &$crate::service::ServingSettings {
                &settings.serving
            }
            fn listen_addr(settings: &$settings) -> ::std::net::SocketAddr {
                settings.listen_addr
            }
            fn build(
                settings: $settings,
            ) -> impl ::std::future::Future<Output = $crate::service::__private::Result<Self>> + Send {
                $app::build(settings)
            }
            fn serve(
                self,
                shutdown: impl ::std::future::Future<Output = ()> + Send + 'static,
            ) -> impl ::std::future::Future<Output = $crate::service::__private::Result<()>> + Send {
                self.run_until_stopped(shutdown)
            }
        }
    };
}

/// The command line of every service binary: a subcommand, the service's settings, and
/// the log format.
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli<S: Args> {
    #[command(subcommand)]
    pub command: Option<ServiceCommand>,
    #[command(flatten)]
    pub settings: S,
    /// Log format: human-readable text, or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// The command line of `S`'s binary.
pub fn command<S: Service>() -> clap::Command {
    Cli::<S::Settings>::command()
        .name(S::BINARY)
        .about(S::ABOUT)
}

/// Parses `args` (the binary's name first) as `S`'s binary would.
pub fn try_parse_from<S: Service, T: Into<std::ffi::OsString> + Clone>(
    args: impl IntoIterator<Item = T>,
) -> Result<Cli<S::Settings>, clap::Error> {
    let matches = command::<S>().try_get_matches_from(args)?;
    Cli::<S::Settings>::from_arg_matches(&matches)
}

/// `S`'s binary: parses its command line, installs logging and tracing, and runs the
/// subcommand (serving when none is given).
pub async fn main<S: Service>() -> anyhow::Result<()> {
    let matches = command::<S>().get_matches();
    let cli = Cli::<S::Settings>::from_arg_matches(&matches)?;
    let _telemetry = crate::init_telemetry(cli.log_format, S::BINARY)?;
    match cli.command.unwrap_or(ServiceCommand::Serve) {
        ServiceCommand::Serve => {
            // Installed first, so a SIGTERM during start-up stops the service cleanly
            // once it is up instead of killing it mid-migration.
            let stop = crate::shutdown_signal();
            S::build(cli.settings).await?.serve(stop).await
        }
        ServiceCommand::Migrate => {
            let pool = connect(S::NAME, S::database(&cli.settings)).await?;
            migrate(S::NAME, &pool, S::migrator()).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        ServiceCommand::LoadZips(args) => {
            let pool = connect(S::NAME, S::database(&cli.settings)).await?;
            migrate(S::NAME, &pool, S::migrator()).await?;
            args.load_into(&pool).await
        }
        ServiceCommand::Healthcheck => {
            crate::check_grpc_health(S::listen_addr(&cli.settings), S::HEALTH_SERVICE)
                .await
                .map_err(anyhow::Error::msg)
        }
    }
}
