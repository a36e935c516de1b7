//! OTLP trace export, as an operator turns it on: the real `orders-service` binary
//! started with the standard OpenTelemetry variables, a fake collector on each of the
//! two protocols, and a call that arrives with a W3C trace context. And its logs, as a
//! file or a log collector receives them.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_service_client::OrdersServiceClient;
use cinema_testkit::{TestDatabase, eventually};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{ADMIN_TOKEN, CALLBACK_TOKEN, admin};

const DEADLINE: Duration = Duration::from_secs(20);
/// The caller's trace: the span the service exports must be its child.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// The service as a child process, killed if the test fails before stopping it.
struct Service(Child);

impl Service {
    fn start(database: &TestDatabase, addr: std::net::SocketAddr, otlp: &[(&str, &str)]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_orders-service"))
            .env("DATABASE_URL", database.url())
            .env("ORDERS_LISTEN_ADDR", addr.to_string())
            .env("ORDERS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ORDERS_CALLBACK_TOKEN", CALLBACK_TOKEN)
            .env("ORDERS_DISPATCHER", "false")
            // The SDK's default delay (5 s) is left alone, so the spans can only reach
            // the collector in time through the flush at shutdown.
            .env_remove("OTEL_BSP_SCHEDULE_DELAY")
            .envs(otlp.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("orders-service starts");
        Self(child)
    }

    /// SIGTERM, as an orchestrator stops a container, then wait for the exit.
    async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        eventually("the service to exit", DEADLINE, || {
            let status = self.0.try_wait().expect("wait");
            async move { status }
        })
        .await
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> std::net::SocketAddr {
    cinema_testkit::unused_local_addr()
}

/// Waits for the service to serve, then makes one admin call that continues the
/// caller's trace.
async fn call_with_trace_context(service: &mut Service, addr: std::net::SocketAddr) {
    let url = format!("http://{addr}");
    let channel = eventually("the service to serve", DEADLINE, || {
        let url = url.clone();
        let exited = service.0.try_wait().expect("wait");
        async move {
            assert!(exited.is_none(), "the service exited: {exited:?}");
            let channel = tonic::transport::Endpoint::from_shared(url)
                .ok()?
                .connect()
                .await
                .ok()?;
            let status = HealthClient::new(channel.clone())
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .ok()?
                .into_inner()
                .status();
            (status == ServingStatus::Serving).then_some(channel)
        }
    })
    .await;
    let mut request = admin(pb::AddProductRequest {
        description: "Traced seat".into(),
        quantity: 5,
        price_cents: 1000,
        ..Default::default()
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01")
            .parse()
            .expect("ascii"),
    );
    OrdersServiceClient::new(channel)
        .add_product(request)
        .await
        .expect("product added");
}

/// What the collector must have received: the service's span for the call, in the
/// caller's trace, under the caller's span, named by its resource.
fn assert_exported_the_call(exports: &[ExportTraceServiceRequest]) {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let spans: Vec<_> = exports
        .iter()
        .flat_map(|export| &export.resource_spans)
        .flat_map(|resource_spans| {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            resource_spans
                .scope_spans
                .iter()
                .flat_map(|scope| &scope.spans)
                .map(move |span| (service.clone(), span))
        })
        .collect();
    let path_of = |span: &Span| {
        span.attributes
            .iter()
            .find(|kv| kv.key == "path")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Value::StringValue(path) => Some(path.clone()),
                _ => None,
            })
    };
    assert!(
        !spans.iter().any(|(_, span)| path_of(span)
            .is_some_and(|path| path.starts_with("/grpc.health.v1.Health/"))),
        "health probes are not traced"
    );
    let call = spans
        .iter()
        .find(|(_, span)| {
            path_of(span).as_deref() == Some("/cinema.orders.v1.OrdersService/AddProduct")
        })
        .unwrap_or_else(|| panic!("no span for the AddProduct call among {spans:#?}"));
    assert_eq!(
        call.0,
        Some(Value::StringValue("orders-service".into())),
        "the resource names the service"
    );
    assert_eq!(
        hex(&call.1.trace_id),
        TRACE_ID,
        "continues the caller's trace"
    );
    assert_eq!(
        hex(&call.1.parent_span_id),
        PARENT_SPAN_ID,
        "is a child of the caller's span"
    );
}

#[tokio::test]
async fn spans_reach_an_otlp_http_collector_and_are_flushed_at_shutdown() {
    let collector = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v1/traces"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&collector)
        .await;
    let database = TestDatabase::create().await.expect("test database");
    let addr = free_addr();
    let mut service = Service::start(
        &database,
        addr,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.uri())],
    );
    call_with_trace_context(&mut service, addr).await;
    let status = service.terminate().await;
    assert!(status.success(), "clean exit on SIGTERM: {status}");

    let requests = collector.received_requests().await.expect("recording");
    assert!(!requests.is_empty(), "nothing reached the collector");
    for request in &requests {
        assert_eq!(
            request
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/x-protobuf"),
            "the default protocol is OTLP/HTTP with protobuf"
        );
        assert!(
            !String::from_utf8_lossy(&request.body).contains(ADMIN_TOKEN),
            "the admin token must never be exported"
        );
    }
    let exports: Vec<_> = requests
        .iter()
        .map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).expect("OTLP protobuf"))
        .collect();
    assert_exported_the_call(&exports);
}

/// A collector on the gRPC protocol that keeps what it is sent.
#[derive(Clone, Default)]
struct GrpcCollector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for GrpcCollector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().expect("lock").push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test]
async fn spans_reach_an_otlp_grpc_collector_when_asked() {
    let collector = GrpcCollector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let database = TestDatabase::create().await.expect("test database");
    let addr = free_addr();
    let endpoint = format!("http://{collector_addr}");
    let mut service = Service::start(
        &database,
        addr,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    call_with_trace_context(&mut service, addr).await;
    let status = service.terminate().await;
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    server.abort();

    let exports = collector.0.lock().expect("lock").clone();
    assert!(!exports.is_empty(), "nothing reached the collector");
    assert_exported_the_call(&exports);
}

#[tokio::test]
async fn an_unusable_otlp_configuration_stops_the_start_with_a_clear_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_orders-service"))
        .arg("healthcheck")
        .env("DATABASE_URL", "postgres://unused/unused")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(
            r#"OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon" is not a supported OTLP protocol"#
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn logs_written_to_a_file_or_a_collector_carry_no_colour_codes() {
    let database = TestDatabase::create().await.expect("database");
    // `migrate` logs at INFO and exits; its stdout is a pipe, as under a log collector.
    let output = Command::new(env!("CARGO_BIN_EXE_orders-service"))
        .arg("migrate")
        .env("DATABASE_URL", database.url())
        .env_remove("RUST_LOG")
        .env_remove("LOG_FORMAT")
        .env_remove("NO_COLOR")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("INFO"), "{stdout}");
    assert!(stdout.contains("migrations applied"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "escape codes in {stdout:?}");
}
