//! Building and running the service on the kit's `Foundation`. `Application::build`
//! connects, migrates and binds, so callers (main, tests, the local launcher) learn the
//! bound address before serving starts; `run_until_stopped` serves until `shutdown`
//! resolves. `cinema_service::service!` makes it the kit's `Service`, whose
//! `service::main` is the binary.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cinema_proto::orders::v1::orders_admin_service_server::OrdersAdminServiceServer;
use cinema_proto::orders::v1::orders_service_server::OrdersServiceServer;
use cinema_service::service::Foundation;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::checkout::Checkout;
use crate::config::Settings;
use crate::dispatcher::Dispatcher;
use crate::domain::HoldTtl;
use crate::grpc::{AdminApi, OrdersApi};
use crate::payments::{Metered, PaymentProcessor, SimulatedProcessor};
use crate::store;

#[derive(Debug)]
pub struct Application {
    foundation: Foundation,
    api: OrdersApi,
    admin_api: AdminApi,
    /// Delivers the outbox; its loop runs in this process only when configured to.
    dispatcher: Arc<Dispatcher>,
    run_dispatcher: bool,
    checkout: Checkout,
    hold_sweep: Duration,
}

cinema_service::service!(Application {
    settings: Settings,
    binary: "orders-service",
    about: "The Cinema orders service (gRPC)",
    health_service: "cinema.orders.v1.OrdersService",
    name: SERVICE,
    migrator: store::MIGRATOR,
});

impl Application {
    /// Builds the service with the simulated payment processor.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let latency = Duration::from_millis(settings.checkout.payment_latency_ms);
        Self::build_with(settings, Arc::new(SimulatedProcessor::new(latency))).await
    }

    pub async fn build_with(
        settings: Settings,
        processor: Arc<dyn PaymentProcessor>,
    ) -> anyhow::Result<Self> {
        let admin_token = settings.admin_token.clone().context(
            "ORDERS_ADMIN_TOKEN (or --admin-token) is required: it guards AddProduct and RegisterProvider",
        )?;
        let callback_token = settings.callback_token.clone().context(
            "ORDERS_CALLBACK_TOKEN (or --callback-token) is required: providers accept callbacks only with it",
        )?;
        let foundation = Foundation::of::<Self>(&settings).await?;
        let pool = foundation.pool().clone();
        // Every call to the processor counted and timed, whichever processor it is.
        let processor: Arc<dyn PaymentProcessor> = Arc::new(Metered(processor));
        let sms = match settings.sms.to_config()? {
            Some(config) => Some(config.build().context("invalid SMS configuration")?),
            None => {
                tracing::warn!("no SMS gateway configured: customers will not be texted");
                None
            }
        };
        let checkout = Checkout::new(
            pool.clone(),
            processor.clone(),
            sms.is_some(),
            HoldTtl::from_config(settings.checkout.checkout_hold_secs),
            Duration::from_millis(settings.checkout.payment_timeout_ms),
        );
        let admin = cinema_service::BearerAuth::new(admin_token);
        let api = OrdersApi::new(pool.clone(), checkout.clone(), admin.clone());
        let admin_api = AdminApi::new(pool.clone(), admin);
        let dispatcher = Arc::new(Dispatcher::new(
            pool.clone(),
            settings.dispatch.clone(),
            callback_token,
            sms,
            processor,
        ));
        Ok(Self {
            foundation,
            api,
            admin_api,
            dispatcher,
            run_dispatcher: settings.dispatcher,
            checkout,
            hold_sweep: Duration::from_millis(settings.checkout.hold_sweep_ms.max(10)),
        })
    }

    /// The checkout flow, for tests that drain expired holds deterministically
    /// ([`Checkout::expire_due`]) instead of waiting for the sweeper.
    pub fn checkout(&self) -> Checkout {
        self.checkout.clone()
    }

    /// The outbox dispatcher, for tests that deliver the outbox deterministically
    /// ([`Dispatcher::deliver_due`]) with the background loop turned off.
    pub fn dispatcher(&self) -> Arc<Dispatcher> {
        self.dispatcher.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting calls, lets in-flight
    /// calls finish, and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let pool = self.foundation.pool().clone();
        let stop_background = CancellationToken::new();
        let dispatcher = self
            .run_dispatcher
            .then(|| tokio::spawn(self.dispatcher.run(stop_background.clone())));
        let sweeper = tokio::spawn(sweep_holds(
            self.checkout.clone(),
            self.hold_sweep,
            stop_background.clone(),
        ));
        let (api, admin_api) = (self.api, self.admin_api);
        self.foundation
            .serve(
                vec![
                    <OrdersServiceServer<OrdersApi> as tonic::server::NamedService>::NAME,
                    <OrdersAdminServiceServer<AdminApi> as tonic::server::NamedService>::NAME,
                ],
                |routes| {
                    routes
                        .add_service(OrdersServiceServer::new(api))
                        .add_service(OrdersAdminServiceServer::new(admin_api))
                },
                collector(pool.clone()),
                shutdown,
            )
            .await?;
        // Calls have drained; let the dispatcher finish the delivery it is making.
        stop_background.cancel();
        if let Some(dispatcher) = dispatcher {
            let _ = dispatcher.await;
        }
        let _ = sweeper.await;
        pool.close().await;
        tracing::info!("orders service stopped");
        Ok(())
    }
}

/// The `service` label of this service's metrics.
const SERVICE: &str = "orders";

/// Refreshes, at each scrape, the gauges read from the database: pool use, outbox
/// messages by kind and status, active holds.
fn collector(pool: PgPool) -> cinema_service::metrics::Collector {
    Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move {
            cinema_service::metrics::record_pool(SERVICE, &pool);
            if pool.is_closed() {
                return;
            }
            match store::outbox::depth(&pool).await {
                Ok(rows) => {
                    for (kind, status, count) in rows {
                        metrics::gauge!("cinema_outbox_messages", "kind" => kind, "status" => status)
                            .set(count as f64);
                    }
                }
                Err(error) => tracing::debug!(%error, "cannot read the outbox depth"),
            }
            match store::active_holds(&pool).await {
                Ok(count) => metrics::gauge!("cinema_holds_active").set(count as f64),
                Err(error) => tracing::debug!(%error, "cannot count active holds"),
            }
        })
    })
}

/// Returns expired holds to sale and voids orphaned authorizations, every `every`, in
/// every replica: rows are claimed with `SKIP LOCKED`, so replicas share the work.
async fn sweep_holds(checkout: Checkout, every: Duration, stop: CancellationToken) {
    // First sweep one period after start, like every later one.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = checkout.expire_due().await {
            tracing::warn!(%error, "expiring holds failed; will retry");
        }
        if let Err(error) = checkout.void_orphans().await {
            tracing::warn!(%error, "voiding orphaned authorizations failed; will retry");
        }
    }
}
