//! Building and running the service on the kit's `Foundation`. `Application::build`
//! connects, migrates and binds, so callers (main, tests, the local launcher) learn the
//! bound address before serving starts; `run_until_stopped` serves until `shutdown`
//! resolves. `cinema_service::service!` makes it the kit's `Service`, whose
//! `service::main` is the binary.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cinema_proto::movies::v1::movies_admin_service_server::MoviesAdminServiceServer;
use cinema_proto::movies::v1::movies_service_server::MoviesServiceServer;
use cinema_proto::orders::v1::product_provider_service_server::ProductProviderServiceServer;
use cinema_service::BearerAuth;
use cinema_service::service::Foundation;
use tonic::{Request, Status};

use crate::config::Settings;
use crate::grpc::{AdminApi, CallbacksApi, PublicApi};
use crate::orders_gateway::OrdersGateway;
use crate::scheduling::Scheduler;
use crate::{Error, store};

#[derive(Debug)]
pub struct Application {
    foundation: Foundation,
    admin_auth: BearerAuth,
    /// Checks the orders service's callbacks.
    callback_auth: BearerAuth,
    scheduler: Arc<Scheduler>,
}

cinema_service::service!(Application {
    settings: Settings,
    binary: "movies-service",
    about: "The Cinema movies service (gRPC)",
    health_service: "cinema.movies.v1.MoviesService",
    name: SERVICE,
    migrator: store::MIGRATOR,
});

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
        let foundation = Foundation::of::<Self>(&settings).await?;
        let (pool, addr) = (foundation.pool().clone(), foundation.local_addr());

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
            foundation,
            admin_auth: BearerAuth::new(admin_token),
            callback_auth: BearerAuth::new(callback_token),
            scheduler,
        })
    }

    /// Serves until `shutdown` resolves, then stops accepting calls, lets in-flight
    /// calls finish, and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let pool = self.foundation.pool().clone();
        let auth = self.admin_auth.clone();
        let admin = MoviesAdminServiceServer::with_interceptor(
            AdminApi::new(pool.clone(), self.scheduler.clone()),
            move |request: Request<()>| -> Result<Request<()>, Status> {
                auth.check(request.metadata()).map_err(Error::from)?;
                Ok(request)
            },
        );

        let callback_auth = self.callback_auth.clone();
        let callbacks = ProductProviderServiceServer::with_interceptor(
            CallbacksApi::new(pool.clone()),
            move |request: Request<()>| -> Result<Request<()>, Status> {
                callback_auth
                    .check(request.metadata())
                    .map_err(Error::from)?;
                Ok(request)
            },
        );
        let public = MoviesServiceServer::new(PublicApi::new(pool.clone()));

        // Register with orders in the background: our own start never waits for it.
        let registration = tokio::spawn(register_with_orders(self.scheduler.clone()));
        let collected = pool.clone();
        let collector: cinema_service::metrics::Collector = Arc::new(move || {
            cinema_service::metrics::record_pool(SERVICE, &collected);
            Box::pin(async {})
        });
        self.foundation
            .serve(
                vec![
                    <MoviesServiceServer<PublicApi> as tonic::server::NamedService>::NAME,
                    <MoviesAdminServiceServer<AdminApi> as tonic::server::NamedService>::NAME,
                    <ProductProviderServiceServer<CallbacksApi> as tonic::server::NamedService>::NAME,
                ],
                |routes| {
                    routes
                        .add_service(public)
                        .add_service(admin)
                        .add_service(callbacks)
                },
                collector,
                shutdown,
            )
            .await?;
        registration.abort();
        pool.close().await;
        tracing::info!("movies service stopped");
        Ok(())
    }
}

/// The `service` label of this service's metrics.
const SERVICE: &str = "movies";

/// Registers this service as a product provider with orders, retrying with backoff
/// until orders answers, so callbacks reach us even before the first CreateShowtime;
/// then gives the door's rules to the products of showtimes registered before orders
/// kept them (see `Scheduler::register_missing_door_rules`), retrying the same way.
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
        return;
    }
    let result = (|| async { scheduler.register_missing_door_rules().await })
        .retry(backoff)
        // Anything but an outage (or our database's) is not cured by waiting.
        .when(Error::is_retryable)
        .notify(|error, delay| {
            tracing::warn!(%error, ?delay, "cannot register the door's rules yet; retrying");
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "gave up registering the door's rules of earlier showtimes");
    }
}
