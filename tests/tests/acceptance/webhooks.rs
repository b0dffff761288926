//! Webhooks end to end: endpoints registered over the admin API, events produced by ordinary
//! commands, and signed deliveries arriving at live HTTP receivers on this machine.
//!
//! Every wait polls with a deadline; nothing sleeps for a guessed time.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use commerce::config::Settings;
use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, settings_for, spawn_with, Store, TestApp};

// The example receiver, compiled here exactly as subscribers read it.
#[allow(dead_code)]
#[path = "../../../adapters/webhooks/examples/receiver.rs"]
mod receiver;

const DEADLINE: Duration = Duration::from_secs(20);

/// Polls `check` until it answers `Some`, failing with `what` at the deadline.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// A receiver that records every request and answers as each test tells it to.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Answer(u16),
    /// Never answers.
    Hang,
    /// 500 to the first request of each message id, 204 to the rest.
    FailFirstTry,
}

#[derive(Debug, Clone)]
struct Captured {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    at: Instant,
    answered: u16,
}

impl Captured {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Recorder {
    behaviours: Mutex<HashMap<String, Behaviour>>,
    captured: Mutex<HashMap<String, Vec<Captured>>>,
    tried: Mutex<HashSet<String>>,
}

async fn record(
    recorder: web::Data<Recorder>,
    name: web::Path<String>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let behaviour = recorder
        .behaviours
        .lock()
        .unwrap()
        .get(name.as_str())
        .copied()
        .unwrap_or(Behaviour::Answer(204));
    let answered = match behaviour {
        Behaviour::Answer(status) => status,
        Behaviour::Hang => 0,
        Behaviour::FailFirstTry => {
            if recorder.tried.lock().unwrap().insert(id.clone()) {
                500
            } else {
                204
            }
        }
    };
    recorder
        .captured
        .lock()
        .unwrap()
        .entry(name.into_inner())
        .or_default()
        .push(Captured {
            id,
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            at: Instant::now(),
            answered,
        });
    if behaviour == Behaviour::Hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    HttpResponse::build(StatusCode::from_u16(answered).unwrap()).finish()
}

struct Hooks {
    base: String,
    recorder: web::Data<Recorder>,
    server: ServerHandle,
}

impl Hooks {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let recorder = web::Data::new(Recorder::default());
        let data = recorder.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hooks/{name}", web::post().to(record))
        })
        .workers(2)
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base,
            recorder,
            server: handle,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base)
    }

    fn set(&self, name: &str, behaviour: Behaviour) {
        self.recorder
            .behaviours
            .lock()
            .unwrap()
            .insert(name.to_owned(), behaviour);
    }

    fn captured(&self, name: &str) -> Vec<Captured> {
        self.recorder
            .captured
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Polls until `name` received at least `count` requests; returns them all.
    async fn wait_for(&self, name: &str, count: usize) -> Vec<Captured> {
        eventually(&format!("{count} requests to {name}"), move || async move {
            let captured = self.captured(name);
            (captured.len() >= count).then_some(captured)
        })
        .await
    }

    async fn stop(self) {
        self.server.stop(false).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Admin API helpers.

async fn register(app: &TestApp, url: &str, types: &[&str]) -> Value {
    let response = app
        .post_json(
            "/v1/admin/webhooks",
            &json!({"url": url, "description": "test hook", "event_types": types}),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "registration failed: {body}");
    body
}

async fn endpoint(app: &TestApp, id: &str) -> Value {
    let response = app.get(&format!("/v1/admin/webhooks/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let response = app
        .get(&format!("/v1/admin/webhooks/{id}/deliveries?limit=100"))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["data"].as_array().unwrap().clone()
}

async fn patch(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.request(Method::PATCH, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A product created on the admin API: its `product.product_created` event is delivered.
async fn product(app: &TestApp, sku: &str) -> String {
    app.create_product(
        &format!("Product {sku}"),
        json!([{"sku": sku, "prices": [{"amount": "9.99", "currency": "EUR"}]}]),
        true,
    )
    .await
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs a test body on a fresh app per store, with settings adjusted by `tweak`.
macro_rules! on_both_stores_with {
    ($name:ident, $body:path, $tweak:expr) => {
        mod $name {
            use super::*;

            async fn run(store: Store) {
                let mut settings = settings_for(store).await;
                let tweak: fn(&mut Settings) = $tweak;
                tweak(&mut settings);
                let app = spawn_with(settings).await;
                $body(&app).await;
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
    };
}

// ---------------------------------------------------------------------------------------------

async fn deliveries_are_signed_so_the_example_receiver_accepts_them_and_refuses_tampering(
    app: &TestApp,
) {
    let hooks = Hooks::start();
    // The example receiver needs the secret, which registration answers with: bind first.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let receiver_url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let registered = register(app, &receiver_url, &["catalog.product_created"]).await;
    let secret = registered["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{registered}");
    let example = web::Data::new(receiver::Receiver::new(secret.clone()));
    let data = example.clone();
    let server = HttpServer::new(move || App::new().configure(receiver::app(data.clone())))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    let example_server = server.handle();
    tokio::spawn(server);
    // A second endpoint to a recorder, to see the raw requests.
    let recorded = register(app, &hooks.url("raw"), &["catalog.product_created"]).await;
    let raw_secret = recorded["secret"].as_str().unwrap().to_owned();

    let product_id = product(app, "HOOK-1").await;

    let example_ref = &example;
    let handled = eventually(
        "the example receiver to handle the event",
        move || async move {
            let handled = example_ref.handled();
            (!handled.is_empty()).then_some(handled)
        },
    )
    .await;
    assert_eq!(handled.len(), 1);
    let event = &handled[0];
    assert_eq!(event["type"], "catalog.product_created");
    assert_eq!(event["stream"]["type"], "product");
    assert_eq!(event["stream"]["id"], product_id.as_str());
    assert_eq!(event["version"], 1);
    assert!(event["data"].is_object(), "{event}");

    let endpoint_id = registered["id"].as_str().unwrap();
    let log = eventually(
        "the delivery to be logged as succeeded",
        move || async move {
            let log = deliveries(app, endpoint_id).await;
            (log.first().is_some_and(|d| d["status"] == "succeeded")).then_some(log)
        },
    )
    .await;
    assert_eq!(log[0]["event_id"], event["id"]);
    assert_eq!(
        log[0]["message_id"], event["id"],
        "webhook-id is the event id"
    );
    assert_eq!(log[0]["attempts"][0]["response_status"], 204);

    // The raw request of the same event: what the example's verify makes of it, and of
    // every way of tampering with it.
    let raw = hooks.wait_for("raw", 1).await.remove(0);
    assert_eq!(raw.json(), *event, "every endpoint gets the same envelope");
    assert_eq!(raw.id, event["id"].as_str().unwrap());
    let now = unix_now();
    let verify = |id: &str, timestamp: &str, signature: &str, body: &[u8], now: u64| {
        receiver::verify(&raw_secret, id, timestamp, signature, body, now)
    };
    assert_eq!(
        verify(&raw.id, &raw.timestamp, &raw.signature, &raw.body, now),
        Ok(())
    );
    let mut altered = raw.body.clone();
    let last = altered.len() - 2;
    altered[last] ^= 1;
    assert_eq!(
        verify(&raw.id, &raw.timestamp, &raw.signature, &altered, now),
        Err(receiver::Rejection::BadSignature)
    );
    assert_eq!(
        verify("another-id", &raw.timestamp, &raw.signature, &raw.body, now),
        Err(receiver::Rejection::BadSignature)
    );
    let sent: u64 = raw.timestamp.parse().unwrap();
    let shifted = (sent + 1).to_string();
    assert_eq!(
        verify(&raw.id, &shifted, &raw.signature, &raw.body, now),
        Err(receiver::Rejection::BadSignature)
    );
    assert_eq!(
        verify(
            &raw.id,
            &raw.timestamp,
            &raw.signature,
            &raw.body,
            now + 3600
        ),
        Err(receiver::Rejection::StaleTimestamp),
        "a replay an hour later is refused"
    );
    assert_eq!(
        receiver::verify(
            &secret,
            &raw.id,
            &raw.timestamp,
            &raw.signature,
            &raw.body,
            now
        ),
        Err(receiver::Rejection::BadSignature),
        "each endpoint has its own secret"
    );

    // Sent to the live example receiver, a tampered request is refused and not handled.
    let tampered = app
        .client
        .post(&receiver_url)
        .header("webhook-id", raw.id.as_str())
        .header("webhook-timestamp", raw.timestamp.as_str())
        .header("webhook-signature", raw.signature.as_str())
        .body(altered)
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    assert_eq!(example.handled().len(), 1);

    example_server.stop(false).await;
    hooks.stop().await;
}
on_both_stores_with!(
    deliveries_are_signed_so_the_example_receiver_accepts_them_on,
    deliveries_are_signed_so_the_example_receiver_accepts_them_and_refuses_tampering,
    |_| {}
);

async fn a_failing_endpoint_is_retried_with_growing_waits_then_disabled_and_can_recover(
    app: &TestApp,
) {
    let hooks = Hooks::start();
    hooks.set("failing", Behaviour::Answer(500));
    let registered = register(app, &hooks.url("failing"), &["catalog.product_created"]).await;
    let id = registered["id"].as_str().unwrap();

    product(app, "FAIL-1").await;

    // The schedule in these settings: immediately, then 100 ms, 300 ms and 900 ms later (each
    // wait well apart from the next, so scheduling jitter cannot make them look equal).
    let disabled = eventually("the endpoint to be disabled", move || async move {
        let endpoint = endpoint(app, id).await;
        (endpoint["enabled"] == false).then_some(endpoint)
    })
    .await;
    let reason = disabled["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("failed 4 times"), "{reason}");
    assert!(reason.contains("HTTP 500"), "{reason}");
    assert!(disabled["disabled_at"].is_string());

    let requests = hooks.captured("failing");
    assert_eq!(requests.len(), 4, "the first attempt and three retries");
    assert!(
        requests.iter().all(|r| r.id == requests[0].id),
        "one message id"
    );
    let arrivals: Vec<Duration> = requests
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect();
    assert!(
        arrivals.windows(2).all(|pair| pair[1] > pair[0]),
        "the receiver must see the waits grow: {arrivals:?}"
    );

    let log = deliveries(app, id).await;
    assert_eq!(log.len(), 1);
    let failed = &log[0];
    assert_eq!(failed["status"], "failed");
    let attempts = failed["attempts"].as_array().unwrap();
    let numbers: Vec<u64> = attempts
        .iter()
        .map(|a| a["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert!(attempts.iter().all(|a| a["response_status"] == 500));
    assert!(attempts.iter().all(|a| a["duration_ms"].is_u64()));
    // The log's attempt times are the sender's own: no attempt came before its wait was over.
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = attempts
        .iter()
        .map(|a| chrono::DateTime::parse_from_rfc3339(a["attempted_at"].as_str().unwrap()).unwrap())
        .collect();
    for (pair, wait) in times.windows(2).zip([100, 300, 900]) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= chrono::Duration::milliseconds(wait),
            "attempted again after {gap}, before its {wait} ms wait: {times:?}"
        );
    }

    // The subscriber fixes its endpoint; the administrator enables it and redelivers.
    hooks.set("failing", Behaviour::Answer(204));
    let enabled = patch(
        app,
        &format!("/v1/admin/webhooks/{id}"),
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(enabled.status(), 200);
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["disabled_reason"], Value::Null);

    let delivery_id = failed["id"].as_str().unwrap();
    let redelivered = app
        .post_json(
            &format!("/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(redelivered.status(), 202);
    let copy: Value = redelivered.json().await.unwrap();
    assert_eq!(copy["redelivery_of"], delivery_id);
    assert_eq!(copy["message_id"], failed["message_id"]);

    let requests = hooks.wait_for("failing", 5).await;
    let again = &requests[4];
    assert_eq!(
        again.id, requests[0].id,
        "a redelivery keeps the webhook-id"
    );
    assert_eq!(again.body, requests[0].body);
    assert_eq!(again.answered, 204);
    let copy_id = copy["id"].as_str().unwrap();
    eventually(
        "the redelivery to be logged as succeeded",
        move || async move {
            let log = deliveries(app, id).await;
            log.iter()
                .any(|d| d["id"] == copy_id && d["status"] == "succeeded")
                .then_some(())
        },
    )
    .await;

    hooks.stop().await;
}
on_both_stores_with!(
    a_failing_endpoint_is_retried_then_disabled_and_can_recover_on,
    a_failing_endpoint_is_retried_with_growing_waits_then_disabled_and_can_recover,
    |settings| settings.webhook_retry_schedule = "100ms,300ms,900ms".parse().unwrap()
);

async fn an_endpoint_that_hangs_does_not_delay_another(app: &TestApp) {
    let hooks = Hooks::start();
    hooks.set("hanging", Behaviour::Hang);
    register(app, &hooks.url("hanging"), &["catalog.product_created"]).await;
    register(app, &hooks.url("healthy"), &["catalog.product_created"]).await;

    for n in 1..=3 {
        product(app, &format!("HANG-{n}")).await;
    }

    let healthy = hooks.wait_for("healthy", 3).await;
    assert_eq!(healthy.len(), 3);
    assert!(healthy.iter().all(|r| r.answered == 204));
    // The hanging endpoint's first delivery is still waiting for an answer (the timeout is a
    // minute away), and its later deliveries wait behind it.
    hooks.wait_for("hanging", 1).await;
    assert_eq!(hooks.captured("hanging").len(), 1);

    hooks.stop().await;
}
on_both_stores_with!(
    an_endpoint_that_hangs_does_not_delay_another_on,
    an_endpoint_that_hangs_does_not_delay_another,
    |settings| settings.webhook_timeout = Duration::from_secs(60)
);

async fn each_endpoint_gets_its_events_in_feed_order_even_across_retries(app: &TestApp) {
    let hooks = Hooks::start();
    hooks.set("flaky", Behaviour::FailFirstTry);
    register(app, &hooks.url("flaky"), &["catalog.*"]).await;
    register(app, &hooks.url("steady"), &["catalog.*"]).await;

    for n in 1..=4 {
        product(app, &format!("ORDER-{n}")).await;
    }
    // Each product records product_created and product_published.
    let steady = hooks.wait_for("steady", 8).await;
    let flaky = hooks.wait_for("flaky", 16).await;

    let cursors = |requests: &[Captured]| -> Vec<String> {
        requests
            .iter()
            .filter(|r| r.answered == 204)
            .map(|r| r.json()["cursor"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected = cursors(&steady);
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(expected, sorted, "feed order");
    assert_eq!(cursors(&flaky), expected, "the same order across retries");
    // Every message was refused once and then accepted, before the next one was sent.
    let ids: Vec<&str> = flaky.iter().map(|r| r.id.as_str()).collect();
    for pair in ids.chunks(2) {
        assert_eq!(
            pair[0], pair[1],
            "a later message overtook a retry: {ids:?}"
        );
    }

    hooks.stop().await;
}
on_both_stores_with!(
    each_endpoint_gets_its_events_in_feed_order_even_across_retries_on,
    each_endpoint_gets_its_events_in_feed_order_even_across_retries,
    |settings| settings.webhook_retry_schedule = "20ms,20ms,20ms".parse().unwrap()
);

async fn webhook_admin_refuses_bad_input_with_problems_and_changes_nothing(app: &TestApp) {
    let create = move |body: Value| async move { app.post_json("/v1/admin/webhooks", &body).await };
    let types = json!(["catalog.*"]);
    for url in [
        "ftp://example.com/hook",
        "not a url",
        "/relative/hook",
        "https://",
        "https://a*/hook",
        "https://example.com/{hook}",
        "https://example.com:70000/hook",
        "https://example.com:/hook",
        "https://user@example.com/hook",
        "HTTPS://example.com/hook",
        "https://[::1]/hook",
    ] {
        let problem = assert_problem(
            create(json!({"url": url, "event_types": types})).await,
            400,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    let problem = assert_problem(
        create(
            json!({"url": "https://example.com/hook", "event_types": ["orders.order_teleported"]}),
        )
        .await,
        422,
        "unknown_event_type",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "event_types");
    assert_problem(
        create(json!({"url": "https://example.com/hook", "event_types": ["nowhere.*"]})).await,
        422,
        "unknown_event_type",
    )
    .await;
    assert_problem(
        create(json!({"url": "https://example.com/hook", "event_types": []})).await,
        400,
        "validation_failed",
    )
    .await;
    let problem = assert_problem(
        create(json!({"url": "https://example.com/hook", "event_types": types, "secret": "mine"}))
            .await,
        400,
        "unknown_field",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "secret");
    let listed: Value = app.get("/v1/admin/webhooks").await.json().await.unwrap();
    assert_eq!(listed["data"], json!([]), "nothing was registered");

    // Registration is idempotent under a key: the same endpoint, and the same secret.
    let keyed = || {
        app.request(Method::POST, "/v1/admin/webhooks")
            .header("Idempotency-Key", "register-hook-1")
            .json(&json!({"url": "https://example.com/hook", "event_types": types}))
    };
    let first = keyed().send().await.unwrap();
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    let second = keyed().send().await.unwrap();
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/v1/admin/webhooks/{id}"));

    let shown = endpoint(app, &id).await;
    assert_eq!(shown.get("secret"), None, "the secret is shown only once");
    assert_eq!(shown["enabled"], true);
    assert_eq!(shown["event_types"], types);

    let path = format!("/v1/admin/webhooks/{id}");
    let problem = assert_problem(
        patch(app, &path, json!({"url": "gopher://example.com"})).await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "url");
    assert_problem(
        patch(app, &path, json!({"event_types": ["catalog.nope"]})).await,
        422,
        "unknown_event_type",
    )
    .await;
    assert_problem(
        patch(app, &path, json!({"active": false})).await,
        400,
        "unknown_field",
    )
    .await;
    assert_eq!(
        endpoint(app, &id).await,
        shown,
        "refused changes change nothing"
    );

    let paused: Value = patch(
        app,
        &path,
        json!({"enabled": false, "description": "paused"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(paused["enabled"], false);
    assert_eq!(paused["disabled_reason"], "disabled by an administrator");
    assert_eq!(paused["description"], "paused");
    let resumed: Value = patch(
        app,
        &path,
        json!({"enabled": true, "url": "https://example.com/v2", "event_types": ["catalog.product_created", "carts.*"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(resumed["enabled"], true);
    assert_eq!(resumed["url"], "https://example.com/v2");
    assert_eq!(
        resumed["event_types"],
        json!(["catalog.product_created", "carts.*"])
    );

    // Pages, newest first.
    let second_id = register(app, "https://example.com/two", &["carts.*"]).await["id"].clone();
    let third_id = register(app, "http://localhost:9/three", &["carts.*"]).await["id"].clone();
    let page: Value = app
        .get("/v1/admin/webhooks?limit=2")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, [&third_id, &second_id]);
    assert_eq!(page["has_more"], true);
    assert!(page["data"][0].get("secret").is_none());
    let rest: Value = app
        .get(&format!(
            "/v1/admin/webhooks?limit=2&starting_after={}",
            second_id.as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["data"][0]["id"], id.as_str());
    assert_eq!(rest["has_more"], false);
    assert_problem(
        app.get("/v1/admin/webhooks?limit=0").await,
        400,
        "validation_failed",
    )
    .await;

    // Unknown and malformed ids.
    let unknown = uuid::Uuid::now_v7();
    assert_problem(
        app.get(&format!("/v1/admin/webhooks/{unknown}")).await,
        404,
        "webhook_endpoint_not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/admin/webhooks/not-an-id").await,
        400,
        "invalid_id",
    )
    .await;
    assert_problem(
        app.get(&format!("/v1/admin/webhooks/{unknown}/deliveries"))
            .await,
        404,
        "webhook_endpoint_not_found",
    )
    .await;
    assert_problem(
        app.post_json(
            &format!("/v1/admin/webhooks/{id}/deliveries/{unknown}/redeliver"),
            &json!({}),
        )
        .await,
        404,
        "webhook_delivery_not_found",
    )
    .await;
    let log: Value = app
        .get(&format!("/v1/admin/webhooks/{id}/deliveries"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log, json!({"data": [], "has_more": false}));

    let deleted = app.request(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let deleted: Value = deleted.json().await.unwrap();
    assert_eq!(deleted, json!({"id": id, "deleted": true}));
    assert_problem(app.get(&path).await, 404, "webhook_endpoint_not_found").await;
    assert_problem(
        app.request(Method::DELETE, &path).send().await.unwrap(),
        404,
        "webhook_endpoint_not_found",
    )
    .await;

    let document: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/v1/admin/webhooks", "post"),
        ("/v1/admin/webhooks", "get"),
        ("/v1/admin/webhooks/{id}", "get"),
        ("/v1/admin/webhooks/{id}", "patch"),
        ("/v1/admin/webhooks/{id}", "delete"),
        ("/v1/admin/webhooks/{id}/deliveries", "get"),
        (
            "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            "post",
        ),
    ] {
        assert!(
            document["paths"][path].get(method).is_some(),
            "{method} {path} is not documented"
        );
    }
}
on_both_stores_with!(
    webhook_admin_refuses_bad_input_with_problems_and_changes_nothing_on,
    webhook_admin_refuses_bad_input_with_problems_and_changes_nothing,
    |_| {}
);
