//! Logs and traces. Every service logs through `tracing` (text or JSON) and carries a
//! W3C trace context across service hops: incoming calls continue the caller's trace
//! ([`grpc_request_span`]), outgoing calls and outbox messages carry the current one
//! ([`inject_trace_context`], [`current_traceparent`]). Every span of a call records
//! its `trace_id`, so one request's logs can be followed across services. (Exporting
//! spans to an OTLP collector is not wired yet.)

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::LogFormat;

fn tracer_provider(service: &'static str) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service)
                .build(),
        )
        .build()
}

/// Installs logging and tracing for a service, once per process. `RUST_LOG` overrides
/// the log filter.
pub fn init(format: LogFormat, service: &'static str) {
    let provider = tracer_provider(service);
    let tracer = provider.tracer(service);
    opentelemetry::global::set_tracer_provider(provider);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,h2=warn,tower=warn,hyper=warn")
    });
    let text = (format == LogFormat::Text).then(tracing_subscriber::fmt::layer);
    let json = (format == LogFormat::Json)
        .then(|| tracing_subscriber::fmt::layer().json().flatten_event(true));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init();
}

/// For tests: trace contexts work (and propagate) as in production, and logs are shown
/// only when `show_logs`.
pub fn init_for_tests(show_logs: bool) {
    let provider = tracer_provider("cinema-test");
    let tracer = provider.tracer("cinema-test");
    opentelemetry::global::set_tracer_provider(provider);
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let logs = show_logs.then(|| tracing_subscriber::fmt::layer().with_test_writer());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::registry()
        .with(logs.map(|l| l.with_filter(filter)))
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init();
}

use tracing_subscriber::Layer as _;

struct HeaderReader<'a>(&'a tonic::codegen::http::HeaderMap);

impl Extractor for HeaderReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct MetadataWriter<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataWriter<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            value.parse(),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// The span of one incoming gRPC call (for tonic's `Server::trace_fn`): it continues
/// the caller's trace when the call carries a `traceparent`, and records the trace id
/// so every log line of the call can be matched with the caller's.
pub fn grpc_request_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderReader(request.headers()))
    });
    let span = tracing::info_span!(
        "grpc",
        path = %request.uri().path(),
        trace_id = tracing::field::Empty
    );
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));
    span
}

/// Adds the current trace context to an outgoing call's metadata.
pub fn inject_trace_context(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataWriter(metadata));
    });
}

/// The current trace context as a `traceparent` value, to store with work that is
/// done later (outbox messages), so that work continues the same trace.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier.remove("traceparent")
}

/// Makes `span` continue the trace in a stored `traceparent`.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) {
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    let _ = span.set_parent(parent);
}
