//! Logs and traces. Every service logs through `tracing` (text or JSON) and carries a
//! W3C trace context across service hops: incoming calls continue the caller's trace
//! ([`grpc_request_span`]), outgoing calls and outbox messages carry the current one
//! ([`inject_trace_context`], [`current_traceparent`]). Every span of a call records
//! its `trace_id`, so one request's logs can be followed across services.
//!
//! When an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), spans are also exported to it, over
//! HTTP/protobuf by default or gRPC with `OTEL_EXPORTER_OTLP_PROTOCOL=grpc`. The other
//! standard variables (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`,
//! `OTEL_BSP_SCHEDULE_DELAY`, ...) are honoured by the OpenTelemetry SDK itself.

use std::collections::HashMap;
use std::io::IsTerminal;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::LogFormat;

/// The OTLP trace configuration cannot be used; the service refuses to start rather
/// than run without the traces its operator asked for.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{variable}={value:?} is not a supported OTLP protocol; use grpc or http/protobuf")]
    UnsupportedProtocol {
        variable: &'static str,
        value: String,
    },
    #[error(
        "{variable} is an https endpoint, but TLS to the collector is not built in; \
         send to a local collector or agent over http://"
    )]
    TlsEndpoint { variable: &'static str },
    #[error("cannot export traces to the configured OTLP endpoint: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// The OTLP transport, from the standard variables (the traces-specific one first).
/// HTTP/protobuf is the specification's default.
fn otlp_protocol(
    var: impl Fn(&str) -> Option<String>,
) -> Result<opentelemetry_otlp::Protocol, TelemetryError> {
    use opentelemetry_otlp::Protocol;
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        let Some(value) = var(variable).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        // The SDK would fall back to its default on a typo, silently; say so instead.
        return match value.trim().to_ascii_lowercase().as_str() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpBinary),
            _ => Err(TelemetryError::UnsupportedProtocol { variable, value }),
        };
    }
    Ok(Protocol::HttpBinary)
}

/// Refuses endpoints this build cannot reach, at start-up rather than at every export.
fn check_otlp_endpoints(var: impl Fn(&str) -> Option<String>) -> Result<(), TelemetryError> {
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        if var(variable).is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("https:")) {
            return Err(TelemetryError::TlsEndpoint { variable });
        }
    }
    Ok(())
}

fn otlp_exporter(
    protocol: opentelemetry_otlp::Protocol,
) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
    // The endpoint, headers and timeout come from the standard variables, read by the
    // exporter itself, so operators configure it as they would any OpenTelemetry SDK.
    let exporter = match protocol {
        Protocol::Grpc => SpanExporter::builder().with_tonic().build()?,
        _ => SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .build()?,
    };
    Ok(exporter)
}

/// Keeps trace export running; dropping it sends the spans still queued, so the last
/// requests before a shutdown reach the collector too. Hold it for the life of `main`.
#[derive(Debug)]
#[must_use = "dropping the guard stops trace export"]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if self.exporting
            && let Err(error) = self.provider.shutdown()
        {
            // The subscriber may already be gone at this point; stderr is not.
            eprintln!("flushing traces to the OTLP endpoint failed: {error}");
        }
    }
}

/// Whether the standard OpenTelemetry variables ask for trace export: an endpoint is
/// set, and neither the SDK nor the trace exporter is switched off.
fn otlp_export_requested(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let no_exporter =
        var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
    (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        && !disabled
        && !no_exporter
}

fn tracer_provider(
    service: &'static str,
    exporter: Option<opentelemetry_otlp::SpanExporter>,
) -> SdkTracerProvider {
    let builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .build(),
    );
    match exporter {
        // The batch processor exports from its own thread, off the request path.
        Some(exporter) => builder.with_batch_exporter(exporter).build(),
        None => builder.build(),
    }
}

/// Installs logging and tracing for a service, once per process. `RUST_LOG` overrides
/// the log filter. Must be called inside the Tokio runtime (the gRPC exporter's
/// channel lives on it).
pub fn init(format: LogFormat, service: &'static str) -> Result<Telemetry, TelemetryError> {
    let env = |name: &str| std::env::var(name).ok();
    let exporting = otlp_export_requested(env);
    let exporter = if exporting {
        check_otlp_endpoints(env)?;
        Some(otlp_exporter(otlp_protocol(env)?)?)
    } else {
        None
    };
    let provider = tracer_provider(service, exporter);
    let tracer = provider.tracer(service);
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,h2=warn,tower=warn,hyper=warn")
    });
    let text = (format == LogFormat::Text).then(|| {
        // Colours are for a person at a terminal: a file or a log collector gets the
        // text without escape codes. (At a terminal, `NO_COLOR` still turns them off.)
        let layer = tracing_subscriber::fmt::layer();
        if std::io::stdout().is_terminal() {
            layer
        } else {
            layer.with_ansi(false)
        }
    });
    let json = (format == LogFormat::Json)
        .then(|| tracing_subscriber::fmt::layer().json().flatten_event(true));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init();
    if exporting {
        tracing::info!("exporting traces over OTLP");
    }
    Ok(Telemetry {
        provider,
        exporting,
    })
}

/// For tests: trace contexts work (and propagate) as in production, and logs are shown
/// only when `show_logs`.
pub fn init_for_tests(show_logs: bool) {
    let provider = tracer_provider("cinema-test", None);
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
    let path = request.uri().path();
    // Orchestrators probe health every few seconds; at info level those calls would
    // drown the requests people actually follow, in the logs and in the traces.
    let span = if path.starts_with("/grpc.health.v1.Health/") {
        tracing::debug_span!("grpc", path = %path, trace_id = tracing::field::Empty)
    } else {
        tracing::info_span!("grpc", path = %path, trace_id = tracing::field::Empty)
    };
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));
    span
}

/// The span of one incoming HTTP request (the website's): like [`grpc_request_span`],
/// it continues the caller's `traceparent` when there is one and records the trace id;
/// the gRPC calls made while serving it carry that trace on (see
/// [`inject_trace_context`]), so one page view is one trace across all three services.
pub fn http_request_span<B>(request: &tonic::codegen::http::Request<B>) -> tracing::Span {
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderReader(request.headers()))
    });
    let (method, path) = (request.method(), request.uri().path());
    let span = if path == "/healthz" {
        tracing::debug_span!("http", %method, path = %path, trace_id = tracing::field::Empty)
    } else {
        tracing::info_span!("http", %method, path = %path, trace_id = tracing::field::Empty)
    };
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

#[cfg(test)]
mod tests {
    use super::{TelemetryError, check_otlp_endpoints, otlp_export_requested, otlp_protocol};
    use opentelemetry_otlp::Protocol;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn export_needs_an_endpoint() {
        assert!(!otlp_export_requested(env(&[])));
        assert!(!otlp_export_requested(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            " "
        )])));
        assert!(otlp_export_requested(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector:4318"
        )])));
        assert!(otlp_export_requested(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector:4318/v1/traces"
        )])));
    }

    #[test]
    fn the_standard_switches_turn_export_off() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        assert!(!otlp_export_requested(env(&[
            endpoint,
            ("OTEL_SDK_DISABLED", "TRUE")
        ])));
        assert!(!otlp_export_requested(env(&[
            endpoint,
            ("OTEL_TRACES_EXPORTER", "none")
        ])));
        assert!(otlp_export_requested(env(&[
            endpoint,
            ("OTEL_SDK_DISABLED", "false")
        ])));
    }

    #[test]
    fn the_protocol_is_http_protobuf_unless_grpc_is_asked_for() {
        assert_eq!(
            otlp_protocol(env(&[])).expect("a known protocol"),
            Protocol::HttpBinary
        );
        assert_eq!(
            otlp_protocol(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "gRPC")]))
                .expect("a known protocol"),
            Protocol::Grpc
        );
        assert_eq!(
            otlp_protocol(env(&[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")
            ]))
            .expect("a known protocol"),
            Protocol::HttpBinary,
            "the traces-specific variable wins"
        );
    }

    #[test]
    fn an_unknown_protocol_is_refused_by_name() {
        let error = otlp_protocol(env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]))
            .expect_err("http/json is not built in");
        assert!(matches!(
            error,
            TelemetryError::UnsupportedProtocol {
                variable: "OTEL_EXPORTER_OTLP_PROTOCOL",
                ..
            }
        ));
        assert!(error.to_string().contains("use grpc or http/protobuf"));
    }

    #[test]
    fn an_https_endpoint_is_refused_up_front() {
        assert!(
            check_otlp_endpoints(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")])).is_ok()
        );
        let error = check_otlp_endpoints(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "HTTPS://collector.example.com/v1/traces",
        )]))
        .expect_err("no TLS client is built in");
        assert!(
            error
                .to_string()
                .starts_with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is an https endpoint")
        );
    }
}
