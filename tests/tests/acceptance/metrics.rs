//! `GET /metrics` (ADR 0030): after real checkouts every family has plausible values, and a
//! projector that cannot commit shows its lag in events and in seconds.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::app::{client_with_key, spawn_app, Store, TestApp};

/// The value of the sample `series` (name and labels exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn at_least(text: &str, series: &str, minimum: f64) {
    let value = sample(text, series).unwrap_or_else(|| panic!("{series} is exposed:\n{text}"));
    assert!(
        value >= minimum,
        "{series} = {value}, expected at least {minimum}"
    );
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.expect("text")
}

async fn declined_checkout(app: &TestApp, sku: &str) {
    app.published_product(sku, "5.00").await;
    app.post_json(
        &format!("/v1/admin/inventory/{sku}/receipts"),
        &json!({"quantity": 3}),
    )
    .await;
    let cart = app.create_cart("EUR").await;
    app.post_json(
        &format!("/v1/carts/{cart}/items"),
        &json!({"sku": sku, "quantity": 1}),
    )
    .await;
    let response = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("idempotency-key", format!("declined-{sku}"))
        .json(
            &json!({"email": "metrics@example.com", "payment_method_token": "tok_declined",
                      "shipping_address": {"name": "M. Etrics", "line1": "1 Gauge Rd",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let done = app.until(&location, |c| c["status"] != "pending").await;
    assert_eq!(done["status"], "failed", "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_what_happened_and_how_far_each_consumer_is_behind() {
    let app = spawn_app(Store::Postgres).await;
    let refused = client_with_key(None)
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 401, "metrics need an API key");

    app.paid_order("METRICS-1", 2).await;
    declined_checkout(&app, "METRICS-2").await;
    for _ in 0..2 {
        let created = app
            .request(Method::POST, "/v1/carts")
            .header("idempotency-key", "metrics-replayed-cart")
            .json(&json!({"currency": "EUR"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(created.status(), 201);
    }

    let text = scrape(&app).await;
    at_least(
        &text,
        r#"http_server_request_duration_seconds_count{http_request_method="POST",http_route="/v1/carts/{id}/checkout",http_response_status_code="202"}"#,
        2.0,
    );
    at_least(
        &text,
        r#"http_server_request_duration_seconds_bucket{le="+Inf",http_request_method="POST",http_route="/v1/carts/{id}/items",http_response_status_code="200"}"#,
        2.0,
    );
    at_least(
        &text,
        r#"commerce_commands_total{aggregate_type="checkout",outcome="accepted"}"#,
        10.0,
    );
    at_least(
        &text,
        r#"commerce_events_appended_total{aggregate_type="order"}"#,
        2.0,
    );
    at_least(
        &text,
        r#"commerce_events_appended_total{aggregate_type="checkout"}"#,
        10.0,
    );
    at_least(
        &text,
        r#"commerce_checkouts_total{outcome="completed",reason=""}"#,
        1.0,
    );
    at_least(
        &text,
        r#"commerce_checkouts_total{outcome="failed",reason="payment_declined"}"#,
        1.0,
    );
    for (operation, outcome) in [
        ("authorize", "succeeded"),
        ("capture", "succeeded"),
        ("authorize", "declined"),
    ] {
        at_least(
            &text,
            &format!(
                r#"commerce_gateway_call_duration_seconds_count{{operation="{operation}",outcome="{outcome}"}}"#
            ),
            1.0,
        );
    }
    at_least(
        &text,
        r#"commerce_idempotency_replays_total{http_route="/v1/carts"}"#,
        1.0,
    );
    at_least(
        &text,
        r#"commerce_db_pool_connections{pool="postgres",state="max"}"#,
        1.0,
    );
    at_least(
        &text,
        r#"commerce_db_pool_connections{pool="postgres",state="idle"}"#,
        0.0,
    );
    at_least(
        &text,
        r#"commerce_db_pool_acquire_seconds_count{pool="postgres"}"#,
        1.0,
    );
    for consumer in [
        "orders",
        "product_catalog",
        "checkout_saga",
        "refund_saga",
        "webhooks.dispatcher",
    ] {
        at_least(
            &text,
            &format!(r#"commerce_consumer_lag_events{{consumer="{consumer}"}}"#),
            0.0,
        );
        at_least(
            &text,
            &format!(r#"commerce_consumer_lag_seconds{{consumer="{consumer}"}}"#),
            0.0,
        );
    }

    // Hold the projectors back: with the checkpoints table share-locked none can commit a
    // batch (the lock takes no transaction id, so the feed itself keeps flowing).
    app.published_product("METRICS-3", "10.00").await;
    app.post_json(
        "/v1/admin/inventory/METRICS-3/receipts",
        &json!({"quantity": 5}),
    )
    .await;
    let url = match app.settings.store_url() {
        commerce::config::StoreUrl::Postgres(url) => url,
        commerce::config::StoreUrl::Sqlite(_) => unreachable!("a PostgreSQL app"),
    };
    let pool = sqlx::PgPool::connect(&url).await.expect("connects");
    let mut holding = pool.begin().await.expect("a transaction");
    sqlx::query("LOCK TABLE projection_checkpoints IN SHARE MODE")
        .execute(&mut *holding)
        .await
        .expect("locked");
    let cart = app.create_cart("EUR").await;
    app.post_json(
        &format!("/v1/carts/{cart}/items"),
        &json!({"sku": "METRICS-3", "quantity": 1}),
    )
    .await;
    let response = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("idempotency-key", "metrics-held-back")
        .json(
            &json!({"email": "metrics@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "M. Etrics", "line1": "1 Gauge Rd",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let done = app.until(&location, |c| c["status"] != "pending").await;
    assert_eq!(done["status"], "completed", "{done}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = scrape(&app).await;
    at_least(
        &text,
        r#"commerce_consumer_lag_events{consumer="orders"}"#,
        5.0,
    );
    let seconds = sample(&text, r#"commerce_consumer_lag_seconds{consumer="orders"}"#).unwrap();
    assert!(
        seconds >= 0.3,
        "the oldest unprojected event is {seconds} s old"
    );
    holding.rollback().await.expect("released");

    // Released, it catches up, and so does the gauge.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(&app).await;
        if sample(&text, r#"commerce_consumer_lag_events{consumer="orders"}"#) == Some(0.0) {
            assert_eq!(
                sample(&text, r#"commerce_consumer_lag_seconds{consumer="orders"}"#),
                Some(0.0)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the orders projector caught up:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
