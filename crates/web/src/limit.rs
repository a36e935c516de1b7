//! How often one client may hold seats or try to pay.
//!
//! Holding takes seats off sale for ten minutes, so a script that holds again and
//! again can empty a premiere without paying for a seat, and the payment form is
//! where stolen card numbers get tried one after another. A person does either a few
//! times; each client address gets a bucket of attempts (10 unless configured) that
//! refills at one per 30 seconds, shared by holding and paying. An attempt over the
//! limit changes nothing and is answered on the same form, with `429 Too Many
//! Requests` and `Retry-After`. Each replica counts on its own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use clap::Args;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::routes::AppState;

/// The limit's settings (flags or environment variables).
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Holds and payment attempts one client address may make at once; 0 turns the
    /// limit off.
    #[arg(long, env = "WEB_ATTEMPTS_BURST", default_value_t = 10)]
    pub attempts_burst: u32,
    /// Seconds for one more attempt to come back after the burst is spent.
    #[arg(long, env = "WEB_ATTEMPTS_REFILL_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub attempts_refill_seconds: u64,
    /// Proxies in front of the site that append the address they were reached from to
    /// `X-Forwarded-For` (1 behind an ingress controller). 0 uses the connection's
    /// address and ignores the header, which anyone can write.
    #[arg(long, env = "WEB_PROXY_HOPS", default_value_t = 0)]
    pub proxy_hops: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            attempts_burst: 10,
            attempts_refill_seconds: 30,
            proxy_hops: 0,
        }
    }
}

/// The attempts of every client address seen lately.
#[derive(Debug, Clone)]
pub struct Limiter {
    buckets: Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    proxy_hops: usize,
}

/// Past this many addresses, those whose buckets have refilled are forgotten.
const REMEMBERED: usize = 10_000;

impl Limiter {
    pub fn new(settings: &LimitSettings) -> Self {
        // At least a second: the flag refuses 0, and a period of 0 has no quota.
        let refill = Duration::from_secs(settings.attempts_refill_seconds.max(1));
        let buckets = NonZeroU32::new(settings.attempts_burst).map(|burst| {
            let quota = Quota::with_period(refill)
                .expect("a refill period of at least a second")
                .allow_burst(burst);
            Arc::new(DefaultKeyedRateLimiter::keyed(quota))
        });
        Self {
            buckets,
            proxy_hops: settings.proxy_hops,
        }
    }

    /// Spends one of `client`'s attempts, or says how long until one is back.
    pub fn attempt(&self, client: Client) -> Result<(), TooSoon> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        if buckets.len() > REMEMBERED {
            buckets.retain_recent();
        }
        buckets
            .check_key(&client.0)
            .map_err(|not_until| TooSoon(not_until.wait_time_from(DefaultClock::default().now())))
    }

    /// The address a request comes from: the connection's, or with proxies in front,
    /// the one the outermost of them saw (counted from the right of
    /// `X-Forwarded-For`, as each proxy appends to it: entries to its left are
    /// whatever the client wrote).
    fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Client {
        let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip());
        if self.proxy_hops == 0 {
            return Client(peer);
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let seen = forwarded
            .len()
            .checked_sub(self.proxy_hops)
            .and_then(|i| forwarded.get(i));
        // Fewer entries than proxies: the request did not come through all of them.
        Client(seen.and_then(|a| a.parse().ok()).unwrap_or(peer))
    }
}

/// The client address a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client(pub IpAddr);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Served by `Application`, every request has its connection's address; a
        // router served without it counts every request as one client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(state.limiter.client(peer, &parts.headers))
    }
}

/// An attempt over the limit: how long until the next one is let through.
#[derive(Debug, Clone, Copy)]
pub struct TooSoon(pub Duration);

impl TooSoon {
    /// Whole seconds, rounded up: `Retry-After`'s unit.
    pub fn seconds(&self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }

    /// What the form says, after what did not happen ("Nothing was charged.").
    pub fn sentence(&self, unchanged: &str) -> String {
        let seconds = self.seconds();
        let unit = if seconds == 1 { "second" } else { "seconds" };
        format!(
            "Too many attempts from your connection in a short time. {unchanged} Please \
             try again in {seconds} {unit}."
        )
    }

    /// The answer's `Retry-After` header (its status is `429 Too Many Requests`).
    pub fn retry_after(&self) -> [(axum::http::HeaderName, String); 1] {
        [(axum::http::header::RETRY_AFTER, self.seconds().to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, proxy_hops: usize) -> Limiter {
        Limiter::new(&LimitSettings {
            attempts_burst: burst,
            attempts_refill_seconds: 3600,
            proxy_hops,
        })
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().expect("a header value"));
        headers
    }

    const PEER: &str = "10.0.0.7:41000";

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn a_client_has_its_burst_then_waits_and_others_are_not_held_back() {
        let limits = limiter(2, 0);
        let (one, two) = (Client(ip("192.0.2.1")), Client(ip("192.0.2.2")));
        assert!(limits.attempt(one).is_ok());
        assert!(limits.attempt(one).is_ok());
        let wait = limits
            .attempt(one)
            .expect_err("the third is over the limit");
        assert!((3599..=3600).contains(&wait.seconds()), "{wait:?}");
        assert!(limits.attempt(two).is_ok(), "another address has its own");
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limits = limiter(0, 0);
        let one = Client(ip("192.0.2.1"));
        assert!((0..100).all(|_| limits.attempt(one).is_ok()));
    }

    #[test]
    fn without_proxies_the_header_is_ignored() {
        let limits = limiter(1, 0);
        let peer = Some(PEER.parse().expect("addr"));
        assert_eq!(
            limits.client(peer, &forwarded("203.0.113.9")),
            Client(ip("10.0.0.7"))
        );
    }

    #[test]
    fn behind_proxies_the_address_the_outermost_saw_counts() {
        let peer = Some(PEER.parse().expect("addr"));
        // The client wrote the first entry itself; the ingress appended the second.
        let headers = forwarded("198.51.100.1, 203.0.113.9");
        assert_eq!(
            limiter(1, 1).client(peer, &headers),
            Client(ip("203.0.113.9"))
        );
        assert_eq!(
            limiter(1, 2).client(peer, &headers),
            Client(ip("198.51.100.1"))
        );
        // Not through every proxy, or nothing usable: the connection's address.
        assert_eq!(limiter(1, 3).client(peer, &headers), Client(ip("10.0.0.7")));
        assert_eq!(
            limiter(1, 1).client(peer, &forwarded("garbage")),
            Client(ip("10.0.0.7"))
        );
        assert_eq!(
            limiter(1, 1).client(peer, &HeaderMap::new()),
            Client(ip("10.0.0.7"))
        );
    }

    #[test]
    fn the_wait_is_said_in_whole_seconds_rounded_up() {
        let wait = TooSoon(Duration::from_millis(29_001));
        assert_eq!(wait.seconds(), 30);
        assert!(wait.sentence("").ends_with("try again in 30 seconds."));
        assert!(
            TooSoon(Duration::from_millis(400))
                .sentence("")
                .ends_with("in 1 second.")
        );
    }
}
