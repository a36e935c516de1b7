//! The service kit: what every Cinema service does the same way, so that a service
//! crate holds only its own domain, store, gRPC and flows, and a third service would be
//! a small crate.
//!
//! # Layout
//!
//! - [`service`](mod@service): the binary (`service::main`, the same subcommands everywhere), the
//!   shared settings (`DatabaseSettings`, `ServingSettings`, flattened into each
//!   service's own), and `Foundation`: connect, migrate, bind, serve health +
//!   reflection + tracing + metrics, drain on shutdown.
//! - [`error`]: the one error type and its mapping to gRPC statuses with `google.rpc`
//!   details (the table itself is the contract's, `cinema_proto::error`).
//! - [`domain`]: the types both services mean the same way: request id, ZIP code, US
//!   state, E.164 phone.
//! - [`zips`]: the ZIP code reference data each service loads into its own database.
//! - [`health`], [`metrics`], [`telemetry`]: health that follows the database,
//!   Prometheus metrics, logs and traces.
//! - here: the shutdown signal, secret values, the bearer-token check.

pub mod domain;
pub mod error;
pub mod health;
pub mod idempotency;
pub mod metrics;
pub mod service;
pub mod telemetry;
pub mod text;
pub mod zips;

pub use health::HealthGuard;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
pub use zips::ZipCodeRecord;

/// Log output format, chosen with `LOG_FORMAT` / `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The subcommands of every service binary.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ServiceCommand {
    /// Serve gRPC (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Load ZIP code reference data into this service's database (rows already there
    /// are kept) and exit.
    LoadZips(zips::LoadZipsArgs),
    /// Exit 0 if the service listening on the configured address is serving (for
    /// container healthchecks).
    Healthcheck,
}

/// Installs logging and tracing for a service, once per process (see [`telemetry`]).
/// Keep the returned guard until the process ends: dropping it flushes exported spans.
pub fn init_telemetry(
    format: LogFormat,
    service: &'static str,
) -> Result<telemetry::Telemetry, telemetry::TelemetryError> {
    telemetry::init(format, service)
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: call it before announcing readiness, or a SIGTERM
/// sent right after the announcement finds no handler and kills the process outright.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                // No signal driver (not expected on Unix): Ctrl-C still works.
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A clap value parser for secrets: refuses empty values, and wraps the rest so that
/// printing the configuration never prints them.
pub fn parse_secret(raw: &str) -> Result<SecretString, String> {
    if raw.trim().is_empty() {
        return Err("must not be empty".into());
    }
    Ok(SecretString::from(raw.to_owned()))
}

/// Why a bearer-token check failed; each service maps it to UNAUTHENTICATED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError(pub &'static str);

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for AuthError {}

/// Checks `authorization: Bearer <token>` against one expected token.
#[derive(Debug, Clone)]
pub struct BearerAuth {
    token: SecretString,
}

impl BearerAuth {
    pub fn new(token: SecretString) -> Self {
        Self { token }
    }

    pub fn check(&self, metadata: &tonic::metadata::MetadataMap) -> Result<(), AuthError> {
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            // Constant-time comparison: response timing must not reveal the token.
            Some(token)
                if bool::from(
                    token
                        .as_bytes()
                        .ct_eq(self.token.expose_secret().as_bytes()),
                ) =>
            {
                Ok(())
            }
            Some(_) => Err(AuthError("the credential is not valid")),
            None => Err(AuthError(
                "this call needs a credential: send `authorization: Bearer <token>`",
            )),
        }
    }

    /// The `authorization` header value that passes this check, for clients.
    pub fn header_value(token: &SecretString) -> Option<tonic::metadata::AsciiMetadataValue> {
        format!("Bearer {}", token.expose_secret()).parse().ok()
    }
}

/// Asks the gRPC health service at `listen_addr` (an unspecified IP means this host)
/// whether `service` is serving: what a container healthcheck runs, so images need no
/// extra tool. Fails if it does not answer SERVING within three seconds.
pub async fn check_grpc_health(
    listen_addr: std::net::SocketAddr,
    service: &str,
) -> Result<(), String> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let mut addr = listen_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let check = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map_err(|e| format!("health check failed: {e}"))?
            .into_inner()
            .status();
        if status == ServingStatus::Serving {
            Ok(())
        } else {
            Err(format!("{service} is {status:?}"))
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(3), check)
        .await
        .map_err(|_| format!("no answer from {addr} within 3 s"))?
}

/// How long a call waits for a database connection before it answers UNAVAILABLE.
/// Well under `cinema-client`'s default deadline (10 s) and under the 5 s deadlines
/// front-ends commonly set, so a database that is down reaches the caller as
/// UNAVAILABLE, which it retries, rather than as DEADLINE_EXCEEDED.
pub const DATABASE_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens a service's connection pool (see [`DATABASE_ACQUIRE_TIMEOUT`]).
///
/// Connections are not pinged before each acquire (sqlx's default): sqlx already pings
/// each one as it goes back to the pool and drops it if that fails, so a connection
/// that broke under a call never serves another; one that breaks while idle (the
/// database restarted) fails its next call with UNAVAILABLE, which clients retry. The
/// second ping was a round trip more for every acquire: a fifth of a checkout's.
pub async fn connect_database(
    url: &SecretString,
    max_connections: u32,
) -> Result<sqlx::PgPool, sqlx::Error> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(DATABASE_ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .connect(url.expose_secret())
        .await
}

/// The connections a server accepts on `listener`, with `TCP_NODELAY` set: without it
/// a response larger than one segment waits for the client's delayed ACK (~40 ms per
/// call on Linux), which made GetShowtimes 15 times slower than the database.
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// How long a client's connection lives before the server asks it to reconnect
/// (HTTP/2 GOAWAY, after which calls in flight finish and new ones go on a new
/// connection). gRPC connections are long-lived and a Kubernetes Service balances
/// connections, not calls: without an age limit, clients stay pinned to the replicas
/// that were up when they connected, and new replicas get no traffic.
pub const MAX_CONNECTION_AGE: std::time::Duration = std::time::Duration::from_secs(300);
/// How long calls still running on an aged connection may take before it is closed.
pub const MAX_CONNECTION_AGE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// The gRPC server every Cinema service runs: its calls traced (continuing the
/// caller's trace) and counted in the metrics under `service`, and its connections
/// aged out (see [`MAX_CONNECTION_AGE`]) so clients spread over replicas.
pub fn server_builder(
    service: &'static str,
) -> tonic::transport::Server<
    tower::layer::util::Stack<metrics::GrpcMetricsLayer, tower::layer::util::Identity>,
> {
    tonic::transport::Server::builder()
        .max_connection_age(MAX_CONNECTION_AGE)
        .max_connection_age_grace(MAX_CONNECTION_AGE_GRACE)
        .trace_fn(telemetry::grpc_request_span)
        .layer(metrics::GrpcMetricsLayer { service })
}

const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// What every Cinema server serves besides its own services: gRPC health (NOT_SERVING
/// until the database answers, then following it; see [`health`]) and
/// reflection (v1 and v1alpha). Reflection lists exactly the services this server
/// serves (`services`, health and reflection itself), though it can describe every
/// message of `descriptor_set`: a client must not discover rpcs that this port would
/// answer with UNIMPLEMENTED.
pub async fn standard_routes(
    pool: sqlx::PgPool,
    services: Vec<&'static str>,
    descriptor_set: &'static [u8],
    intervals: health::Intervals,
) -> Result<(tonic::service::Routes, HealthGuard), tonic_reflection::server::Error> {
    let reporter = tonic_health::server::HealthReporter::new();
    let guard = HealthGuard::start(&pool, reporter.clone(), services.clone(), intervals).await;
    let reflection = |reflection_service: &str| {
        let builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH_SERVICE)
            .with_service_name(reflection_service);
        services.iter().fold(builder, |builder, service| {
            builder.with_service_name(*service)
        })
    };
    let routes = tonic::service::Routes::new(tonic_health::pb::health_server::HealthServer::new(
        tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
    ))
    .add_service(reflection("grpc.reflection.v1.ServerReflection").build_v1()?)
    .add_service(reflection("grpc.reflection.v1alpha.ServerReflection").build_v1alpha()?);
    Ok((routes, guard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let auth = BearerAuth::new(SecretString::from("s3cret".to_owned()));
        let with = |value: &str| {
            let mut md = tonic::metadata::MetadataMap::new();
            md.insert("authorization", value.parse().expect("ascii"));
            md
        };
        assert!(auth.check(&with("Bearer s3cret")).is_ok());
        assert!(auth.check(&with("Bearer s3cre")).is_err());
        assert!(auth.check(&with("s3cret")).is_err());
        assert!(auth.check(&tonic::metadata::MetadataMap::new()).is_err());
    }
}
