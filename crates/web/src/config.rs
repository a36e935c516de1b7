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
    /// The address moviegoers reach the site at (`https://tickets.example.com`), for
    /// what must name it in full: the site map, and robots.txt's pointer to it. Unset:
    /// `http://` and the address listened on (`localhost` for every interface).
    #[arg(long, env = "WEB_PUBLIC_URL", value_parser = Origin::parse)]
    pub public_url: Option<Origin>,
    /// Mark cookies `Secure` (set it when the site is served over HTTPS).
    #[arg(long, env = "WEB_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub secure_cookies: bool,
    /// Serve Prometheus metrics on `http://<addr>/metrics` (off unless set), as the
    /// services do.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How long the seats left on listed showtimes, each theatre's sold-out showings
    /// and the theatres near each ZIP code a movie's page looks at for them are kept
    /// before the orders and movies services are asked again, in milliseconds (0:
    /// every page asks).
    #[arg(long, env = "WEB_SEATS_LEFT_CACHE_MS", default_value_t = 1000)]
    pub seats_left_cache_ms: u64,
    /// How often one client may hold seats or try to pay.
    #[command(flatten)]
    pub limits: LimitSettings,
}

/// Where a site is reached: an http(s) scheme and host (and port), nothing else;
/// written without a trailing slash, so that paths are appended to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let wanted = || "an http or https address with no path, like https://tickets.example.com";
        let url = url::Url::parse(raw.trim()).map_err(|e| format!("{}: {e}", wanted()))?;
        let bare = url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none()
            && url.username().is_empty()
            && url.password().is_none();
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
            return Err(wanted().to_owned());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// Where the site is reached when no public address is set: where it listens.
    pub fn listening(addr: SocketAddr) -> Self {
        let host = match addr.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        };
        Self(format!("http://{host}:{}", addr.port()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_address_is_an_origin() {
        let origin = |raw| Origin::parse(raw).map(|o| o.to_string());
        assert_eq!(
            origin("https://tickets.example.com/").as_deref(),
            Ok("https://tickets.example.com")
        );
        assert_eq!(
            origin("HTTP://LOCALHOST:8080").as_deref(),
            Ok("http://localhost:8080")
        );
        for refused in [
            "tickets.example.com",
            "ftp://tickets.example.com",
            "https://tickets.example.com/cinema",
            "https://tickets.example.com/?a=1",
            "https://user:secret@tickets.example.com",
        ] {
            assert!(origin(refused).is_err(), "{refused}");
        }
        let at = |a: &str| Origin::listening(a.parse().expect("address")).to_string();
        assert_eq!(at("0.0.0.0:8080"), "http://localhost:8080");
        assert_eq!(at("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(at("[::1]:8080"), "http://[::1]:8080");
    }
}
