//! The moviegoer's website: the pages the chapter builds its services for, rendered on
//! the server, working without JavaScript, talking to the services only through
//! `cinema-client` and its façades.
//!
//! # Layout
//!
//! - [`routes`]: one handler per page; each calls the client and fills a template.
//! - [`views`]: what templates print (local times by day, the day a page shows, money,
//!   ratings).
//! - [`seats`]: the seats left on listed showtimes, kept for a moment.
//! - [`structured`]: the showtimes a page lists as schema.org events (JSON-LD).
//! - [`assets`]: the style sheet, script and icon, linked by a fingerprint of their
//!   content.
//! - [`qr`]: an order's confirmation code as a QR code, for a box office's scanner.
//! - [`your_orders`]: the orders this browser has shown, for the home page.
//! - [`csrf`]: double-submit tokens for every POST.
//! - [`limit`]: how often one client may hold seats or try to pay.
//! - [`error`]: service errors as pages with the right status.
//! - `templates/`: askama templates, checked at compile time; `static/`: the style
//!   sheet and the few lines of script behind the checkout countdown, compiled in.

pub mod assets;
pub mod calendar;
pub mod config;
pub mod csrf;
pub mod current_hold;
pub mod error;
pub mod limit;
pub mod qr;
pub mod routes;
pub mod seats;
pub mod structured;
pub mod views;
pub mod your_orders;

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::routing::{get, post};
use cinema_client::{Cinema, ClientConfig};
use cinema_service::metrics::MetricsListener;
use tokio::net::TcpListener;

pub use config::{LimitSettings, Origin, Settings};
use routes::AppState;

/// The site, bound to its address and ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    metrics: Option<MetricsListener>,
}

/// A strict policy: only this site's own style sheet and script, no inline code, no
/// framing, forms only to this site.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Pages carry one visitor's form tokens, holds and orders (a card's last four
    // digits): no cache may keep them, nor hand one visitor's form to another. Only the
    // static assets say otherwise.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Counts every request and times it by route (the pattern: `/movies/{id}` is one
/// series however many movies there are; `unmatched` for the 404 fallback), method
/// and status: the site's side of the services' `grpc_server_*` series.
async fn record_metrics(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let labels = [
        ("service", "web".to_owned()),
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_server_requests_total", &labels).increment(1);
    metrics::histogram!("http_server_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The routes, over any client (tests pass one to an in-process stack), for the site
/// at `origin` (`https://tickets.example.com`).
pub fn router(cinema: Cinema, settings: &Settings, origin: Origin) -> Router {
    let kept = std::time::Duration::from_millis(settings.seats_left_cache_ms);
    let state = AppState {
        cinema,
        origin,
        secure_cookies: settings.secure_cookies,
        limiter: limit::Limiter::new(&settings.limits),
        seats: seats::SeatsCache::new(kept),
        sold_out: seats::SoldOutCache::new(kept),
    };
    Router::new()
        .route("/", get(routes::home))
        .route("/movies/{id}", get(routes::movie))
        .route("/theatres/{id}", get(routes::theatre))
        .route("/showtimes/{id}", get(routes::showtime))
        .route("/showtimes/{id}/hold", post(routes::hold))
        .route("/checkout/{hold}", get(routes::checkout).post(routes::pay))
        .route("/checkout/{hold}/release", post(routes::release))
        .route("/orders", get(routes::lookup))
        .route("/orders/forget", post(routes::forget))
        .route("/orders/{confirmation}", get(routes::order))
        .route(
            "/orders/{confirmation}/cancel",
            get(routes::confirm_cancel).post(routes::cancel),
        )
        .route(
            "/orders/{confirmation}/calendar.ics",
            get(routes::order_calendar),
        )
        .route("/healthz", get(routes::healthz))
        .route(
            assets::STYLE.path(),
            get(|version| async { assets::STYLE.serve(version) }),
        )
        .route(
            assets::SCRIPT.path(),
            get(|version| async { assets::SCRIPT.serve(version) }),
        )
        .route(
            assets::ICON.path(),
            get(|version| async { assets::ICON.serve(version) }),
        )
        // Pages name their icon; what asks for the conventional address gets it too,
        // rather than a page-sized 404. Temporarily: the icon's address changes with
        // its version, and a permanent redirect is kept by browsers for good.
        .route(
            "/favicon.ico",
            get(|| async { Redirect::temporary(&assets::ICON.href()) }),
        )
        .route("/robots.txt", get(routes::robots))
        .route("/sitemap.xml", get(routes::sitemap))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn(record_metrics))
        .layer(axum::middleware::from_fn(security_headers))
        // For clients that ask (every browser): pages, the stylesheet and the script.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::http::Request<axum::body::Body>| {
                    cinema_service::telemetry::http_request_span(request)
                },
            ),
        )
        .with_state(state)
}

impl Application {
    /// Binds the listener and prepares the client (which dials lazily, so the site
    /// starts even while a service is still starting).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let mut config = ClientConfig::new(
            settings.movies_endpoint.clone(),
            settings.orders_endpoint.clone(),
        );
        // Every call carries the page request's trace on to the services.
        config.call_metadata = Some(cinema_service::telemetry::inject_trace_context);
        let cinema = Cinema::connect(config).context("invalid service endpoints")?;
        let listener = TcpListener::bind(settings.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen_addr))?;
        let addr = listener.local_addr()?;
        let metrics = cinema_service::metrics::bind_optional(settings.metrics_addr).await?;
        Ok(Self {
            listener,
            addr,
            router: router(
                cinema,
                &settings,
                settings
                    .public_url
                    .clone()
                    .unwrap_or_else(|| Origin::listening(addr)),
            ),
            metrics,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsListener::local_addr)
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "web front-end listening");
        let metrics = self.metrics.map(MetricsListener::spawn);
        // Each request's connection address: what the attempts limit counts by.
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the web server failed");
        if let Some(metrics) = metrics {
            metrics.stop().await;
        }
        served?;
        tracing::info!("web front-end stopped");
        Ok(())
    }
}
