//! What an operator sees of the running system (ADR 0030): the metrics every part records, and
//! the W3C trace context that travels with the events.
//!
//! Metrics are kept twice, by design: in a Prometheus registry (`GET /metrics` encodes it)
//! and in OpenTelemetry instruments, which are no-ops unless the composition root installed a
//! meter provider that exports them over OTLP. The instruments are created on first use, so
//! the provider must be installed before anything records (the binary does it first thing).
//!
//! Trace context: every event appended inside a traced span stores that span's `traceparent`
//! (and `tracestate`) in its metadata, through whichever propagator is installed globally
//! (none: nothing is stored). Work that reacts to the event later (a saga step, a projector,
//! in this process or another, before or after a restart) opens its span as a child of it,
//! so one checkout is one trace from the storefront's request to the last saga step.
//!
//! Current span: the project's spans (request, command, saga step, gateway call, projector
//! batch) are made current for the work they cover with [`traced`], a task-local, instead of
//! being entered on every poll of that work (ADR 0033). sqlx captures the span that is
//! entered when it starts a query and enters it again on every poll of the query's stream, so
//! an entered span cost a checkout about 2,000 enters and exits in the span registry and the
//! trace layer. Spans that descend from the current one name it as their parent
//! ([`current_span`]), and the JSON log lines read it for their trace and span ids.

#![allow(clippy::float_arithmetic)] // seconds are f64 in both metric systems

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::metrics::{Counter as OtelCounter, Histogram as OtelHistogram};
use opentelemetry::KeyValue;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::{Map, Value};
use tracing_opentelemetry::OpenTelemetrySpanExt;

tokio::task_local! {
    /// The span the work of this task is traced in, set by [`traced`].
    static CURRENT_SPAN: tracing::Span;
}

/// The span the running work is traced in: the innermost [`traced`] scope's, else the span
/// `tracing` has entered (none outside both).
pub fn current_span() -> tracing::Span {
    CURRENT_SPAN
        .try_with(tracing::Span::clone)
        .unwrap_or_else(|_| tracing::Span::current())
}

/// Runs `work` traced in `span`: [`current_span`] answers `span` while `work` runs, without
/// entering `span` in the subscriber on every poll (see the module documentation). Spans
/// opened inside name it as their parent explicitly.
pub fn traced<F: std::future::Future>(
    span: tracing::Span,
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    CURRENT_SPAN.scope(span, work)
}

type Labels = Vec<(&'static str, String)>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// Latencies from 0.5 ms to about 16 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// How a command ended, as the executor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    /// The aggregate accepted it (with or without new events).
    Accepted,
    /// The aggregate refused it: a business outcome.
    Rejected,
    /// A concurrent writer won; the command is tried again.
    ConflictRetried,
    /// Concurrent writers kept winning until the retry budget ran out.
    Conflict,
    /// The caller's If-Match version was not the aggregate's.
    PreconditionFailed,
    /// The store failed.
    Failed,
}

impl CommandOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::ConflictRetried => "conflict_retried",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::Failed => "failed",
        }
    }
}

/// How far one feed consumer (projector, saga runner, relay, webhook dispatcher) is behind
/// the head of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerLag {
    pub consumer: String,
    /// Events in the feed after the consumer's checkpoint.
    pub events_behind: u64,
    /// Age of the oldest event the consumer has not processed; 0 when caught up.
    pub seconds_behind: f64,
}

/// How many connections a database pool holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// What the store can tell about the feed's consumers and its connections.
#[async_trait::async_trait]
pub trait StoreGauges: Send + Sync {
    /// How far each of `consumers` is behind the head of the feed at `now` (a consumer that
    /// never committed a checkpoint is behind by the whole feed).
    async fn consumer_lags(
        &self,
        consumers: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ConsumerLag>, crate::StoreError>;

    /// The connection pool's current state.
    fn pool_state(&self) -> PoolState;

    /// How long taking a connection from the pool takes now (a probe made at each scrape:
    /// cqrs-es takes its connections inside the store crates, and sqlx 0.8 counts no waits).
    async fn probe_acquire(&self) -> Result<Duration, crate::StoreError>;
}

/// Seconds from `occurred_at` (an event's stored RFC 3339 time) to `now`; 0 if unreadable
/// or in the future.
pub fn seconds_since(occurred_at: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> f64 {
    occurred_at
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .and_then(|at| (now - at.with_timezone(&chrono::Utc)).to_std().ok())
        .map_or(0.0, |age| age.as_secs_f64())
}

/// The OpenTelemetry side of the instruments.
struct OtelInstruments {
    http: OtelHistogram<f64>,
    commands: OtelCounter<u64>,
    events: OtelCounter<u64>,
    checkouts: OtelCounter<u64>,
    gateway: OtelHistogram<f64>,
    replays: OtelCounter<u64>,
    pool_waits: OtelHistogram<f64>,
}

/// Every instrument the system records. One per process: see [`metrics`].
pub struct Metrics {
    registry: Registry,
    http: HistogramFamily,
    commands: Family<Labels, Counter>,
    events: Family<Labels, Counter>,
    lag_events: Family<Labels, Gauge>,
    lag_seconds: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    checkouts: Family<Labels, Counter>,
    gateway: HistogramFamily,
    pool_connections: Family<Labels, Gauge>,
    pool_waits: HistogramFamily,
    replays: Family<Labels, Counter>,
    otel: OtelInstruments,
    /// The last lag readings, for the OTLP observable gauges.
    lag_snapshot: Arc<Mutex<Vec<ConsumerLag>>>,
    pool_snapshot: Arc<Mutex<HashMap<String, PoolState>>>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's instruments.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn key_values(labels: &[(&'static str, &str)]) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| KeyValue::new(*k, (*v).to_owned()))
        .collect()
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let http = HistogramFamily::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_server_request_duration_seconds",
            "HTTP requests by method, route template and status",
            http.clone(),
        );
        let commands = Family::<Labels, Counter>::default();
        registry.register(
            "commerce_commands",
            "Commands executed, by aggregate type and outcome",
            commands.clone(),
        );
        let events = Family::<Labels, Counter>::default();
        registry.register(
            "commerce_events_appended",
            "Events appended to the store, by aggregate type",
            events.clone(),
        );
        let lag_events = Family::<Labels, Gauge>::default();
        registry.register(
            "commerce_consumer_lag_events",
            "Feed events after each consumer's checkpoint (projectors, sagas, relay, webhooks)",
            lag_events.clone(),
        );
        let lag_seconds = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "commerce_consumer_lag_seconds",
            "Age of the oldest feed event each consumer has not processed",
            lag_seconds.clone(),
        );
        let checkouts = Family::<Labels, Counter>::default();
        registry.register(
            "commerce_checkouts",
            "Checkouts finished, by outcome and failure reason",
            checkouts.clone(),
        );
        let gateway = HistogramFamily::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "commerce_gateway_call_duration_seconds",
            "Payment gateway calls, by operation and outcome",
            gateway.clone(),
        );
        let pool_connections = Family::<Labels, Gauge>::default();
        registry.register(
            "commerce_db_pool_connections",
            "Database pool connections, by state (idle, in_use) and the pool's maximum (max)",
            pool_connections.clone(),
        );
        let pool_waits =
            HistogramFamily::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "commerce_db_pool_acquire_seconds",
            "Time spent waiting for a database connection where the application acquires one",
            pool_waits.clone(),
        );
        let replays = Family::<Labels, Counter>::default();
        registry.register(
            "commerce_idempotency_replays",
            "Requests answered from a stored response because their Idempotency-Key was seen",
            replays.clone(),
        );

        let meter = opentelemetry::global::meter("commerce");
        let lag_snapshot: Arc<Mutex<Vec<ConsumerLag>>> = Arc::default();
        let pool_snapshot: Arc<Mutex<HashMap<String, PoolState>>> = Arc::default();
        let lags = lag_snapshot.clone();
        let _lag_events = meter
            .u64_observable_gauge("commerce.consumer.lag.events")
            .with_description("Feed events after each consumer's checkpoint")
            .with_callback(move |observer| {
                for lag in lags.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    observer.observe(
                        lag.events_behind,
                        &[KeyValue::new("consumer", lag.consumer.clone())],
                    );
                }
            })
            .build();
        let lags = lag_snapshot.clone();
        let _lag_seconds = meter
            .f64_observable_gauge("commerce.consumer.lag.seconds")
            .with_unit("s")
            .with_callback(move |observer| {
                for lag in lags.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    observer.observe(
                        lag.seconds_behind,
                        &[KeyValue::new("consumer", lag.consumer.clone())],
                    );
                }
            })
            .build();
        let pools = pool_snapshot.clone();
        let _pool = meter
            .u64_observable_gauge("commerce.db.pool.connections")
            .with_callback(move |observer| {
                for (pool, state) in pools.lock().unwrap_or_else(PoisonError::into_inner).iter() {
                    let in_use = state.size.saturating_sub(state.idle);
                    for (name, value) in
                        [("idle", state.idle), ("in_use", in_use), ("max", state.max)]
                    {
                        observer.observe(
                            u64::from(value),
                            &[
                                KeyValue::new("pool", pool.clone()),
                                KeyValue::new("state", name),
                            ],
                        );
                    }
                }
            })
            .build();
        let otel = OtelInstruments {
            http: meter
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .build(),
            commands: meter.u64_counter("commerce.commands").build(),
            events: meter.u64_counter("commerce.events.appended").build(),
            checkouts: meter.u64_counter("commerce.checkouts").build(),
            gateway: meter
                .f64_histogram("commerce.gateway.call.duration")
                .with_unit("s")
                .build(),
            replays: meter.u64_counter("commerce.idempotency.replays").build(),
            pool_waits: meter
                .f64_histogram("commerce.db.pool.acquire.duration")
                .with_unit("s")
                .build(),
        };
        Self {
            registry,
            http,
            commands,
            events,
            lag_events,
            lag_seconds,
            checkouts,
            gateway,
            pool_connections,
            pool_waits,
            replays,
            otel,
            lag_snapshot,
            pool_snapshot,
        }
    }

    /// One HTTP request; `route` is the route template (`/v1/carts/{cart_id}`), never the path.
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let status_code = i64::from(status);
        let status = status.to_string();
        let labels = [
            ("http_request_method", method),
            ("http_route", route),
            ("http_response_status_code", status.as_str()),
        ];
        let seconds = elapsed.as_secs_f64();
        self.http.get_or_create(&owned(&labels)).observe(seconds);
        self.otel.http.record(
            seconds,
            &[
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("http.route", route.to_owned()),
                KeyValue::new("http.response.status_code", status_code),
            ],
        );
    }

    pub fn command(&self, aggregate: &str, outcome: CommandOutcome) {
        let labels = [("aggregate_type", aggregate), ("outcome", outcome.as_str())];
        self.commands.get_or_create(&owned(&labels)).inc();
        self.otel.commands.add(1, &key_values(&labels));
    }

    pub fn events_appended(&self, aggregate: &str, count: usize) {
        let labels = [("aggregate_type", aggregate)];
        let count = count as u64;
        self.events.get_or_create(&owned(&labels)).inc_by(count);
        self.otel.events.add(count, &key_values(&labels));
    }

    /// A checkout that finished: `outcome` is `completed` or `failed`, with the failure's
    /// reason code (empty when completed).
    pub fn checkout(&self, outcome: &str, reason: &str) {
        let labels = [("outcome", outcome), ("reason", reason)];
        self.checkouts.get_or_create(&owned(&labels)).inc();
        self.otel.checkouts.add(1, &key_values(&labels));
    }

    pub fn gateway_call(&self, operation: &str, outcome: &str, elapsed: Duration) {
        let labels = [("operation", operation), ("outcome", outcome)];
        let seconds = elapsed.as_secs_f64();
        self.gateway.get_or_create(&owned(&labels)).observe(seconds);
        self.otel.gateway.record(seconds, &key_values(&labels));
    }

    pub fn idempotency_replay(&self, route: &str) {
        let labels = [("http_route", route)];
        self.replays.get_or_create(&owned(&labels)).inc();
        self.otel.replays.add(1, &key_values(&labels));
    }

    /// A wait for a connection of pool `pool`.
    pub fn pool_acquired(&self, pool: &str, waited: Duration) {
        let labels = [("pool", pool)];
        let seconds = waited.as_secs_f64();
        self.pool_waits
            .get_or_create(&owned(&labels))
            .observe(seconds);
        self.otel.pool_waits.record(seconds, &key_values(&labels));
    }

    /// Replaces the lag readings with `lags` (consumers no longer listed disappear).
    pub fn set_lags(&self, lags: Vec<ConsumerLag>) {
        self.lag_events.clear();
        self.lag_seconds.clear();
        for lag in &lags {
            let labels = owned(&[("consumer", lag.consumer.as_str())]);
            self.lag_events
                .get_or_create(&labels)
                .set(i64::try_from(lag.events_behind).unwrap_or(i64::MAX));
            self.lag_seconds
                .get_or_create(&labels)
                .set(lag.seconds_behind);
        }
        *self
            .lag_snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = lags;
    }

    pub fn set_pool(&self, pool: &str, state: PoolState) {
        let in_use = state.size.saturating_sub(state.idle);
        for (name, value) in [("idle", state.idle), ("in_use", in_use), ("max", state.max)] {
            self.pool_connections
                .get_or_create(&owned(&[("pool", pool), ("state", name)]))
                .set(i64::from(value));
        }
        self.pool_snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pool.to_owned(), state);
    }

    /// Every instrument in the OpenMetrics text format that Prometheus scrapes.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The content type of [`Metrics::encode`].
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Stores the [current span](current_span)'s trace context in `metadata` (`traceparent`, and `tracestate`
/// when there is one), through the globally installed propagator. Nothing when no span is
/// being traced.
pub fn inject_trace_context(metadata: &mut Map<String, Value>) {
    let context = current_span().context();
    let mut carrier: HashMap<String, String> = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut carrier);
    });
    for (key, value) in carrier {
        if !value.is_empty() {
            metadata.insert(key, Value::String(value));
        }
    }
}

/// The trace context stored in an event's metadata, if any.
pub fn extract_trace_context(metadata: &Value) -> Option<opentelemetry::Context> {
    let traceparent = metadata.get("traceparent")?.as_str()?;
    let tracestate = metadata.get("tracestate").and_then(Value::as_str);
    parent_context(traceparent, tracestate)
}

/// The remote parent a `traceparent` (and `tracestate`) names, through the globally installed
/// propagator: from an event's metadata or a request's headers alike. `None` when invalid or
/// when no propagator is installed.
pub fn parent_context(
    traceparent: &str,
    tracestate: Option<&str>,
) -> Option<opentelemetry::Context> {
    use opentelemetry::trace::TraceContextExt;
    let mut carrier: HashMap<String, String> = HashMap::new();
    carrier.insert("traceparent".into(), traceparent.to_owned());
    if let Some(state) = tracestate {
        carrier.insert("tracestate".into(), state.to_owned());
    }
    let context =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    context.span().span_context().is_valid().then_some(context)
}

/// Makes `span` a child of the span that appended the event `metadata` describes.
pub fn follow(span: &tracing::Span, metadata: &crate::EventMetadata) {
    let parent = metadata
        .traceparent
        .as_deref()
        .and_then(|traceparent| parent_context(traceparent, metadata.tracestate.as_deref()));
    if let Some(parent) = parent {
        // Only fails when the span is not traced (disabled or already started).
        let _ = span.set_parent(parent);
    }
}

/// Links `span` to the span that appended an event with `metadata` (a batch that serves
/// events of many traces links to each instead of joining one).
pub fn link_event(span: &tracing::Span, metadata: &Value) {
    use opentelemetry::trace::TraceContextExt;
    if let Some(context) = extract_trace_context(metadata) {
        span.add_link(context.span().span_context().clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_names_every_family() {
        let metrics = metrics();
        metrics.command("cart", CommandOutcome::Accepted);
        metrics.events_appended("cart", 2);
        metrics.request("POST", "/v1/carts", 201, Duration::from_millis(3));
        metrics.set_lags(vec![ConsumerLag {
            consumer: "orders".into(),
            events_behind: 7,
            seconds_behind: 1.5,
        }]);
        let text = metrics.encode();
        assert!(
            text.contains(r#"commerce_commands_total{aggregate_type="cart",outcome="accepted"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"commerce_consumer_lag_events{consumer="orders"} 7"#),
            "{text}"
        );
        assert!(text.contains(r#"http_route="/v1/carts""#), "{text}");
        metrics.set_lags(Vec::new());
        assert!(!metrics.encode().contains(r#"consumer="orders""#));
    }

    /// Writes down every span opened (with its parent) and every span entered.
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl<S> tracing_subscriber::Layer<S> for Seen
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        fn on_new_span(
            &self,
            _: &tracing::span::Attributes<'_>,
            id: &tracing::span::Id,
            ctx: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let span = ctx.span(id).expect("opened");
            let parent = span.parent().map_or("none", |parent| parent.name());
            self.0
                .lock()
                .unwrap()
                .push(format!("open {} in {parent}", span.name()));
        }

        fn on_enter(&self, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
            let name = ctx.span(id).expect("entered").name();
            self.0.lock().unwrap().push(format!("enter {name}"));
        }
    }

    #[tokio::test]
    async fn traced_work_has_its_span_current_without_entering_it_on_every_poll() {
        use tracing_subscriber::layer::SubscriberExt;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Seen(seen.clone()));
        let _default = tracing::subscriber::set_default(subscriber);
        let span = tracing::info_span!("work");
        let (current, entered) = traced(span.clone(), async {
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            let _child = tracing::info_span!(parent: &current_span(), "child");
            (current_span().id(), tracing::Span::current().id())
        })
        .await;
        assert_eq!(current, span.id(), "the span is current for the work");
        assert_eq!(entered, None, "without being entered in the subscriber");
        assert_eq!(
            *seen.lock().unwrap(),
            ["open work in none", "open child in work"],
            "a span opened inside descends from it; no span was entered"
        );
        assert_eq!(
            current_span().id(),
            None,
            "outside the work, nothing is current"
        );
    }

    #[test]
    fn without_a_propagator_no_trace_context_is_stored() {
        let mut map = Map::new();
        inject_trace_context(&mut map);
        assert!(map.is_empty());
        assert!(extract_trace_context(&serde_json::json!({"traceparent": "garbage"})).is_none());
    }
}
