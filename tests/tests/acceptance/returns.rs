//! Shopper returns through REST: requested on the order, approved or rejected by staff,
//! received with the units that can be sold again, then refunded by the refund saga,
//! restocking only the resellable units.

use serde_json::{json, Value};

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

fn eur(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

async fn a_return_is_refunded_on_receipt_restocking_only_what_can_be_sold(app: &TestApp) {
    let (order, _) = app.paid_order("RT-FLOW", 3).await;
    assert_eq!(app.on_hand("RT-FLOW").await, 7);
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
    assert_eq!(app.on_hand("RT-FLOW").await, 7);

    let received = app
        .post_json(
            &format!("/v1/admin/returns/{id}/receive"),
            &json!({"lines": [{"sku": "RT-FLOW", "quantity": 2, "resellable": 1}]}),
        )
        .await;
    assert_eq!(received.status(), 200);
    let done = app
        .until(&location, |r| {
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
    assert_eq!(app.on_hand("RT-FLOW").await, 8);
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
    let (order, _) = app.paid_order("RT-BAD", 2).await;
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
    assert_eq!(app.on_hand("RT-BAD").await, 8);
}
on_both_stores!(
    returns_are_refused_when_they_cannot_be_and_change_nothing_on,
    returns_are_refused_when_they_cannot_be_and_change_nothing
);
