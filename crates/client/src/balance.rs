//! One service, several servers: how a client spreads its calls over replicas.
//!
//! gRPC keeps one long-lived HTTP/2 connection per server, so a Kubernetes `Service`
//! (which balances *connections*) pins a client to one replica. Two remedies work
//! together here: the servers age connections out (`cinema_service::MAX_CONNECTION_AGE`),
//! so even a single-address client is moved around over time; and a client given
//! several servers balances every call over all of them:
//!
//! - `http://host:port`: one address (a Kubernetes Service, a load balancer, or one
//!   server);
//! - `http://a:50052,http://b:50052`: a fixed list, balanced per call;
//! - `dns:///host:port`: every address `host` resolves to (a headless Service lists
//!   one per ready pod), looked up again every [`REFRESH`], so replicas that come and
//!   go join and leave the balance.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint};

/// How often a `dns:///` target is looked up again.
pub const REFRESH: Duration = Duration::from_secs(10);

/// Where a client sends one service's calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    One(String),
    List(Vec<String>),
    /// `dns:///host:port`: resolved to plain-HTTP endpoints, re-resolved periodically.
    Dns {
        host: String,
        port: u16,
    },
}

impl Target {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let spec = spec.trim();
        if let Some(rest) = spec.strip_prefix("dns:///") {
            let (host, port) = rest
                .rsplit_once(':')
                .ok_or_else(|| format!("{spec:?}: say the port (dns:///host:port)"))?;
            let port = port
                .parse()
                .map_err(|_| format!("{spec:?}: {port:?} is not a port"))?;
            if host.is_empty() {
                return Err(format!("{spec:?}: no host"));
            }
            return Ok(Self::Dns {
                host: host.to_owned(),
                port,
            });
        }
        let list: Vec<String> = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        match list.len() {
            0 => Err("no endpoint given".into()),
            1 => Ok(Self::One(list.into_iter().next().unwrap_or_default())),
            _ => Ok(Self::List(list)),
        }
    }
}

/// A channel to `spec` (see the module doc), with `configure` applied to each
/// endpoint (timeouts, TLS). Nothing is dialled yet: a server that is down now is
/// tried on each call. A `dns:///` target needs a tokio runtime (its resolver runs
/// there, until the channel is dropped).
pub fn channel(
    spec: &str,
    configure: impl Fn(Endpoint) -> Result<Endpoint, String> + Send + Sync + 'static,
) -> Result<Channel, String> {
    let configure = std::sync::Arc::new(configure);
    let endpoint = move |uri: &str| {
        Endpoint::from_shared(uri.to_owned())
            .map_err(|e| format!("endpoint {uri:?}: {e}"))
            .and_then(|e| configure(e))
    };
    match Target::parse(spec)? {
        Target::One(uri) => Ok(endpoint(&uri)?.connect_lazy()),
        Target::List(uris) => {
            let endpoints = uris
                .iter()
                .map(|u| endpoint(u))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Channel::balance_list(endpoints.into_iter()))
        }
        Target::Dns { host, port } => {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| format!("{spec:?}: dns:/// endpoints need a tokio runtime"))?;
            // Checked now, so a bad configuration fails here and not in the resolver.
            endpoint(&format!("http://{host}:{port}"))?;
            let (channel, changes) = Channel::balance_channel::<SocketAddr>(64);
            let make = move |addr: SocketAddr| endpoint(&format!("http://{addr}"));
            // `make` outlives this call: it runs in the resolver task.
            runtime.spawn(resolve(host, port, make, changes));
            Ok(channel)
        }
    }
}

/// Keeps the balance in step with what `host` resolves to.
async fn resolve(
    host: String,
    port: u16,
    endpoint: impl Fn(SocketAddr) -> Result<Endpoint, String> + Send + 'static,
    changes: tokio::sync::mpsc::Sender<Change<SocketAddr, Endpoint>>,
) {
    let mut current: HashSet<SocketAddr> = HashSet::new();
    loop {
        match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(found) => {
                let found: HashSet<SocketAddr> = found.collect();
                for gone in current.difference(&found) {
                    if changes.send(Change::Remove(*gone)).await.is_err() {
                        return;
                    }
                }
                for new in found.difference(&current) {
                    let Ok(endpoint) = endpoint(*new) else {
                        continue;
                    };
                    if changes.send(Change::Insert(*new, endpoint)).await.is_err() {
                        return;
                    }
                }
                current = found;
            }
            // Keep the servers we know: a lookup failing is not the servers failing.
            Err(error) => {
                tracing::warn!(%host, %error, "cannot resolve; keeping the known servers")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH) => {}
            () = changes.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::health_server::HealthServer;
    use tonic_health::server::HealthService;

    use super::*;

    #[test]
    fn targets_are_one_address_a_list_or_a_name_to_resolve() {
        assert_eq!(
            Target::parse("http://orders:50052"),
            Ok(Target::One("http://orders:50052".into()))
        );
        assert_eq!(
            Target::parse("http://a:1, http://b:1"),
            Ok(Target::List(vec!["http://a:1".into(), "http://b:1".into()]))
        );
        assert_eq!(
            Target::parse("dns:///orders-headless.cinema.svc:50052"),
            Ok(Target::Dns {
                host: "orders-headless.cinema.svc".into(),
                port: 50052
            })
        );
        assert!(Target::parse("dns:///orders").is_err());
        assert!(Target::parse("dns:///orders:http").is_err());
        assert!(Target::parse(" , ").is_err());
    }

    /// A health server on 127.0.0.1 counting the calls it answers.
    async fn counting_server() -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let reporter = tonic_health::server::HealthReporter::new();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let service = HealthServer::with_interceptor(
            HealthService::from_health_reporter(reporter),
            move |request: tonic::Request<()>| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(request)
            },
        );
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (port, calls)
    }

    async fn call_many(channel: Channel, n: usize) {
        let mut client = HealthClient::new(channel);
        for _ in 0..n {
            client
                .check(HealthCheckRequest::default())
                .await
                .expect("a server answers");
        }
    }

    #[tokio::test]
    async fn a_list_spreads_calls_over_every_server() {
        let (a, a_calls) = counting_server().await;
        let (b, b_calls) = counting_server().await;
        let list = format!("http://127.0.0.1:{a},http://127.0.0.1:{b}");
        call_many(channel(&list, Ok).expect("channel"), 40).await;
        let (a_calls, b_calls) = (
            a_calls.load(Ordering::SeqCst),
            b_calls.load(Ordering::SeqCst),
        );
        assert_eq!(a_calls + b_calls, 40);
        // Balanced per call (power of two choices): each gets a share, not all or none.
        assert!(a_calls > 0 && b_calls > 0, "{a_calls} / {b_calls}");
    }

    #[tokio::test]
    async fn a_dns_target_reaches_the_servers_its_name_resolves_to() {
        let (port, calls) = counting_server().await;
        call_many(
            channel(&format!("dns:///localhost:{port}"), Ok).expect("channel"),
            5,
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn a_dns_target_outside_a_runtime_is_refused_clearly() {
        let error = channel("dns:///localhost:1", Ok).expect_err("no runtime");
        assert!(error.contains("tokio runtime"), "{error}");
    }
}
