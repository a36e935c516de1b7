//! Prometheus metrics: a small HTTP listener beside gRPC (`METRICS_ADDR`, off unless
//! set) serving `/metrics` in the Prometheus text format, rendered by
//! `metrics-exporter-prometheus` from what the `metrics` macros recorded.
//!
//! Every server records, per rpc and status code, a request counter and a latency
//! histogram ([`GrpcMetricsLayer`]); gauges that are read from the database (pool
//! usage, outbox depth, active holds) are refreshed by the services' collectors
//! ([`register_collector`]) each time the endpoint is scraped, so they cost nothing
//! between scrapes.
//!
//! The recorder is process-wide (the `metrics` facade has one): a process serving
//! several services (`cinema-dev up`) serves them all on one endpoint, told apart by the
//! `service` label.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Latency buckets (seconds) of every `*_duration_seconds` histogram (gRPC calls, the
/// website's pages, the payment processor's calls): sub-millisecond reads to
/// multi-second checkouts waiting on a payment processor.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .expect("the bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed in this process")
        })
        .clone()
}

/// Refreshes the gauges read at scrape time.
pub type Collector =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static>;

/// The collectors of the services running in this process, run before each scrape by
/// whichever listener serves it.
static COLLECTORS: Mutex<Vec<(u64, Collector)>> = Mutex::new(Vec::new());

/// Keeps a collector registered; dropping it (when its service stops) removes it.
#[derive(Debug)]
#[must_use = "the collector is removed when this is dropped"]
pub struct CollectorGuard(u64);

impl Drop for CollectorGuard {
    fn drop(&mut self) {
        let mut collectors = COLLECTORS.lock().unwrap_or_else(|p| p.into_inner());
        collectors.retain(|(id, _)| *id != self.0);
    }
}

/// Registers a collector for as long as the guard lives.
pub fn register_collector(collector: Collector) -> CollectorGuard {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut collectors = COLLECTORS.lock().unwrap_or_else(|p| p.into_inner());
    collectors.push((id, collector));
    CollectorGuard(id)
}

/// Runs every registered collector, then renders the text format.
pub async fn render() -> String {
    let collectors: Vec<Collector> = {
        let collectors = COLLECTORS.lock().unwrap_or_else(|p| p.into_inner());
        collectors.iter().map(|(_, c)| c.clone()).collect()
    };
    futures::future::join_all(collectors.iter().map(|c| c())).await;
    handle().render()
}

/// Records the pool's size and use under `service`.
pub fn record_pool(service: &'static str, pool: &sqlx::PgPool) {
    if pool.is_closed() {
        return;
    }
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle").set(idle);
    metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use")
        .set((size - idle).max(0.0));
    metrics::gauge!("db_pool_max_connections", "service" => service)
        .set(f64::from(pool.options().get_max_connections()));
}

/// A bound `/metrics` listener, not yet serving.
#[derive(Debug)]
pub struct MetricsListener {
    listener: TcpListener,
    addr: SocketAddr,
}

impl MetricsListener {
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        // Install the recorder before anything is recorded.
        handle();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Self { listener, addr })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `/metrics` in the background until the returned task is stopped.
    pub fn spawn(self) -> MetricsTask {
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let task =
            tokio::spawn(async move { self.serve(async move { token.cancelled().await }).await });
        MetricsTask { stop, task }
    }

    /// Serves `/metrics` until `shutdown` resolves.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(|| async {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    render().await,
                )
            }),
        );
        tracing::info!(addr = %self.addr, "metrics listening on /metrics");
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// A `/metrics` listener serving in the background.
#[derive(Debug)]
pub struct MetricsTask {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl MetricsTask {
    /// Stops serving (the last scrape in progress finishes first).
    pub async fn stop(self) {
        self.stop.cancel();
        if let Ok(Err(error)) = self.task.await {
            tracing::warn!(%error, "the metrics listener failed");
        }
    }
}

/// Binds `addr` when it is set: the `METRICS_ADDR` setting of every service.
pub async fn bind_optional(addr: Option<SocketAddr>) -> anyhow::Result<Option<MetricsListener>> {
    use anyhow::Context;
    match addr {
        Some(addr) => Ok(Some(MetricsListener::bind(addr).await.with_context(
            || format!("cannot serve metrics on {addr} (METRICS_ADDR)"),
        )?)),
        None => Ok(None),
    }
}

/// A tower layer for tonic servers: counts every call and times it, labelled by
/// service, rpc and gRPC status code.
#[derive(Debug, Clone, Copy)]
pub struct GrpcMetricsLayer {
    /// The `service` label: which Cinema service this server is.
    pub service: &'static str,
}

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics {
            inner,
            service: self.service,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    service: &'static str,
}

impl<S, B, ResB> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // "/cinema.orders.v1.OrdersService/PlaceOrder" → ("OrdersService", "PlaceOrder").
        let path = request.uri().path();
        let (grpc_service, rpc) = path
            .trim_start_matches('/')
            .split_once('/')
            .map(|(svc, rpc)| (svc.rsplit('.').next().unwrap_or(svc), rpc))
            .unwrap_or(("unknown", "unknown"));
        let labels = [
            ("service", self.service.to_owned()),
            ("grpc_service", grpc_service.to_owned()),
            ("rpc", rpc.to_owned()),
        ];
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let code = match &result {
                // Unary errors travel "trailers-only": the status is in the headers.
                // A response without one there carries OK in its trailers.
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from),
                Err(_) => tonic::Code::Unknown,
            };
            let mut labels = labels.to_vec();
            labels.push(("code", format!("{code:?}")));
            metrics::counter!("grpc_server_requests_total", &labels).increment(1);
            metrics::histogram!("grpc_server_request_duration_seconds", &labels)
                .record(started.elapsed().as_secs_f64());
            result
        })
    }
}
