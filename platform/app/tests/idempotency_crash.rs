//! A crash never locks an idempotency key: the `commerce` binary is killed with SIGKILL in
//! the middle of a checkout request (just after it claimed the request's key), started again,
//! and the shopper's retry with the same key goes through at once instead of being refused
//! as still in flight. On both stores.
#![cfg(feature = "fault-injection")]

mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::Server;

async fn start(data_dir: &Path, database_url: Option<&str>, kill_at: Option<&str>) -> Server {
    let port = server::free_port();
    let mut command = server::command(data_dir, port);
    command
        .env("COMMERCE_DEMO_CATALOG", "false")
        .stderr(std::process::Stdio::null());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    if let Some(boundary) = kill_at {
        command.env("COMMERCE_FAULT_KILL_AT", boundary);
    }
    server::start(command, port).await
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

async fn a_retry_after_a_crash_mid_request_goes_through(database_url: Option<String>) {
    let data_dir = std::env::temp_dir().join(format!("commerce-crash-{}", uuid::Uuid::new_v4()));
    let url = database_url.as_deref();
    let client = server::client(&server::api_key(&data_dir, url).1);
    let server = start(&data_dir, url, Some("idempotency_claimed")).await;
    let base = server.base.clone();
    post(
        &client,
        format!("{base}/v1/admin/products"),
        json!({"title": "Crash test lamp", "publish": true,
               "variants": [{"sku": "CRASH-K", "prices": [{"amount": "30.00", "currency": "EUR"}]}]}),
    )
    .await;
    post(
        &client,
        format!("{base}/v1/admin/inventory/CRASH-K/receipts"),
        json!({"quantity": 5}),
    )
    .await;
    let cart = post(
        &client,
        format!("{base}/v1/carts"),
        json!({"currency": "EUR"}),
    )
    .await;
    let cart_id = cart["id"].as_str().unwrap().to_owned();
    let cart_token = cart["cart_token"].as_str().unwrap().to_owned();
    let added = client
        .post(format!("{base}/v1/carts/{cart_id}/items"))
        .header("x-cart-token", &cart_token)
        .json(&json!({"sku": "CRASH-K", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let body = json!({"email": "crash@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "C. Rash", "line1": "1 Main St",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}});
    let checkout = |base: String| {
        let request = client
            .post(format!("{base}/v1/carts/{cart_id}/checkout"))
            .header("x-cart-token", &cart_token)
            .header("idempotency-key", "crash-mid-request")
            .json(&body);
        async move { request.send().await }
    };
    // The process dies holding the key: the request never gets an answer.
    assert!(checkout(base.clone()).await.is_err(), "the server answered");
    let mut server = server;
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the server never died");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let server = start(&data_dir, url, None).await;
    let retried = checkout(server.base.clone()).await.unwrap();
    let status = retried.status().as_u16();
    let answer: Value = retried.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 202, "the retry was not let through: {answer}");
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_crash_mid_request_never_locks_its_key_on_sqlite() {
    a_retry_after_a_crash_mid_request_goes_through(None).await;
}

#[tokio::test]
async fn a_crash_mid_request_never_locks_its_key_on_postgres() {
    let url = acceptance::support::fresh_postgres_with_url().await.1;
    a_retry_after_a_crash_mid_request_goes_through(Some(url)).await;
}
