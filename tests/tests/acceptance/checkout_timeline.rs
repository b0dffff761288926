//! `GET /v1/admin/checkouts/{id}/timeline`: an operator sees, from the event streams alone,
//! each event of a checkout and of its order and payment with its time and actor, which saga
//! step it records and how that ended, and what the saga would run next, without reading code
//! and without seeing the shopper's personal data.

use std::net::TcpListener;
use std::sync::Arc;

use accounts::{Area, Grants, Scope};
use actix_web::{App, HttpServer};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, settings_for, Store, TestApp};
use crate::on_both_stores;

/// What the shopper typed that is personal: none of it may appear in a timeline.
/// The shopper's personal data, none of which may reach a timeline. Each is text that no id,
/// amount or timestamp can spell by chance (a postal code of digits alone once matched the
/// fraction of a second in a timestamp).
const PERSONAL: [&str; 4] = ["grace@example.com", "Grace Hopper", "1 Navy Way", "K1A 0B1"];

fn checkout_body(token: &str) -> Value {
    json!({"email": "grace@example.com", "payment_method_token": token,
           "shipping_address": {"name": "Grace Hopper", "line1": "1 Navy Way", "city": "Ottawa",
                                "postal_code": "K1A 0B1", "country": "CA"}})
}

/// A product `sku` at 10.00 EUR with `units` in stock. Waits for nothing asynchronous (no
/// read model), so it also works with no runner at all.
async fn stocked(app: &TestApp, sku: &str, units: u32) {
    app.create_product(
        &format!("Product {sku}"),
        json!([{"sku": sku, "prices": [{"amount": "10.00", "currency": "EUR"}]}]),
        true,
    )
    .await;
    let received = app
        .post_json(
            &format!("/v1/admin/inventory/{sku}/receipts"),
            &json!({"quantity": units}),
        )
        .await;
    assert_eq!(received.status(), 200);
}

/// Puts `quantity` of `sku` into `cart`.
async fn add(app: &TestApp, cart: &str, sku: &str, quantity: u32) {
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": sku, "quantity": quantity}),
        )
        .await;
    assert_eq!(added.status(), 200);
}

/// A product `sku` (see [`stocked`]) and a cart holding `quantity` of it.
async fn cart_with(app: &TestApp, sku: &str, units: u32, quantity: u32) -> String {
    stocked(app, sku, units).await;
    let cart = app.create_cart("EUR").await;
    add(app, &cart, sku, quantity).await;
    cart
}

/// Starts a checkout of `cart` in the flow `correlation_id`; returns the checkout id.
async fn start(app: &TestApp, cart: &str, token: &str, correlation_id: uuid::Uuid) -> String {
    let response = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("idempotency-key", format!("timeline-{cart}"))
        .header("x-correlation-id", correlation_id.to_string())
        .json(&checkout_body(token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn timeline(app: &TestApp, checkout: &str) -> Value {
    let response = app
        .get(&format!("/v1/admin/checkouts/{checkout}/timeline"))
        .await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    for personal in PERSONAL {
        assert!(
            !text.contains(personal),
            "{personal} in the timeline: {text}"
        );
    }
    serde_json::from_str(&text).unwrap()
}

fn entries(timeline: &Value) -> &Vec<Value> {
    timeline["entries"].as_array().unwrap()
}

/// The entries of one stream, in the timeline's order.
fn of_stream<'t>(timeline: &'t Value, aggregate_type: &str) -> Vec<&'t Value> {
    entries(timeline)
        .iter()
        .filter(|e| e["aggregate_type"] == aggregate_type)
        .collect()
}

fn event_types(entries: &[&Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

/// The checkout's entry of `event_type`, as (step, outcome, detail).
fn step_of(timeline: &Value, event_type: &str) -> (Value, Value, Value) {
    let entry = of_stream(timeline, "checkout")
        .into_iter()
        .find(|e| e["event_type"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} in {timeline}"));
    (
        entry["step"].clone(),
        entry["outcome"].clone(),
        entry["detail"].clone(),
    )
}

fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("no time: {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

/// Every entry has a time and an actor, the entries are in time order, each stream's in
/// sequence order from 1, and the elapsed time spans the first to the last.
fn assert_ordered_in_time(timeline: &Value) {
    let times: Vec<DateTime<Utc>> = entries(timeline)
        .iter()
        .map(|e| time(&e["occurred_at"]))
        .collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "not in time order: {timeline}"
    );
    assert!(entries(timeline).iter().all(|e| e["actor"].is_string()));
    for stream in ["checkout", "order", "payment"] {
        let sequences: Vec<u64> = of_stream(timeline, stream)
            .iter()
            .map(|e| e["sequence"].as_u64().unwrap())
            .collect();
        let expected: Vec<u64> = (1..=sequences.len() as u64).collect();
        assert_eq!(
            sequences, expected,
            "{stream} entries out of order: {timeline}"
        );
    }
    let (first, last) = (times[0], times[times.len() - 1]);
    assert_eq!(time(&timeline["first_event_at"]), first);
    assert_eq!(time(&timeline["last_event_at"]), last);
    assert_eq!(
        timeline["elapsed_ms"].as_i64(),
        Some((last - first).num_milliseconds())
    );
}

async fn settled(app: &TestApp, checkout: &str) -> Value {
    app.until(&format!("/v1/checkouts/{checkout}"), |c| {
        c["status"] != "pending"
    })
    .await
}

async fn a_completed_checkouts_timeline_lists_every_step_in_order(app: &TestApp) {
    let cart = cart_with(app, "TL-OK", 5, 2).await;
    let flow = uuid::Uuid::now_v7();
    let checkout = start(app, &cart, "tok_visa", flow).await;
    let done = settled(app, &checkout).await;
    assert_eq!(done["status"], "completed", "{done}");
    let order_id = done["order_id"].as_str().unwrap();

    let timeline = timeline(app, &checkout).await;
    assert_eq!(timeline["checkout_id"], checkout.as_str());
    assert_eq!(timeline["status"], "completed");
    assert!(timeline["failure"].is_null());
    assert_eq!(timeline["correlation_id"], flow.to_string());
    assert_eq!(timeline["order_id"], order_id);
    assert_eq!(timeline["payment_id"], done["payment_id"]);
    assert_eq!(timeline["pending_steps"], json!([]));
    assert_ordered_in_time(&timeline);

    let saga = event_types(&of_stream(&timeline, "checkout"));
    assert_eq!(
        saga[..5],
        [
            "CheckoutStarted",
            "StockReserved",
            "ReservationsCompleted",
            "PaymentAuthorized",
            "OrderPlaced"
        ],
        "{timeline}"
    );
    // After the pivot the steps run side by side, in any order; completion closes them.
    let mut finalizing = saga[5..saga.len() - 1].to_vec();
    finalizing.sort();
    assert_eq!(
        finalizing,
        [
            "CartCheckedOut",
            "OrderMarkedPaid",
            "PaymentCaptured",
            "ReservationCommitted"
        ]
    );
    assert_eq!(saga.last().unwrap(), "CheckoutCompleted");

    assert_eq!(
        step_of(&timeline, "StockReserved"),
        (
            json!("reserve_stock"),
            json!("succeeded"),
            json!("TL-OK × 2")
        )
    );
    assert_eq!(
        step_of(&timeline, "PaymentAuthorized"),
        (
            json!("authorize_payment"),
            json!("succeeded"),
            json!("20.00 EUR held")
        )
    );
    assert_eq!(
        step_of(&timeline, "OrderPlaced"),
        (
            json!("place_order"),
            json!("succeeded"),
            json!(format!("order {order_id}"))
        )
    );
    for (event_type, step) in [
        ("PaymentCaptured", "capture_payment"),
        ("OrderMarkedPaid", "mark_order_paid"),
        ("ReservationCommitted", "commit_stock"),
        ("CartCheckedOut", "check_out_cart"),
    ] {
        let (named, outcome, _) = step_of(&timeline, event_type);
        assert_eq!((named, outcome), (json!(step), json!("succeeded")));
    }
    assert_eq!(step_of(&timeline, "CheckoutStarted").0, Value::Null);
    assert_eq!(
        step_of(&timeline, "CheckoutStarted").2,
        "1 line, total 20.00 EUR"
    );
    let first = &entries(&timeline)[0];
    assert_eq!(first["actor"], "shopper");
    assert_eq!(first["aggregate_id"], checkout.as_str());

    // The order and the payment the checkout drove, from their own streams.
    let order = of_stream(&timeline, "order");
    assert_eq!(event_types(&order), ["OrderPlaced", "OrderPaid"]);
    assert!(order.iter().all(|e| e["aggregate_id"] == order_id));
    assert!(order.iter().all(|e| e["step"].is_null()));
    let payment = of_stream(&timeline, "payment");
    assert_eq!(
        event_types(&payment),
        ["PaymentAuthorized", "PaymentCaptured"]
    );
    assert_eq!(payment[1]["detail"], "20.00 EUR captured");
    // The payment authorized before the checkout recorded it, and was captured before the
    // order was marked paid: the timeline interleaves the streams as things happened.
    let position = |aggregate_type: &str, event_type: &str| {
        entries(&timeline)
            .iter()
            .position(|e| e["aggregate_type"] == aggregate_type && e["event_type"] == event_type)
            .unwrap()
    };
    assert!(position("payment", "PaymentAuthorized") < position("checkout", "PaymentAuthorized"));
    assert!(position("order", "OrderPlaced") < position("checkout", "OrderPlaced"));
    assert!(position("payment", "PaymentCaptured") < position("order", "OrderPaid"));
}
on_both_stores!(
    a_completed_checkouts_timeline_lists_every_step_in_order_on,
    a_completed_checkouts_timeline_lists_every_step_in_order
);

/// The saga records the outcomes of the steps it ran together in one append (ADR 0043): the
/// reservations of every line in one, then the capture, the commitments and the cart's
/// check-out in one. The events of one append share its time to the microsecond.
async fn the_outcomes_of_one_round_of_steps_are_recorded_in_one_append(app: &TestApp) {
    let cart = app.create_cart("EUR").await;
    for sku in ["TL-ROUND-A", "TL-ROUND-B", "TL-ROUND-C"] {
        stocked(app, sku, 5).await;
        add(app, &cart, sku, 1).await;
    }
    let checkout = start(app, &cart, "tok_visa", uuid::Uuid::now_v7()).await;
    assert_eq!(settled(app, &checkout).await["status"], "completed");

    let timeline = timeline(app, &checkout).await;
    let saga = of_stream(&timeline, "checkout");
    let appended_with = |types: &[&str]| -> Vec<String> {
        let mut times: Vec<String> = saga
            .iter()
            .filter(|e| types.contains(&e["event_type"].as_str().unwrap()))
            .map(|e| e["occurred_at"].as_str().unwrap().to_owned())
            .collect();
        times.dedup();
        times
    };
    let reserved = appended_with(&["StockReserved", "ReservationsCompleted"]);
    assert_eq!(
        reserved.len(),
        1,
        "reservations in several appends: {timeline}"
    );
    let finalized = appended_with(&["PaymentCaptured", "ReservationCommitted", "CartCheckedOut"]);
    assert_eq!(
        finalized.len(),
        1,
        "finalizing in several appends: {timeline}"
    );
    assert_eq!(
        saga.iter()
            .filter(|e| e["event_type"] == "ReservationCommitted")
            .count(),
        3
    );
}

on_both_stores!(
    the_outcomes_of_one_round_of_steps_are_recorded_in_one_append_on,
    the_outcomes_of_one_round_of_steps_are_recorded_in_one_append
);

async fn a_declined_checkouts_timeline_shows_the_failed_authorization_and_the_compensation(
    app: &TestApp,
) {
    let cart = cart_with(app, "TL-DECLINE", 5, 2).await;
    let checkout = start(app, &cart, "tok_declined", uuid::Uuid::now_v7()).await;
    assert_eq!(settled(app, &checkout).await["status"], "failed");

    let timeline = timeline(app, &checkout).await;
    assert_eq!(timeline["status"], "failed");
    assert_eq!(
        timeline["failure"],
        json!({"code": "payment_declined", "message": "Your card was declined."})
    );
    assert!(timeline["order_id"].is_null());
    assert_eq!(timeline["pending_steps"], json!([]));
    assert_ordered_in_time(&timeline);
    let saga = event_types(&of_stream(&timeline, "checkout"));
    assert_eq!(
        saga,
        [
            "CheckoutStarted",
            "StockReserved",
            "ReservationsCompleted",
            "PaymentDeclined",
            "StockReleased",
            "CartReleased",
            "CheckoutFailed"
        ],
        "{timeline}"
    );
    let (step, outcome, detail) = step_of(&timeline, "PaymentDeclined");
    assert_eq!(
        (step, outcome),
        (json!("authorize_payment"), json!("failed"))
    );
    assert_eq!(detail, "declined: Your card was declined.");
    assert_eq!(
        step_of(&timeline, "StockReleased"),
        (
            json!("release_stock"),
            json!("compensated"),
            json!("TL-DECLINE × 2")
        )
    );
    assert_eq!(
        (
            step_of(&timeline, "CartReleased").0,
            step_of(&timeline, "CartReleased").1
        ),
        (json!("release_cart"), json!("compensated"))
    );
    assert_eq!(step_of(&timeline, "CheckoutFailed").2, "payment_declined");
    // The provider's own answer, from the payment's stream; nothing was placed.
    let payment = of_stream(&timeline, "payment");
    assert_eq!(event_types(&payment), ["PaymentDeclined"]);
    assert!(
        payment[0]["detail"]
            .as_str()
            .unwrap()
            .contains("card_declined"),
        "{timeline}"
    );
    assert!(of_stream(&timeline, "order").is_empty());
}
on_both_stores!(
    a_declined_checkouts_timeline_shows_the_failed_authorization_and_the_compensation_on,
    a_declined_checkouts_timeline_shows_the_failed_authorization_and_the_compensation
);

async fn unknown_checkouts_and_callers_without_the_scope_get_no_timeline(app: &TestApp) {
    let unknown = format!("/v1/admin/checkouts/{}/timeline", uuid::Uuid::now_v7());
    assert_problem(app.get(&unknown).await, 404, "checkout_not_found").await;
    assert_problem(
        app.get("/v1/admin/checkouts/not-an-id/timeline").await,
        400,
        "invalid_id",
    )
    .await;

    let cart = cart_with(app, "TL-SCOPE", 5, 1).await;
    let checkout = start(app, &cart, "tok_visa", uuid::Uuid::now_v7()).await;
    let path = format!("{}/v1/admin/checkouts/{checkout}/timeline", app.base);
    let key = |grants: Grants| async move {
        let running = app.running.as_ref().unwrap();
        application::api_keys::issue(
            running.wired.api.api_keys.as_ref(),
            &shared_kernel::SystemClock,
            "timeline test",
            grants,
        )
        .await
        .unwrap()
        .secret
    };
    let with = |secret: Option<String>| {
        let path = path.clone();
        async move {
            client_with_key(secret.as_deref())
                .get(path)
                .send()
                .await
                .unwrap()
        }
    };
    assert_problem(with(None).await, 401, "unauthenticated").await;
    // Staff who may read orders or payments, but not checkouts, are refused.
    let others = Grants::Scopes(
        [
            Scope::Write(Area::Orders),
            Scope::Write(Area::Payments),
            Scope::Read(Area::Customers),
        ]
        .into(),
    );
    assert_problem(
        with(Some(key(others).await)).await,
        403,
        "insufficient_scope",
    )
    .await;
    let checkouts = Grants::Scopes([Scope::Read(Area::Checkouts)].into());
    let allowed = with(Some(key(checkouts).await)).await;
    assert_eq!(allowed.status(), 200);
    // A shopper's cart token opens the checkout, never its timeline.
    let token = app.cart_token_for(&format!("/v1/carts/{cart}")).unwrap();
    let shopper = reqwest::Client::new()
        .get(&path)
        .header("x-cart-token", token)
        .send()
        .await
        .unwrap();
    assert_problem(shopper, 401, "unauthenticated").await;
}
on_both_stores!(
    unknown_checkouts_and_callers_without_the_scope_get_no_timeline_on,
    unknown_checkouts_and_callers_without_the_scope_get_no_timeline
);

/// The API over a fresh store with no saga running: no feed runner, and the checkout route's
/// nudge does nothing, so every checkout stays where it was started (as when the runner is
/// down). Returns the client side, the wiring (to run the saga by hand) and the server.
async fn without_a_saga_runner(
    store: Store,
) -> (TestApp, commerce::Wired, actix_web::dev::ServerHandle) {
    let settings = settings_for(store).await;
    let wired = commerce::open(&settings).await.expect("the store opens");
    let mut api = wired.api.clone();
    api.checkout_started = Arc::new(|_| {});
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(rest::auth::authorize))
            .wrap(rest::problem_errors())
            .wrap(actix_web::middleware::from_fn(rest::trace_requests))
            .configure(rest::configure(api.clone()))
    })
    .workers(1)
    .shutdown_timeout(0)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    let key = application::api_keys::issue(
        wired.api.api_keys.as_ref(),
        &shared_kernel::SystemClock,
        "timeline test",
        Grants::Everything,
    )
    .await
    .unwrap()
    .secret;
    let app = TestApp {
        base,
        client: client_with_key(Some(&key)),
        cart_tokens: Default::default(),
        running: None,
        settings,
    };
    (app, wired, handle)
}

async fn a_checkout_held_back_lists_the_step_it_waits_for(store: Store) {
    let (app, wired, server) = without_a_saga_runner(store).await;
    let cart = cart_with(&app, "TL-HELD", 5, 3).await;
    let flow = uuid::Uuid::now_v7();
    let checkout = start(&app, &cart, "tok_visa", flow).await;

    let held = timeline(&app, &checkout).await;
    assert_eq!(held["status"], "reserving");
    assert_eq!(
        event_types(&of_stream(&held, "checkout")),
        ["CheckoutStarted"]
    );
    assert_eq!(
        held["pending_steps"],
        json!([{"step": "reserve_stock", "detail": "TL-HELD × 3"}])
    );
    assert_eq!(held["elapsed_ms"], 0);

    // Once the runner does its work, the steps it waited for are recorded, in the same flow.
    let id = shared_kernel::CheckoutId::parse(&checkout).unwrap();
    wired.saga.advance(id).await.unwrap();
    let moved = timeline(&app, &checkout).await;
    assert_eq!(moved["status"], "completed", "{moved}");
    assert_eq!(moved["pending_steps"], json!([]));
    assert_eq!(moved["correlation_id"], flow.to_string());
    assert_eq!(
        step_of(&moved, "StockReserved"),
        (
            json!("reserve_stock"),
            json!("succeeded"),
            json!("TL-HELD × 3")
        )
    );
    assert_ordered_in_time(&moved);
    server.stop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_held_back_lists_the_step_it_waits_for_on_sqlite() {
    a_checkout_held_back_lists_the_step_it_waits_for(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_held_back_lists_the_step_it_waits_for_on_postgres() {
    a_checkout_held_back_lists_the_step_it_waits_for(Store::Postgres).await;
}
