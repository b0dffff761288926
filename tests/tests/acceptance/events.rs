//! The published event feed over HTTP, and what the stored events carry: one checkout's
//! events share the correlation id of the request that started it, no payment token is ever
//! stored or published, the feed long-polls and streams, and a stream resumes from
//! `Last-Event-ID` (ADRs 0014, 0015, 0016).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use commerce::config::StoreUrl;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

/// One stored row: aggregate type, aggregate id, event type, payload and metadata as text.
pub(crate) type Row = (String, String, String, String, String);

/// Every row of the `events` table, read directly from the app's database.
pub(crate) async fn stored_events(app: &TestApp) -> Vec<Row> {
    const SELECT: &str = "SELECT aggregate_type, aggregate_id, event_type, \
                          CAST(payload AS TEXT), CAST(metadata AS TEXT) FROM events";
    match app.settings.store_url() {
        StoreUrl::Postgres(url) => {
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            sqlx::query_as(SELECT).fetch_all(&pool).await.unwrap()
        }
        StoreUrl::Sqlite(path) => {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query_as(SELECT).fetch_all(&pool).await.unwrap()
        }
    }
}

/// Every published event from the start of history, paging until the end.
pub(crate) async fn whole_feed(app: &TestApp) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let page: Value = app
            .get(&format!("/v1/events?limit=1000&after={after}"))
            .await
            .json()
            .await
            .unwrap();
        let data = page["data"].as_array().unwrap().clone();
        after = page["next_cursor"].as_str().unwrap().to_owned();
        if data.is_empty() {
            return events;
        }
        events.extend(data);
    }
}

/// The cursor after everything published so far.
async fn head(app: &TestApp) -> String {
    let page: Value = app.get("/v1/events?limit=1000").await.json().await.unwrap();
    let mut after = page["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page: Value = app
            .get(&format!("/v1/events?limit=1000&after={after}"))
            .await
            .json()
            .await
            .unwrap();
        if page["data"].as_array().unwrap().is_empty() {
            return after;
        }
        after = page["next_cursor"].as_str().unwrap().to_owned();
    }
}

fn checkout_body(token: &str) -> Value {
    json!({"email": "grace@example.com", "payment_method_token": token,
           "shipping_address": {"name": "Grace Hopper", "line1": "1 Navy Way", "city": "Arlington",
                                "postal_code": "22202", "country": "US"}})
}

/// A cart holding one unit of a fresh, stocked SKU.
async fn stocked_cart(app: &TestApp, sku: &str) -> String {
    app.published_product(sku, "10.00").await;
    let receipt = app
        .post_json(
            &format!("/v1/admin/inventory/{sku}/receipts"),
            &json!({"quantity": 5}),
        )
        .await;
    assert_eq!(receipt.status(), 200);
    let cart = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": sku, "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), 200);
    cart
}

/// Checks a cart out and waits until the checkout settles; returns its final state.
async fn check_out(app: &TestApp, cart: &str, token: &str, headers: &[(&str, String)]) -> Value {
    let mut request = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("idempotency-key", Uuid::new_v4().to_string())
        .json(&checkout_body(token));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = app.get(&location).await.json().await.unwrap();
        if body["status"] != "pending" {
            return body;
        }
        assert!(Instant::now() < deadline, "checkout never settled: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the feed until `wanted` published events of `stream_ids` are there.
async fn feed_events_of(app: &TestApp, stream_ids: &BTreeSet<String>, wanted: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events: Vec<Value> = whole_feed(app)
            .await
            .into_iter()
            .filter(|e| stream_ids.contains(e["stream"]["id"].as_str().unwrap()))
            .collect();
        if events.len() >= wanted || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn one_checkout_carries_its_requests_correlation_id_in_every_context(app: &TestApp) {
    let cart = stocked_cart(app, "CORR-1").await;
    let correlation = Uuid::now_v7();
    let request = Uuid::now_v7();
    let checkout = check_out(
        app,
        &cart,
        "tok_visa",
        &[
            ("x-correlation-id", correlation.to_string()),
            ("x-request-id", request.to_string()),
        ],
    )
    .await;
    assert_eq!(checkout["status"], "completed", "{checkout}");
    let checkout_id = checkout["id"].as_str().unwrap().to_owned();
    let order_id = checkout["order_id"].as_str().unwrap().to_owned();
    let payment_id = checkout["payment_id"].as_str().unwrap().to_owned();
    let streams = BTreeSet::from([
        checkout_id.clone(),
        order_id.clone(),
        payment_id.clone(),
        "CORR-1".to_owned(),
        cart.clone(),
    ]);
    // checkout started + completed; order placed + paid; payment authorized + captured;
    // stock reserved + committed; cart checked out: nine published events at least.
    let events = feed_events_of(app, &streams, 9 + 4).await;
    let of_this_checkout: Vec<&Value> = events
        .iter()
        .filter(|e| match e["stream"]["type"].as_str().unwrap() {
            // The stock item and the cart have events of other flows (the receipt, the adds).
            "stock_item" => !matches!(e["type"].as_str(), Some("inventory.stock_received")),
            "cart" => e["type"] == "carts.cart_checked_out",
            _ => true,
        })
        .collect();
    let types: BTreeSet<&str> = of_this_checkout
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for expected in [
        "checkout.checkout_started",
        "checkout.checkout_completed",
        "orders.order_placed",
        "orders.order_paid",
        "payments.payment_authorized",
        "payments.payment_captured",
        "inventory.stock_reserved",
        "inventory.reservation_committed",
        "carts.cart_checked_out",
    ] {
        assert!(
            types.contains(expected),
            "{expected} missing from {types:?}"
        );
    }
    for event in &of_this_checkout {
        assert_eq!(
            event["correlation_id"],
            correlation.to_string(),
            "{}",
            event["type"]
        );
        assert!(event["causation_id"].is_string(), "{event}");
        assert!(event["occurred_at"].is_string(), "{event}");
    }
    let started = of_this_checkout
        .iter()
        .find(|e| e["type"] == "checkout.checkout_started")
        .unwrap();
    assert_eq!(started["causation_id"], request.to_string());
    // The saga's steps name as their cause a checkout event, not the request.
    let order_placed = of_this_checkout
        .iter()
        .find(|e| e["type"] == "orders.order_placed")
        .unwrap();
    assert_ne!(order_placed["causation_id"], request.to_string());

    // Every stored event of the checkout's own streams, internal ones too.
    for (aggregate_type, aggregate_id, event_type, _, metadata) in stored_events(app).await {
        if [&checkout_id, &order_id, &payment_id].contains(&&aggregate_id) {
            let metadata: Value = serde_json::from_str(&metadata).unwrap();
            assert_eq!(
                metadata["correlation_id"],
                correlation.to_string(),
                "{aggregate_type} {event_type}"
            );
        }
    }
}
on_both_stores!(
    one_checkout_is_one_correlation_id,
    one_checkout_carries_its_requests_correlation_id_in_every_context
);

async fn every_answer_names_its_request_and_its_flow(app: &TestApp) {
    let response = app.get("/v1/products").await;
    let request = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let correlation = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(Uuid::parse_str(&request).is_ok());
    assert_eq!(correlation, request, "a request starts its own flow");
    let chosen = Uuid::now_v7().to_string();
    let response = app
        .request(Method::GET, "/v1/products")
        .header("x-correlation-id", &chosen)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-correlation-id"], chosen.as_str());
    assert_ne!(response.headers()["x-request-id"], chosen.as_str());
}
on_both_stores!(
    requests_are_named,
    every_answer_names_its_request_and_its_flow
);

async fn no_payment_token_reaches_the_events_table_or_the_feed(app: &TestApp) {
    // A token that succeeds, and one whose answer is lost (kept for reconciliation, which
    // learns the authorization): both must stay out of every event.
    let paid = stocked_cart(app, "TOKEN-A").await;
    let settled = check_out(app, &paid, "tok_visa", &[]).await;
    assert_eq!(settled["status"], "completed", "{settled}");
    let lost = stocked_cart(app, "TOKEN-B").await;
    let settled = check_out(app, &lost, "tok_timeout", &[]).await;
    assert_eq!(settled["status"], "completed", "{settled}");

    let stored = stored_events(app).await;
    assert!(stored
        .iter()
        .any(|row| row.2 == "PaymentAuthorizationUnknown"));
    for (aggregate_type, _, event_type, payload, metadata) in &stored {
        for text in [payload, metadata] {
            assert!(
                !text.contains("tok_") && !text.contains("payment_method_token"),
                "{aggregate_type} {event_type}: {text}"
            );
        }
    }
    for event in whole_feed(app).await {
        let text = event.to_string();
        assert!(!text.contains("tok_"), "{text}");
    }
    // And the saga forgets both once their checkouts end (just after they are recorded).
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.count_rows("payment_method_tokens").await > 0 {
        assert!(
            Instant::now() < deadline,
            "a payment method token was never forgotten"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
on_both_stores!(
    tokens_stay_out_of_events,
    no_payment_token_reaches_the_events_table_or_the_feed
);

async fn a_long_poll_answers_when_a_matching_event_commits(app: &TestApp) {
    let after = head(app).await;
    let started = Instant::now();
    let poll = {
        let request = app.request(
            Method::GET,
            &format!("/v1/events?after={after}&wait=30&types=carts.cart_created"),
        );
        tokio::spawn(async move { request.send().await.unwrap().json::<Value>().await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // An event of another type does not end the wait; the matching one does.
    app.published_product("POLL-1", "1.00").await;
    let cart = app.create_cart("EUR").await;
    let page = poll.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "answered only when the wait ended"
    );
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{page}");
    assert_eq!(data[0]["type"], "carts.cart_created");
    assert_eq!(data[0]["data"]["cart_id"], cart.as_str());
    assert_eq!(data[0]["cursor"], page["next_cursor"]);
}
on_both_stores!(
    long_polls,
    a_long_poll_answers_when_a_matching_event_commits
);

/// `COMMERCE_LONG_POLL_MAX_SECS` bounds a wait whatever the client asks for: the answer
/// comes, empty, once the server's limit is up.
async fn a_long_poll_waits_no_longer_than_the_server_allows(app: &TestApp) {
    let after = head(app).await;
    let started = Instant::now();
    let page: Value = app
        .get(&format!("/v1/events?after={after}&wait=30"))
        .await
        .json()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "waited {waited:?}"
    );
    assert_eq!(page["data"], json!([]), "{page}");
}
mod long_poll_limit {
    use super::*;
    use crate::app::{settings_for, spawn_with, Store};

    async fn run(store: Store) {
        let mut settings = settings_for(store).await;
        settings.long_poll_max_secs = 1;
        let app = spawn_with(settings).await;
        a_long_poll_waits_no_longer_than_the_server_allows(&app).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Store::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Store::Postgres).await;
    }
}

async fn the_feed_refuses_what_it_cannot_honour(app: &TestApp) {
    for query in [
        "after=not-a-cursor",
        "types=orders.order_teleported",
        "types=nowhere.*",
        "limit=0",
        "limit=1001",
        "wait=31",
        "colour=red",
    ] {
        let response = app.get(&format!("/v1/events?{query}")).await;
        assert_problem(response, 400, "validation_failed").await;
    }
    let response = app.get("/v1/events/stream?after=zz").await;
    assert_problem(response, 400, "validation_failed").await;
}
on_both_stores!(bad_feed_requests, the_feed_refuses_what_it_cannot_honour);

/// Reads `count` events from an open Server-Sent Events answer: (id, event name, data).
async fn read_sse(mut response: reqwest::Response, count: usize) -> Vec<(String, String, Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while events.len() < count {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(remaining, response.chunk())
            .await
            .expect("events arrive in time")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}: ")))
                    .map(str::to_owned)
            };
            if let (Some(id), Some(event), Some(data)) =
                (field("id"), field("event"), field("data"))
            {
                events.push((id, event, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

async fn an_event_stream_resumes_after_the_last_event_id(app: &TestApp) {
    let after = head(app).await;
    for _ in 0..3 {
        app.create_cart("EUR").await;
    }
    let response = app
        .request(
            Method::GET,
            &format!("/v1/events/stream?after={after}&types=carts.*"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let first = read_sse(response, 2).await;
    assert!(first
        .iter()
        .all(|(_, name, _)| name == "carts.cart_created"));
    assert!(first.iter().all(|(id, _, data)| &data["cursor"] == id));
    // The connection drops after two events; two more carts are created meanwhile.
    let (last_id, _, _) = first.last().unwrap().clone();
    for _ in 0..2 {
        app.create_cart("EUR").await;
    }
    let resumed = app
        .request(Method::GET, "/v1/events/stream?types=carts.*")
        .header("Last-Event-ID", &last_id)
        .send()
        .await
        .unwrap();
    let rest = read_sse(resumed, 3).await;
    // Exactly the events after the last one received, in feed order: nothing lost, nothing
    // repeated.
    let expected: Vec<Value> = {
        let page: Value = app
            .get(&format!("/v1/events?after={last_id}&types=carts.*"))
            .await
            .json()
            .await
            .unwrap();
        page["data"].as_array().unwrap().clone()
    };
    assert_eq!(expected.len(), 3);
    let ids = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let received: Vec<Value> = rest.into_iter().map(|(_, _, data)| data).collect();
    assert_eq!(ids(&received), ids(&expected));
    let before: BTreeSet<String> = first
        .iter()
        .map(|(_, _, data)| data["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids(&received).iter().all(|id| !before.contains(id)));
}
on_both_stores!(
    event_streams,
    an_event_stream_resumes_after_the_last_event_id
);

async fn the_schemas_of_every_published_type_are_served(app: &TestApp) {
    let catalog: Value = app.get("/v1/events/schemas").await.json().await.unwrap();
    let types: BTreeSet<&str> = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert!(types.contains("orders.order_placed"));
    assert!(!types.iter().any(|t| t.starts_with("checkout.stock")));
    let placed = catalog["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "orders.order_placed")
        .unwrap();
    assert_eq!(placed["version"], 1);
    assert_eq!(placed["schema"]["type"], "object");
    assert_eq!(catalog["envelope"]["title"], "PublishedEvent");
}
on_both_stores!(
    event_schemas,
    the_schemas_of_every_published_type_are_served
);
