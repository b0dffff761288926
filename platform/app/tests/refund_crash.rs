//! Crash anywhere in a refund: the `commerce` binary is killed with SIGKILL just before and
//! just after recording each outcome the refund saga's list names (`refunds::STEPS`), then
//! started again. Every refund must end exactly once: one refund at the payment provider and
//! one restock when the money went back; the order's balance whole again when it could not.
//! Runs on PostgreSQL; each boundary on a fresh database.
#![cfg(feature = "fault-injection")]

mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::Server;

async fn start(data_dir: &Path, database_url: &str, kill_at: Option<&str>) -> Server {
    let port = server::free_port();
    let mut command = server::command(data_dir, port);
    command
        .env("COMMERCE_DEMO_CATALOG", "false")
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

async fn get(client: &reqwest::Client, url: String) -> Value {
    json_of(client.get(url).send().await.unwrap()).await
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    json_of(client.post(url).json(&body).send().await.unwrap()).await
}

/// Reads `url` until `ready` holds (30 s at most).
async fn until(client: &reqwest::Client, url: String, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = get(client, url.clone()).await;
        if ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{url} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A paid order of 2 × CRASH-R at 30.00 from a checkout (5 received, so 3 on hand after).
async fn paid_by_checkout(client: &reqwest::Client, base: &str) -> String {
    post(
        client,
        format!("{base}/v1/admin/products"),
        json!({"title": "Crash test lamp", "publish": true,
               "variants": [{"sku": "CRASH-R", "prices": [{"amount": "30.00", "currency": "EUR"}]}]}),
    )
    .await;
    post(
        client,
        format!("{base}/v1/admin/inventory/CRASH-R/receipts"),
        json!({"quantity": 5}),
    )
    .await;
    let cart = post(
        client,
        format!("{base}/v1/carts"),
        json!({"currency": "EUR"}),
    )
    .await;
    let cart_id = cart["id"].as_str().unwrap().to_owned();
    let cart_token = cart["cart_token"].as_str().unwrap().to_owned();
    let added = client
        .post(format!("{base}/v1/carts/{cart_id}/items"))
        .header("x-cart-token", &cart_token)
        .json(&json!({"sku": "CRASH-R", "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let accepted = client
        .post(format!("{base}/v1/carts/{cart_id}/checkout"))
        .header("x-cart-token", &cart_token)
        .header("idempotency-key", "crash-refund-checkout")
        .json(
            &json!({"email": "crash@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "C. Rash", "line1": "1 Main St",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"].to_str().unwrap().to_owned();
    let done = until(client, format!("{base}{location}"), |c| {
        c["status"] != "pending"
    })
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    done["order_id"].as_str().unwrap().to_owned()
}

/// A paid order staff placed and marked paid outside the platform: there is no payment to
/// give money back through, so the provider step is refused.
async fn paid_outside(client: &reqwest::Client, base: &str) -> String {
    post(
        client,
        format!("{base}/v1/admin/products"),
        json!({"title": "Crash test vase", "publish": true,
               "variants": [{"sku": "CRASH-V", "prices": [{"amount": "12.00", "currency": "EUR"}]}]}),
    )
    .await;
    let order = post(
        client,
        format!("{base}/v1/admin/orders"),
        json!({"email": "crash@example.com", "currency": "EUR",
               "lines": [{"sku": "CRASH-V", "quantity": 1}],
               "shipping_address": {"name": "C. Rash", "line1": "1 Main St", "city": "Berlin",
                                    "postal_code": "10115", "country": "DE"}}),
    )
    .await;
    let order_id = order["id"].as_str().unwrap().to_owned();
    let paid = post(
        client,
        format!("{base}/v1/admin/orders/{order_id}/mark-paid"),
        json!({}),
    )
    .await;
    assert_eq!(paid["status"], "paid", "{paid}");
    order_id
}

/// One refund that the server dies in the middle of, and its aftermath.
async fn crash_at(boundary: &str, refused_path: bool) {
    let database_url = acceptance::support::fresh_postgres_with_url().await.1;
    let data_dir = std::env::temp_dir().join(format!("commerce-crash-{}", uuid::Uuid::new_v4()));
    let (key_id, key) = server::api_key(&data_dir, Some(&database_url));
    let client = server::client(&key);
    let server = start(&data_dir, &database_url, Some(boundary)).await;
    let base = server.base.clone();
    let (order_id, body) = if refused_path {
        let order = paid_outside(&client, &base).await;
        (
            order,
            json!({"amount": {"amount": "5.00", "currency": "EUR"}, "reason": "Crash"}),
        )
    } else {
        let order = paid_by_checkout(&client, &base).await;
        let body = json!({"lines": [{"sku": "CRASH-R", "quantity": 1}], "reason": "Crash",
                          "restock": true});
        (order, body)
    };
    let key = format!("crash-refund-{boundary}");
    // The process may die before its 202 leaves; the refund id is derived from the key and
    // the caller that sent it.
    let caller = format!("api_key:{key_id}");
    let refund_id = shared_kernel::deterministic_uuid("refund", &[&order_id, &key, &caller]);
    if let Ok(accepted) = client
        .post(format!("{base}/v1/admin/orders/{order_id}/refunds"))
        .header("idempotency-key", &key)
        .json(&body)
        .send()
        .await
    {
        assert_eq!(accepted.status(), 202, "{boundary}");
    }

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
    let refund = until(
        &client,
        format!("{base}/v1/admin/refunds/{refund_id}"),
        |r| r["progress"] == "completed" || r["progress"] == "failed",
    )
    .await;
    let order = get(&client, format!("{base}/v1/orders/{order_id}")).await;
    assert_eq!(order["refunds"].as_array().unwrap().len(), 1, "{boundary}");
    if refused_path {
        assert_eq!(refund["progress"], "failed", "after {boundary}: {refund}");
        assert_eq!(refund["status"], "released", "after {boundary}: {refund}");
        assert!(refund["failure_reason"].is_string(), "{refund}");
        assert_eq!(
            order["financial_status"], "paid",
            "after {boundary}: {order}"
        );
    } else {
        assert_eq!(
            refund["progress"], "completed",
            "after {boundary}: {refund}"
        );
        assert_eq!(refund["status"], "refunded", "after {boundary}: {refund}");
        let payment_id = order["payment_id"].as_str().unwrap();
        let payment = get(&client, format!("{base}/v1/admin/payments/{payment_id}")).await;
        assert_eq!(
            payment["refunds"].as_array().unwrap().len(),
            1,
            "one refund at the provider after {boundary}: {payment}"
        );
        assert_eq!(
            payment["refunded"],
            json!({"amount": "30.00", "currency": "EUR"})
        );
        let stock = get(&client, format!("{base}/v1/admin/inventory/CRASH-R")).await;
        assert_eq!(
            stock["on_hand"].as_u64(),
            Some(4),
            "one restock after {boundary}: {stock}"
        );
        assert_eq!(order["financial_status"], "partially_refunded");
    }
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Every outcome the refund saga's list names, killed just before and just after it is
/// recorded. A step added to the list is crash-tested without touching this file.
#[tokio::test]
async fn a_refund_survives_a_kill_at_every_boundary_of_its_list() {
    let refused_path = ["RecordPaymentRefundRefused", "RecordOrderReleased"];
    let outcomes: Vec<&str> = refunds::STEPS
        .iter()
        .flat_map(|step| step.outcomes.iter().copied())
        .collect();
    assert!(outcomes.contains(&"RecordPaymentRefunded"), "{outcomes:?}");
    for outcome in outcomes {
        for side in ["before", "after"] {
            crash_at(
                &format!("{side}:{outcome}"),
                refused_path.contains(&outcome),
            )
            .await;
        }
    }
}
