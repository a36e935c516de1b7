//! Building and running the service. `Application::build` binds the listener and
//! prepares the database, so callers (main, tests, the local launcher) learn the bound
//! address before serving starts; `run_until_stopped` serves until `shutdown` resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cinema_proto::movies::v1::movies_admin_service_server::MoviesAdminServiceServer;
use cinema_proto::movies::v1::movies_service_server::MoviesServiceServer;
use cinema_proto::orders::v1::product_provider_service_server::ProductProviderServiceServer;
use cinema_runtime::BearerAuth;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::{Request, Status};

use crate::config::Settings;
use crate::grpc::{AdminApi, CallbacksApi, PublicApi};
use crate::orders_gateway::OrdersGateway;
use crate::scheduling::Scheduler;
use crate::{Error, store};

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    pool: PgPool,
    admin_auth: BearerAuth,
    /// Checks the orders service's callbacks.
    callback_auth: BearerAuth,
    scheduler: Arc<Scheduler>,
    metrics: Option<cinema_runtime::metrics::MetricsListener>,
    health: cinema_runtime::health::Intervals,
}

pub async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    cinema_runtime::connect_database(&settings.database_url, settings.db_max_connections)
        .await
        .context("cannot connect to the movies database (check DATABASE_URL)")
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    store::MIGRATOR
        .run(pool)
        .await
        .context("cannot apply the movies database migrations")
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let admin_token = settings.admin_token.clone().context(
            "MOVIES_ADMIN_TOKEN (or --admin-token) is required: it guards MoviesAdminService",
        )?;
        let callback_token = settings.callback_token.clone().context(
            "MOVIES_CALLBACK_TOKEN (or --callback-token) is required: it authenticates the \
             orders service's sold-out callbacks",
        )?;
        let orders_token = settings.orders_token.clone().context(
            "ORDERS_ADMIN_TOKEN (or --orders-token) is required: showtimes are registered \
             as products with the orders service",
        )?;
        let pool = connect(&settings).await?;
        if !settings.skip_migrations {
            migrate(&pool).await?;
        }
        let listener = TcpListener::bind(settings.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
        let addr = listener.local_addr()?;
        let metrics = cinema_runtime::metrics::bind_optional(settings.metrics_addr).await?;

        let callback_endpoint = match &settings.callback_endpoint {
            Some(endpoint) => endpoint.clone(),
            None if addr.ip().is_unspecified() => anyhow::bail!(
                "MOVIES_CALLBACK_ENDPOINT is required when listening on {addr}: \
                 say how the orders service reaches this service"
            ),
            None => format!("http://{addr}"),
        };
        let orders = OrdersGateway::new(
            &settings.orders_endpoint,
            orders_token,
            settings.provider_name.clone(),
            callback_endpoint,
            Duration::from_millis(settings.orders_timeout_ms),
        )
        .with_context(|| format!("invalid ORDERS_ENDPOINT {:?}", settings.orders_endpoint))?;
        let scheduler = Arc::new(Scheduler::new(
            pool.clone(),
            orders,
            Duration::from_secs(u64::from(settings.cleaning_gap_minutes) * 60),
        ));
        Ok(Self {
            listener,
            addr,
            pool,
            admin_auth: BearerAuth::new(admin_token),
            callback_auth: BearerAuth::new(callback_token),
            scheduler,
            metrics,
            health: cinema_runtime::health::Intervals {
                healthy: Duration::from_millis(settings.health_interval_ms.max(10)),
                ..Default::default()
            },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until `shutdown` resolves, then stops accepting calls, lets in-flight
    /// calls finish, and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (standard, health) = cinema_runtime::standard_routes(
            self.pool.clone(),
            vec![
                <MoviesServiceServer<PublicApi> as tonic::server::NamedService>::NAME,
                <MoviesAdminServiceServer<AdminApi> as tonic::server::NamedService>::NAME,
                <ProductProviderServiceServer<CallbacksApi> as tonic::server::NamedService>::NAME,
            ],
            cinema_proto::FILE_DESCRIPTOR_SET,
            self.health,
        )
        .await
        .context("cannot build the health and reflection services")?;

        let auth = self.admin_auth.clone();
        let admin = MoviesAdminServiceServer::with_interceptor(
            AdminApi::new(self.pool.clone(), self.scheduler.clone()),
            move |request: Request<()>| -> Result<Request<()>, Status> {
                auth.check(request.metadata()).map_err(Error::from)?;
                Ok(request)
            },
        );

        let callback_auth = self.callback_auth.clone();
        let callbacks = ProductProviderServiceServer::with_interceptor(
            CallbacksApi::new(self.pool.clone()),
            move |request: Request<()>| -> Result<Request<()>, Status> {
                callback_auth
                    .check(request.metadata())
                    .map_err(Error::from)?;
                Ok(request)
            },
        );

        // Register with orders in the background: our own start never waits for it.
        let registration = tokio::spawn(register_with_orders(self.scheduler.clone()));

        let pool = self.pool.clone();
        let _collector = cinema_runtime::metrics::register_collector(Arc::new(move || {
            cinema_runtime::metrics::record_pool(SERVICE, &pool);
            Box::pin(async {})
        }));
        let metrics = self.metrics.map(|m| m.spawn());

        tracing::info!(addr = %self.addr, "movies service listening");
        let shutdown = async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight calls");
            health.shutting_down().await;
        };
        cinema_runtime::server_builder(SERVICE)
            .add_routes(standard)
            .add_service(MoviesServiceServer::new(PublicApi::new(self.pool.clone())))
            .add_service(admin)
            .add_service(callbacks)
            .serve_with_incoming_shutdown(cinema_runtime::incoming(self.listener), shutdown)
            .await
            .context("gRPC server failed")?;
        registration.abort();
        if let Some(metrics) = metrics {
            metrics.stop().await;
        }
        self.pool.close().await;
        tracing::info!("movies service stopped");
        Ok(())
    }
}

/// The `service` label of this service's metrics.
const SERVICE: &str = "movies";

/// Registers this service as a product provider with orders, retrying with backoff
/// until orders answers, so callbacks reach us even before the first CreateShowtime.
async fn register_with_orders(scheduler: Arc<Scheduler>) {
    use backon::{ExponentialBuilder, Retryable};
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(30))
        .with_jitter()
        .without_max_times();
    let result = (|| async { scheduler.orders().provider_id().await.map(|_| ()) })
        .retry(backoff)
        .notify(|error, delay| {
            tracing::warn!(%error, ?delay, "cannot register with the orders service yet; retrying");
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "gave up registering with the orders service");
    }
}
