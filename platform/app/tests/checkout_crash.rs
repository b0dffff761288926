//! Crash anywhere: the `commerce` binary is killed with SIGKILL at a checkout step boundary
//! (the fault-injection switch, compiled in only for tests), then started again. Every
//! checkout must end completed, or compensated, exactly once: one order, one capture, stock
//! consistent. Runs on PostgreSQL; each boundary on a fresh database.
#![cfg(feature = "fault-injection")]

mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use server::Server;

use serde_json::{json, Value};

async fn start(data_dir: &Path, database_url: &str, kill_at: Option<&str>) -> Server {
    let port = server::free_port();
    let mut command = server::command(data_dir, port);
    command
        .env("COMMERCE_DEMO_CATALOG", "false")
        .env("COMMERCE_PAYMENT_TIMEOUT_SECS", "2")
        .env("DATABASE_URL", database_url)
        .stderr(std::process::Stdio::null());
    if let Some(boundary) = kill_at {
        command.env("COMMERCE_FAULT_KILL_AT", boundary);
    }
    server::start(command, port).await
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap_or(Value::Null)
}

/// Runs one checkout that the server dies in the middle of, and checks the aftermath.
async fn crash_at(boundary: &str, token: &str) {
    let database_url = acceptance::support::fresh_postgres_with_url().await.1;
    let data_dir = std::env::temp_dir().join(format!("commerce-crash-{}", uuid::Uuid::new_v4()));
    let client = reqwest::Client::new();
    let server = start(&data_dir, &database_url, Some(boundary)).await;
    let base = server.base.clone();

    let product = client
        .post(format!("{base}/v1/admin/products"))
        .json(&json!({"title": "Crash test lamp", "publish": true,
                      "variants": [{"sku": "CRASH-1", "prices": [{"amount": "30.00", "currency": "EUR"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(product.status(), 201);
    client
        .post(format!("{base}/v1/admin/inventory/CRASH-1/receipts"))
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .unwrap();
    let cart = json_of(
        client
            .post(format!("{base}/v1/carts"))
            .json(&json!({"currency": "EUR"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let cart_id = cart["id"].as_str().unwrap().to_owned();
    client
        .post(format!("{base}/v1/carts/{cart_id}/items"))
        .json(&json!({"sku": "CRASH-1", "quantity": 2}))
        .send()
        .await
        .unwrap();
    let key = format!("crash-{boundary}");
    let body = json!({"email": "crash@example.com", "payment_method_token": token,
                      "shipping_address": {"name": "C. Rash", "line1": "1 Main St", "city": "Berlin",
                                           "postal_code": "10115", "country": "DE"}});
    // The process may die before its 202 leaves; the checkout id is derived from the key.
    let checkout_id = shared_kernel::deterministic_uuid("checkout", &[&cart_id, &key]);
    let location = format!("/v1/checkouts/{checkout_id}");
    if let Ok(accepted) = client
        .post(format!("{base}/v1/carts/{cart_id}/checkout"))
        .header("idempotency-key", &key)
        .json(&body)
        .send()
        .await
    {
        assert_eq!(accepted.status(), 202);
        assert_eq!(accepted.headers()["location"].to_str().unwrap(), location);
    }

    // The saga reaches the boundary and the process dies there.
    let mut server = server;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server never reached {boundary}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success(), "killed at {boundary}");

    let server = start(&data_dir, &database_url, None).await;
    let base = server.base.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcome = loop {
        let checkout = json_of(
            client
                .get(format!("{base}{location}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        if checkout["status"] != "pending" {
            break checkout;
        }
        assert!(
            Instant::now() < deadline,
            "checkout never settled after {boundary}: {checkout}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let payment = client
        .get(format!(
            "{base}/v1/admin/payments/{}",
            outcome["payment_id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let payment = if payment.status() == 200 {
        json_of(payment).await
    } else {
        Value::Null
    };
    let stock = json_of(
        client
            .get(format!("{base}/v1/admin/inventory/CRASH-1"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let orders = loop {
        let listed = json_of(
            client
                .get(format!("{base}/v1/orders?email=crash@example.com"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let count = listed["data"].as_array().map_or(0, Vec::len);
        if count > 0 || outcome["status"] == "failed" || Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };

    if token == "tok_visa" {
        assert_eq!(
            outcome["status"], "completed",
            "after {boundary}: {outcome}"
        );
        assert_eq!(orders, 1, "exactly one order after {boundary}");
        assert_eq!(payment["status"], "captured", "after {boundary}: {payment}");
        assert_eq!(
            payment["captured"],
            json!({"amount": "60.00", "currency": "EUR"}),
            "one capture"
        );
        assert_eq!(
            (stock["on_hand"].as_u64(), stock["reserved"].as_u64()),
            (Some(3), Some(0))
        );
    } else {
        assert_eq!(outcome["status"], "failed", "after {boundary}: {outcome}");
        assert_eq!(orders, 0, "no order after {boundary}");
        assert!(
            payment.is_null() || payment["status"] == "declined" || payment["status"] == "voided"
        );
        assert_eq!(
            (stock["on_hand"].as_u64(), stock["reserved"].as_u64()),
            (Some(5), Some(0))
        );
        let cart = json_of(
            client
                .get(format!("{base}/v1/carts/{cart_id}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            cart["status"], "open",
            "the cart is unlocked after {boundary}"
        );
    }
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
}

macro_rules! crash_cases {
    ($token:literal: $($name:ident => $boundary:literal),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                crash_at($boundary, $token).await;
            }
        )+
    };
}

crash_cases!("tok_visa":
    killed_before_recording_a_reservation => "before:stock_reserved",
    killed_after_recording_a_reservation => "after:stock_reserved",
    killed_before_recording_the_authorization => "before:payment_authorized",
    killed_after_recording_the_authorization => "after:payment_authorized",
    killed_before_recording_the_order => "before:order_placed",
    killed_after_recording_the_order => "after:order_placed",
    killed_before_recording_the_capture => "before:payment_captured",
    killed_after_recording_the_capture => "after:payment_captured",
    killed_before_recording_the_commit => "before:reservation_committed",
    killed_after_recording_the_commit => "after:reservation_committed",
    killed_before_recording_the_checked_out_cart => "before:cart_checked_out",
    killed_after_recording_the_checked_out_cart => "after:cart_checked_out",
);

crash_cases!("tok_declined":
    killed_before_recording_a_decline => "before:payment_declined",
    killed_after_recording_a_decline => "after:payment_declined",
    killed_before_recording_a_release => "before:stock_released",
    killed_after_recording_a_release => "after:stock_released",
    killed_before_recording_the_unlocked_cart => "before:cart_released",
    killed_after_recording_the_unlocked_cart => "after:cart_released",
);
