//! Logs and traces, set up in one place: log lines on stderr (text or JSON, filtered by
//! `RUST_LOG`), and, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, the same spans exported as
//! OpenTelemetry traces over OTLP (http/protobuf): the request span named after the GraphQL
//! operation, a span per root resolver (`graphql::spans`) and one per SQL statement (sea-orm's
//! `tracing-spans`: the statement text with placeholders, never the bound values).
//!
//! The standard OTEL_* variables apply (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SERVICE_NAME,
//! OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_SCHEDULE_DELAY...). Metrics are `crate::observability::metrics`.
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The log filter without `RUST_LOG`: sea-orm's statement spans and sqlx's events stay out of
/// the log lines (they go to traces).
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

static EXPORTING: AtomicBool = AtomicBool::new(false);
/// The exporter's provider, for `shutdown`.
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Whether spans are exported (resolver spans are only worth their cost then).
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Names a span's trace span (a request's after its GraphQL operation, once known). Recording
/// `otel.name` works only until the trace span has started, which a child span does: the
/// request's has started by the time the operation is parsed.
pub fn rename(span: &tracing::Span, name: String) {
    if exporting() {
        use opentelemetry::trace::TraceContextExt as _;
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        span.context().span().update_name(name);
    }
}

/// Sends the spans still waiting in the batch and stops the exporter: call it before the process
/// ends (it waits for the collector, at most the export timeout). Nothing to do without traces.
pub async fn shutdown() {
    let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).take();
    let Some(provider) = provider else { return };
    let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    if let Ok(Err(err)) = flushed {
        eprintln!("error: the last traces were not exported: {err}");
    }
}

/// Installs the global subscriber: log lines in `format`, and OTLP traces when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_LOG_FILTER.into());
    // Colours only for a person at a terminal: a log file or a collector gets plain text.
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => logs.with_filter(filter).boxed(),
        LogFormat::Json => {
            logs.json().flatten_event(true).with_current_span(true).with_span_list(false).with_filter(filter).boxed()
        }
    };
    let (provider, traces) = match otlp_provider() {
        Ok(Some(provider)) => {
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("jaminan"))
                .with_location(false)
                .with_threads(false)
                .with_filter(trace_filter());
            (Some(provider), Some(layer))
        }
        Ok(None) => (None, None),
        Err(err) => {
            eprintln!("error: traces are not exported: {err}");
            (None, None)
        }
    };
    EXPORTING.store(provider.is_some(), Ordering::Relaxed);
    *PROVIDER.lock().unwrap_or_else(|e| e.into_inner()) = provider;
    tracing_subscriber::registry().with(logs).with(traces).with(crate::observability::pool_waits::layer()).init();
}

fn otlp_provider() -> Result<Option<SdkTracerProvider>, String> {
    let configured = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()));
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().map_err(|e| e.to_string())?;
    let resource = Resource::builder().with_service_name("jaminan").build();
    Ok(Some(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build()))
}

/// What becomes a trace span: ours, tower-http's and sea-orm's statements at INFO (sea-orm's
/// TRACE spans carry the statements' values in their Debug fields: never), nothing of the HTTP
/// client that exports (its spans would be exported in turn).
fn trace_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("sea_orm", LevelFilter::INFO)
        .with_target("sqlx", LevelFilter::OFF)
        .with_target("async_graphql", LevelFilter::OFF)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("reqwest", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("h2", LevelFilter::OFF)
}
