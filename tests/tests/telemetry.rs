//! One checkout is one trace (ADR 0030): the storefront's request, every saga step, and every
//! payment gateway call, linked parent to child, even when the steps run in another instance
//! that picks the checkout up from the feed after the one that took the request has stopped.
//!
//! Spans go to an in-memory exporter installed as this test binary's global subscriber (its
//! own process, so no other test's spans mix in); the assertions keep to the trace ids the
//! test itself sends in `traceparent`.

#[path = "acceptance/app.rs"]
#[allow(dead_code)]
mod app;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use reqwest::Method;
use serde_json::{json, Value};

use app::{settings_for, spawn_with, Store, TestApp};

fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        commerce::telemetry::install(commerce::config::LogFormat::Text, Some(&provider));
        exporter
    })
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// A storefront's own trace context: a new trace id, and the id of its (remote) span.
fn storefront_context() -> (TraceId, SpanId, String) {
    let trace = TraceId::from_bytes(uuid::Uuid::new_v4().into_bytes());
    let span = SpanId::from_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap());
    let header = format!("00-{trace}-{span}-01");
    (trace, span, header)
}

/// A cart with two units of a fresh SKU in stock, ready to check out.
async fn cart_ready(app: &TestApp, sku: &str) -> String {
    app.published_product(sku, "10.00").await;
    let received = app
        .post_json(
            &format!("/v1/admin/inventory/{sku}/receipts"),
            &json!({"quantity": 10}),
        )
        .await;
    assert_eq!(received.status(), 200);
    let cart = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": sku, "quantity": 2}),
        )
        .await;
    assert_eq!(added.status(), 200);
    cart
}

/// Starts the checkout of `cart` with `traceparent`; returns the checkout's id.
async fn check_out(app: &TestApp, cart: &str, traceparent: &str) -> String {
    let response = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("traceparent", traceparent)
        .header("idempotency-key", format!("trace-{cart}"))
        .json(
            &json!({"email": "trace@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "Tracy Trace", "line1": "1 Span St",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 202, "{body}");
    body["id"].as_str().expect("a checkout id").to_owned()
}

/// The spans of `trace`, once the ones the test waits for have all ended.
async fn spans_of(trace: TraceId, until: impl Fn(&[SpanData]) -> bool) -> Vec<SpanData> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let spans: Vec<SpanData> = exporter()
            .get_finished_spans()
            .expect("spans")
            .into_iter()
            .filter(|span| span.span_context.trace_id() == trace)
            .collect();
        if until(&spans) || Instant::now() > deadline {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(spans: &[SpanData]) -> HashSet<String> {
    spans.iter().map(|span| span.name.to_string()).collect()
}

const STEPS: [&str; 7] = [
    "checkout reserve_stock",
    "checkout authorize_payment",
    "checkout place_order",
    "checkout capture_payment",
    "checkout mark_order_paid",
    "checkout commit_reservation",
    "checkout mark_cart_checked_out",
];

fn complete(spans: &[SpanData]) -> bool {
    let names = names(spans);
    STEPS.iter().all(|step| names.contains(*step))
        && names.contains("payment_gateway authorize")
        && names.contains("payment_gateway capture")
}

/// The whole checkout is one tree under the request: every span's parent is in the trace (the
/// request's is the storefront's span), every step and gateway call descends from the
/// request, and no span of this checkout's steps went to another trace.
fn assert_one_tree(spans: &[SpanData], storefront_span: SpanId, checkout: &str) {
    let by_id: HashMap<SpanId, &SpanData> = spans
        .iter()
        .map(|span| (span.span_context.span_id(), span))
        .collect();
    let requests: Vec<&SpanData> = spans
        .iter()
        .filter(|span| span.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(
        requests.len(),
        1,
        "one request in the trace: {:?}",
        names(spans)
    );
    let request = requests[0];
    assert_eq!(request.name, "POST /v1/carts/{id}/checkout");
    assert_eq!(request.parent_span_id, storefront_span);
    assert!(request.parent_span_is_remote);
    assert_eq!(
        attribute(request, "http.response.status_code").as_deref(),
        Some("202")
    );
    for span in spans {
        if span.span_context.span_id() == request.span_context.span_id() {
            continue;
        }
        assert!(
            by_id.contains_key(&span.parent_span_id),
            "{} has a parent outside the trace",
            span.name
        );
        let mut ancestor = span.parent_span_id;
        let mut hops = 0;
        while ancestor != request.span_context.span_id() {
            ancestor = by_id[&ancestor].parent_span_id;
            hops += 1;
            assert!(
                hops < 200,
                "{} does not descend from the request",
                span.name
            );
        }
    }
    for step in STEPS {
        let step_spans: Vec<&SpanData> = spans.iter().filter(|s| s.name == step).collect();
        assert!(!step_spans.is_empty(), "{step} is in the trace");
        for span in step_spans {
            assert_eq!(
                attribute(span, "commerce.saga.instance").as_deref(),
                Some(checkout)
            );
            // A step that recorded its outcome traced that command itself (ADR 0033).
            if attribute(span, "commerce.saga.step.outcome").as_deref() == Some("recorded") {
                for (name, value) in [
                    ("commerce.aggregate.type", "checkout"),
                    ("commerce.aggregate.id", checkout),
                    ("commerce.command.outcome", "accepted"),
                    ("db.operation.name", "INSERT"),
                ] {
                    assert_eq!(attribute(span, name).as_deref(), Some(value), "{step}");
                }
            }
        }
    }
    for span in spans.iter().filter(|span| span.name == "command checkout") {
        assert!(
            !by_id[&span.parent_span_id].name.starts_with("checkout "),
            "a step's own outcome has a command span of its own"
        );
    }
    for call in ["payment_gateway authorize", "payment_gateway capture"] {
        let span = spans
            .iter()
            .find(|s| s.name == call)
            .expect("a gateway call");
        assert_eq!(span.span_kind, SpanKind::Client);
        assert_eq!(
            attribute(span, "commerce.gateway.outcome").as_deref(),
            Some("succeeded")
        );
        // Called by the payment's command, inside a saga step.
        let command = by_id[&span.parent_span_id];
        assert_eq!(command.name, "command payment");
        assert!(by_id[&command.parent_span_id].name.starts_with("checkout "));
    }
    let elsewhere: Vec<String> = exporter()
        .get_finished_spans()
        .expect("spans")
        .into_iter()
        .filter(|span| {
            attribute(span, "commerce.saga.instance").as_deref() == Some(checkout)
                && span.span_context.trace_id() != request.span_context.trace_id()
        })
        .map(|span| span.name.to_string())
        .collect();
    assert!(elsewhere.is_empty(), "steps in other traces: {elsewhere:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_is_one_trace_even_when_another_instance_runs_its_steps() {
    exporter();
    let settings = settings_for(Store::Postgres).await;
    let setup = spawn_with(settings.clone()).await;
    let cart = cart_ready(&setup, "TRACE-1").await;
    // The instance that takes the request serves the API only: every step of its checkout
    // runs later, from the feed, in the instance started after it stopped.
    let first = setup.restart_api_only().await;
    let (trace, storefront_span, traceparent) = storefront_context();
    let checkout = check_out(&first, &cart, &traceparent).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = first.get(&format!("/v1/checkouts/{checkout}")).await;
    let waiting: Value = waiting.json().await.expect("json");
    assert_eq!(waiting["status"], "pending", "{waiting}");
    assert!(
        !names(&spans_of(trace, |_| true).await)
            .iter()
            .any(|name| name.starts_with("checkout ")),
        "no step ran before the restart"
    );
    first.stop().await;

    let second = spawn_with(settings).await;
    let done = second
        .until(&format!("/v1/checkouts/{checkout}"), |c| {
            c["status"] != "pending"
        })
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let spans = spans_of(trace, complete).await;
    assert_one_tree(&spans, storefront_span, &checkout);

    // In the instance that runs its own workers, the steps run at once, in the same tree.
    let cart = cart_ready(&second, "TRACE-2").await;
    let (trace, storefront_span, traceparent) = storefront_context();
    let checkout = check_out(&second, &cart, &traceparent).await;
    let done = second
        .until(&format!("/v1/checkouts/{checkout}"), |c| {
            c["status"] != "pending"
        })
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let spans = spans_of(trace, complete).await;
    assert_one_tree(&spans, storefront_span, &checkout);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_carry_the_trace_context_of_the_command_that_appended_them() {
    exporter();
    let app = app::spawn_app(Store::Sqlite).await;
    let (trace, _, traceparent) = storefront_context();
    let created = app
        .request(Method::POST, "/v1/carts")
        .header("traceparent", &traceparent)
        .json(&json!({"currency": "EUR"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(created.status(), 201);
    let cart: Value = created.json().await.expect("json");
    let spans = spans_of(trace, |spans| {
        spans.iter().any(|span| span.name == "command cart")
    })
    .await;
    let command = spans
        .iter()
        .find(|span| span.name == "command cart")
        .expect("the command's span");
    assert_eq!(
        attribute(command, "commerce.command.outcome").as_deref(),
        Some("accepted")
    );
    // The append is recorded on the command's span (ADR 0032): what, where and how long.
    assert_eq!(
        attribute(command, "db.operation.name").as_deref(),
        Some("INSERT")
    );
    assert_eq!(
        attribute(command, "db.collection.name").as_deref(),
        Some("events")
    );
    assert!(
        attribute(command, "commerce.append.duration_us")
            .is_some_and(|us| us.parse::<u64>().is_ok()),
        "the append's duration is recorded"
    );
    let commerce::config::StoreUrl::Sqlite(path) = app.settings.store_url() else {
        panic!("an embedded store");
    };
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("the store opens");
    let metadata: String = sqlx::query_scalar(
        "SELECT metadata FROM events WHERE aggregate_type = 'cart' AND aggregate_id = ?",
    )
    .bind(cart["id"].as_str().expect("a cart id"))
    .fetch_one(&pool)
    .await
    .expect("the cart's event");
    let metadata: Value = serde_json::from_str(&metadata).expect("json");
    assert_eq!(
        metadata["traceparent"],
        format!("00-{trace}-{}-01", command.span_context.span_id()),
        "{metadata}"
    );
    app.stop().await;
}

/// ADR 0033: traced work enters no span, yet a warning logged in it is an event of its span,
/// with its fields, as it would be of an entered one.
#[tokio::test]
async fn a_warning_logged_in_traced_work_is_an_event_of_its_span() {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    exporter();
    let span = tracing::info_span!("traced work");
    let span_id = span.context().span().span_context().span_id();
    runtime::telemetry::traced(span.clone(), async {
        tokio::task::yield_now().await;
        tracing::warn!(reason = "stock count drifted", "a warning in traced work");
    })
    .await;
    drop(span);
    let finished = exporter()
        .get_finished_spans()
        .expect("spans")
        .into_iter()
        .find(|finished| finished.span_context.span_id() == span_id)
        .expect("the span was exported");
    let event = finished
        .events
        .iter()
        .find(|event| event.name == "a warning in traced work")
        .unwrap_or_else(|| panic!("no event in {:?}", finished.events));
    let reason = event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "reason")
        .map(|kv| kv.value.to_string());
    assert_eq!(reason.as_deref(), Some("stock count drifted"));
}
