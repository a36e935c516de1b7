//! Settings from flags and environment variables (flags win).

use std::net::SocketAddr;

use clap::Args;

pub use crate::limit::LimitSettings;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to serve HTTP on. Port 0 picks a free port.
    #[arg(long, env = "WEB_LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,
    /// The movies service: `http://host:port`, a comma-separated list of them, or
    /// `dns:///host:port` to balance over every address of a name.
    #[arg(long, env = "CINEMA_MOVIES", default_value = "http://127.0.0.1:50051")]
    pub movies_endpoint: String,
    /// The orders service, spelled as for the movies service.
    #[arg(long, env = "CINEMA_ORDERS", default_value = "http://127.0.0.1:50052")]
    pub orders_endpoint: String,
    /// Mark cookies `Secure` (set it when the site is served over HTTPS).
    #[arg(long, env = "WEB_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,
    /// Serve Prometheus metrics on `http://<addr>/metrics` (off unless set), as the
    /// services do.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How long the seats left on listed showtimes are kept before the orders service
    /// is asked again, in milliseconds (0: every page asks).
    #[arg(long, env = "WEB_SEATS_LEFT_CACHE_MS", default_value_t = 1000)]
    pub seats_left_cache_ms: u64,
    /// How often one client may hold seats or try to pay.
    #[command(flatten)]
    pub limits: LimitSettings,
}
