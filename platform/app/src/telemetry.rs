//! Logs, traces and metrics export for the `commerce` binary (ADR 0030).
//!
//! Configured by the standard OpenTelemetry variables, nothing of our own:
//! - Traces are exported over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, unless `OTEL_TRACES_EXPORTER=none` or
//!   `OTEL_SDK_DISABLED=true`; metrics likewise (`..._METRICS_ENDPOINT`,
//!   `OTEL_METRICS_EXPORTER`). The exporters read the other `OTEL_EXPORTER_OTLP_*` variables
//!   (headers, timeout, compression) and the SDK reads `OTEL_SERVICE_NAME`,
//!   `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)` and `OTEL_BSP_*` itself.
//! - Whenever spans are traced (export on, or JSON logs on) the W3C trace context propagator
//!   is installed: requests honour `traceparent`, and events carry it (ADR 0030).
//! - JSON log lines carry the `trace_id` and `span_id` of the span they were logged in.
//!   Fields are logged as the code names them; nothing logs a secret.

use std::fmt;
use std::sync::OnceLock;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithHttpConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::LogFormat;

/// What telemetry this process exports, read from the standard `OTEL_*` variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    pub traces: bool,
    pub metrics: bool,
}

impl Export {
    /// Reads the variables through `var` (the process environment in the binary).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| var(name).is_some_and(|value| !value.trim().is_empty());
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Self::default();
        }
        let exporter_on = |name: &str| {
            var(name).is_none_or(|value| {
                value
                    .split(',')
                    .any(|exporter| exporter.trim().eq_ignore_ascii_case("otlp"))
            })
        };
        let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        Self {
            traces: exporter_on("OTEL_TRACES_EXPORTER")
                && (endpoint || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
            metrics: exporter_on("OTEL_METRICS_EXPORTER")
                && (endpoint || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")),
        }
    }

    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }
}

/// Keeps the exporters; dropping it flushes what they still hold.
#[derive(Default)]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    metrics: Option<SdkMeterProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(traces) = self.traces.take() {
            if let Err(error) = traces.shutdown() {
                eprintln!("trace export did not flush: {error}");
            }
        }
        if let Some(metrics) = self.metrics.take() {
            if let Err(error) = metrics.shutdown() {
                eprintln!("metric export did not flush: {error}");
            }
        }
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[error("OpenTelemetry export: {0}")]
pub struct TelemetryError(String);

fn resource() -> Resource {
    let builder = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        builder.build()
    } else {
        builder.with_service_name("commerce").build()
    }
}

/// The protocol the exporters speak: only OTLP over HTTP with protobuf is built in.
fn check_protocol() -> Result<(), TelemetryError> {
    for name in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
    ] {
        if let Ok(protocol) = std::env::var(name) {
            if !protocol.trim().is_empty() && protocol.trim() != "http/protobuf" {
                return Err(TelemetryError(format!(
                    "{name}={protocol}: this build exports over http/protobuf only \
                     (point it at the collector's port 4318)"
                )));
            }
        }
    }
    Ok(())
}

/// The tracer provider exporting over OTLP/HTTP, batching spans.
pub fn otlp_tracer_provider(
    runtime: tokio::runtime::Handle,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(ExportClient::new(runtime))
        .build()
        .map_err(|e| TelemetryError(e.to_string()))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build())
}

fn otlp_meter_provider(
    runtime: tokio::runtime::Handle,
) -> Result<SdkMeterProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(ExportClient::new(runtime))
        .build()
        .map_err(|e| TelemetryError(e.to_string()))?;
    Ok(SdkMeterProvider::builder()
        .with_periodic_exporter(exporter)
        .with_resource(resource())
        .build())
}

/// Installs logging, and tracing and metrics export as `export` says, as the process's
/// global subscriber and providers. Call once, inside the Tokio runtime, before anything
/// records a metric.
pub fn init(format: LogFormat, export: &Export) -> Result<Telemetry, TelemetryError> {
    check_protocol()?;
    let runtime = tokio::runtime::Handle::current();
    let mut telemetry = Telemetry::default();
    if export.metrics {
        let provider = otlp_meter_provider(runtime.clone())?;
        opentelemetry::global::set_meter_provider(provider.clone());
        telemetry.metrics = Some(provider);
    }
    // JSON logs carry trace ids, so spans are traced for them even with nothing exported.
    let traced = export.traces || format == LogFormat::Json;
    let tracer_provider = if export.traces {
        Some(otlp_tracer_provider(runtime)?)
    } else if traced {
        Some(
            SdkTracerProvider::builder()
                .with_resource(resource())
                .build(),
        )
    } else {
        None
    };
    install(format, tracer_provider.as_ref());
    telemetry.traces = tracer_provider;
    Ok(telemetry)
}

/// Installs the process's global subscriber: logs in `format`, and, with a tracer provider,
/// spans traced through it and the W3C trace context propagator. Tests install an in-memory
/// exporter's provider this way.
pub fn install(format: LogFormat, provider: Option<&SdkTracerProvider>) {
    if let Some(provider) = provider {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    install_subscriber(format, provider);
}

fn install_subscriber(format: LogFormat, provider: Option<&SdkTracerProvider>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // What every span costs is kept to what an operator reads: no source locations, thread
    // names, targets or busy/idle timing per span, no OpenTelemetry context switched on every
    // poll of an instrumented future (nothing here reads it), and only spans at info or
    // above: dependencies' debug and trace callsites stay disabled.
    let otel = provider.map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("commerce"))
            .with_error_records_to_exceptions(true)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_context_activation(false)
            .with_filter(
                tracing_subscriber::filter::filter_fn(|metadata| {
                    // Spans at info and above; of log events only warnings and errors become
                    // span events (every request's info line would otherwise ride in its span).
                    let level = *metadata.level();
                    if metadata.is_span() {
                        level <= tracing::Level::INFO
                    } else {
                        level <= tracing::Level::WARN
                    }
                })
                // Lets debug and trace callsites stay off at the macro, without asking the filter.
                .with_max_level_hint(tracing::Level::INFO),
            )
    });
    // Warnings and errors logged in traced work, which enters no span (ADR 0033), become
    // events of its span, as the trace layer makes them of an entered one.
    let traced_work_events = provider
        .map(|_| TracedWorkEvents.with_filter(tracing_subscriber::filter::LevelFilter::WARN));
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(JsonLines)
            .boxed(),
    };
    // The spans exist for the exporter whatever the log filter says; the filter only
    // chooses which log lines are written.
    let subscriber = tracing_subscriber::registry()
        .with(otel)
        .with(traced_work_events)
        .with(logs.with_filter(filter));
    let dispatch = tracing::Dispatch::new(subscriber);
    let _ = DISPATCH.set(dispatch.downgrade());
    if tracing::dispatcher::set_global_default(dispatch).is_err() {
        eprintln!("a global tracing subscriber was already installed");
    }
}

/// Adds a warning or error logged in work that [`runtime::telemetry::traced`] traces, where
/// no span is entered, to that span as an event: its message names it, its other fields and
/// its level and target are its attributes. An event inside an entered span is the trace
/// layer's.
struct TracedWorkEvents;

impl<S> Layer<S> for TracedWorkEvents
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if event.parent().is_some() || ctx.lookup_current().is_some() {
            return;
        }
        let span = runtime::telemetry::current_span();
        if span.is_none() {
            return;
        }
        let mut fields = JsonFields(Map::new());
        event.record(&mut fields);
        let name = match fields.0.remove("message") {
            Some(Value::String(message)) => message,
            _ => event.metadata().name().to_owned(),
        };
        let mut attributes = vec![
            opentelemetry::KeyValue::new("level", event.metadata().level().as_str()),
            opentelemetry::KeyValue::new("target", event.metadata().target()),
        ];
        attributes.extend(fields.0.into_iter().map(|(key, value)| {
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            opentelemetry::KeyValue::new(key, value)
        }));
        tracing_opentelemetry::OpenTelemetrySpanExt::add_event(&span, name, attributes);
    }
}

/// The installed dispatcher, for the JSON formatter to read span contexts through (inside a
/// subscriber callback, `tracing` hands out no current dispatcher).
static DISPATCH: OnceLock<tracing::dispatcher::WeakDispatch> = OnceLock::new();

/// One JSON object per line: time, level, target, the event's fields, the names of the spans
/// it is inside, and the trace and span ids of the innermost one.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = JsonFields(Map::new());
        event.record(&mut fields);
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        line.insert("level".into(), metadata.level().as_str().into());
        line.insert("target".into(), metadata.target().into());
        line.insert("fields".into(), Value::Object(fields.0));
        // The span the line was logged in: the event's own parent, the entered span, or the
        // span the running work is traced in (ADR 0033).
        let current = event
            .parent()
            .cloned()
            .or_else(|| ctx.lookup_current().map(|span| span.id()))
            .or_else(|| runtime::telemetry::current_span().id());
        if let Some(scope) = current.as_ref().and_then(|id| ctx.span_scope(id)) {
            let spans: Vec<Value> = scope
                .from_root()
                .map(|span| Value::String(span.name().to_owned()))
                .collect();
            line.insert("spans".into(), Value::Array(spans));
        }
        let dispatch = DISPATCH
            .get()
            .and_then(tracing::dispatcher::WeakDispatch::upgrade);
        if let (Some(id), Some(dispatch)) = (current, dispatch) {
            if let Some(context) = tracing_opentelemetry::get_otel_context(&id, &dispatch) {
                let span = context.span();
                let span_context = span.span_context();
                if span_context.is_valid() {
                    line.insert(
                        "trace_id".into(),
                        span_context.trace_id().to_string().into(),
                    );
                    line.insert("span_id".into(), span_context.span_id().to_string().into());
                }
            }
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}

struct JsonFields(Map<String, Value>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().to_owned(), value.to_string().into());
    }
}

/// The exporters' HTTP client: the reqwest client the rest of the binary uses, driven on the
/// Tokio runtime (the SDK's batch processors call it from threads of their own).
#[derive(Debug, Clone)]
struct ExportClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl ExportClient {
    fn new(runtime: tokio::runtime::Handle) -> Self {
        Self {
            client: reqwest::Client::new(),
            runtime,
        }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let call = async move {
            let mut builder = client.request(parts.method, parts.uri.to_string());
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let response = builder.body(body).send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        };
        let (status, headers, bytes) = self.runtime.spawn(call).await??;
        let mut response = opentelemetry_http::Response::builder().status(status.as_u16());
        for (name, value) in &headers {
            response = response.header(name.as_str(), value.as_bytes());
        }
        Ok(response.body(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(vars: &[(&str, &str)]) -> Export {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Export::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn export_follows_the_standard_variables() {
        assert_eq!(export(&[]), Export::default());
        let on = Export {
            traces: true,
            metrics: true,
        };
        assert_eq!(
            export(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]),
            on
        );
        assert_eq!(
            export(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://c:4318/v1/traces"
            )]),
            Export {
                traces: true,
                metrics: false
            }
        );
        assert_eq!(
            export(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_TRACES_EXPORTER", "none"),
            ]),
            Export {
                traces: false,
                metrics: true
            }
        );
        assert_eq!(
            export(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_SDK_DISABLED", "true"),
            ]),
            Export::default()
        );
    }
}
