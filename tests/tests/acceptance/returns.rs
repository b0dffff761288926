//! Shopper returns through REST: requested on the order, approved or rejected by staff,
//! received with the units that can be sold again, then refunded by the refund saga,
//! restocking only the resellable units.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

fn eur(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

/// A completed checkout of `quantity` units of `sku` at 10.00 EUR (of 10 in stock).
async fn paid_order(app: &TestApp, sku: &str, quantity: u32) -> String {
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
            &json!({"sku": sku, "quantity": quantity}),
        )
        .await;
    assert_eq!(added.status(), 200);
    let response = app
        .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
        .header("idempotency-key", format!("return-test-{sku}"))
        .json(
            &json!({"email": "grace@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "Grace Hopper", "line1": "1 Navy Way",
                                           "city": "Arlington", "postal_code": "22202",
                                           "country": "US"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let done = until(app, &location, |c| c["status"] != "pending").await;
    assert_eq!(done["status"], "completed", "{done}");
    done["order_id"].as_str().unwrap().to_owned()
}

async fn until(app: &TestApp, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body: Value = app.get(path).await.json().await.unwrap();
        if ready(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn on_hand(app: &TestApp, sku: &str) -> u64 {
    let level: Value = app
        .get(&format!("/v1/admin/inventory/{sku}"))
        .await
        .json()
        .await
        .unwrap();
    level["on_hand"].as_u64().unwrap()
}

async fn a_return_is_refunded_on_receipt_restocking_only_what_can_be_sold(app: &TestApp) {
    let order = paid_order(app, "RT-FLOW", 3).await;
    assert_eq!(on_hand(app, "RT-FLOW").await, 7);
    let created = app
        .post_json(
            &format!("/v1/orders/{order}/returns"),
            &json!({"lines": [{"sku": "RT-FLOW", "quantity": 2}], "reason": "Too small"}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let ret: Value = created.json().await.unwrap();
    assert_eq!(ret["status"], "requested");
    assert_eq!(ret["refund_id"], Value::Null);
    let id = ret["id"].as_str().unwrap();

    // Nothing is refunded or restocked on approval: the goods are still in the post.
    let approved: Value = app
        .post_json(&format!("/v1/admin/returns/{id}/approve"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(on_hand(app, "RT-FLOW").await, 7);

    let received = app
        .post_json(
            &format!("/v1/admin/returns/{id}/receive"),
            &json!({"lines": [{"sku": "RT-FLOW", "quantity": 2, "resellable": 1}]}),
        )
        .await;
    assert_eq!(received.status(), 200);
    let done = until(app, &location, |r| {
        r["status"] == "refunded" || r["status"] == "refund_failed"
    })
    .await;
    assert_eq!(done["status"], "refunded", "{done}");
    let refund: Value = app
        .get(&format!(
            "/v1/admin/refunds/{}",
            done["refund_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refund["progress"], "completed", "{refund}");
    assert_eq!(refund["amount"], eur("20.00"));
    assert_eq!(refund["origin"], "return");
    // Two units refunded, one of them back on sale.
    assert_eq!(on_hand(app, "RT-FLOW").await, 8);
    let order: Value = app
        .get(&format!("/v1/orders/{order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["refunded_total"], eur("20.00"));
    assert_eq!(order["financial_status"], "partially_refunded");
}
on_both_stores!(
    a_return_is_refunded_on_receipt_restocking_only_what_can_be_sold_on,
    a_return_is_refunded_on_receipt_restocking_only_what_can_be_sold
);

async fn returns_are_refused_when_they_cannot_be_and_change_nothing(app: &TestApp) {
    let order = paid_order(app, "RT-BAD", 2).await;
    let create = |body: Value| {
        let path = format!("/v1/orders/{order}/returns");
        async move { app.post_json(&path, &body).await }
    };
    assert_problem(
        create(json!({"lines": [{"sku": "RT-BAD", "quantity": 3}], "reason": "x"})).await,
        422,
        "too_many_units",
    )
    .await;
    assert_problem(
        create(json!({"lines": [{"sku": "NOPE", "quantity": 1}], "reason": "x"})).await,
        422,
        "unknown_line",
    )
    .await;
    assert_problem(
        create(json!({"lines": [], "reason": "x"})).await,
        400,
        "validation_failed",
    )
    .await;
    assert_problem(
        create(json!({"lines": [{"sku": "RT-BAD", "quantity": 1}], "reason": ""})).await,
        422,
        "invalid_reason",
    )
    .await;
    let unknown = uuid::Uuid::now_v7();
    assert_problem(
        app.post_json(
            &format!("/v1/orders/{unknown}/returns"),
            &json!({"lines": [{"sku": "RT-BAD", "quantity": 1}], "reason": "x"}),
        )
        .await,
        404,
        "order_not_found",
    )
    .await;
    assert_problem(
        app.get(&format!("/v1/returns/{unknown}")).await,
        404,
        "return_not_found",
    )
    .await;

    let ret: Value = create(json!({"lines": [{"sku": "RT-BAD", "quantity": 1}], "reason": "x"}))
        .await
        .json()
        .await
        .unwrap();
    let id = ret["id"].as_str().unwrap();
    assert_problem(
        app.post_json(
            &format!("/v1/admin/returns/{id}/receive"),
            &json!({"lines": [{"sku": "RT-BAD", "quantity": 1, "resellable": 1}]}),
        )
        .await,
        409,
        "not_allowed",
    )
    .await;
    let rejected: Value = app
        .post_json(
            &format!("/v1/admin/returns/{id}/reject"),
            &json!({"reason": "Bought over 30 days ago"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejection"], "Bought over 30 days ago");
    assert_problem(
        app.post_json(&format!("/v1/admin/returns/{id}/approve"), &json!({}))
            .await,
        409,
        "not_allowed",
    )
    .await;

    let second: Value = create(json!({"lines": [{"sku": "RT-BAD", "quantity": 2}], "reason": "y"}))
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap();
    app.post_json(
        &format!("/v1/admin/returns/{second_id}/approve"),
        &json!({}),
    )
    .await;
    assert_problem(
        app.post_json(
            &format!("/v1/admin/returns/{second_id}/receive"),
            &json!({"lines": [{"sku": "RT-BAD", "quantity": 2, "resellable": 3}]}),
        )
        .await,
        422,
        "invalid_receipt",
    )
    .await;
    let order_now: Value = app
        .get(&format!("/v1/orders/{order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order_now["refunds"], json!([]));
    assert_eq!(on_hand(app, "RT-BAD").await, 8);
}
on_both_stores!(
    returns_are_refused_when_they_cannot_be_and_change_nothing_on,
    returns_are_refused_when_they_cannot_be_and_change_nothing
);
