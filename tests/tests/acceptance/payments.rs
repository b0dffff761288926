//! Payments over REST with the sandbox gateway: the state machine, its limits, and the
//! gateway's failure modes.

use serde_json::{json, Value};

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

fn eur(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

async fn authorize(app: &TestApp, token: &str, amount: &str) -> (u16, Value) {
    let response = app
        .post_json(
            "/v1/admin/payments",
            &json!({"amount": eur(amount), "payment_method_token": token}),
        )
        .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn post(app: &TestApp, path: String, body: Value) -> reqwest::Response {
    app.post_json(&path, &body).await
}

async fn a_payment_is_captured_in_parts_and_never_refunded_around_its_order(app: &TestApp) {
    let (status, payment) = authorize(app, "tok_visa", "100.00").await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["status"], "authorized");
    let id = payment["id"].as_str().unwrap();
    let base = format!("/v1/admin/payments/{id}");

    let first: Value = post(
        app,
        format!("{base}/captures"),
        json!({"amount": eur("60.00")}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["captured"], eur("60.00"));
    assert_problem(
        post(
            app,
            format!("{base}/captures"),
            json!({"amount": eur("40.01")}),
        )
        .await,
        422,
        "over_capture",
    )
    .await;
    let rest: Value = post(app, format!("{base}/captures"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["captured"], eur("100.00"));
    assert_eq!(rest["status"], "captured");
    assert_problem(
        post(app, format!("{base}/void"), json!({})).await,
        409,
        "not_allowed",
    )
    .await;

    // Money goes back only through a refund of the order, which holds the refundable
    // balance (ADR 0018): the payment's own refund route is gone.
    assert_problem(
        post(
            app,
            format!("{base}/refunds"),
            json!({"amount": eur("30.00")}),
        )
        .await,
        404,
        "route_not_found",
    )
    .await;

    let fetched = app.get(&base).await;
    assert_eq!(fetched.headers()["etag"], "\"3\"");
}
on_both_stores!(
    a_payment_is_captured_in_parts_and_never_refunded_around_its_order_on,
    a_payment_is_captured_in_parts_and_never_refunded_around_its_order
);

async fn declines_are_recorded_with_a_readable_reason(app: &TestApp) {
    let (status, payment) = authorize(app, "tok_insufficient_funds", "20.00").await;
    assert_eq!(status, 201);
    assert_eq!(payment["status"], "declined");
    assert_eq!(payment["decline"]["code"], "insufficient_funds");
    assert_eq!(
        payment["decline"]["message"],
        "Your card has insufficient funds."
    );
    let id = payment["id"].as_str().unwrap();
    assert_problem(
        post(app, format!("/v1/admin/payments/{id}/captures"), json!({})).await,
        409,
        "not_allowed",
    )
    .await;
}
on_both_stores!(
    declines_are_recorded_with_a_readable_reason_on,
    declines_are_recorded_with_a_readable_reason
);

async fn a_voided_authorization_cannot_be_captured(app: &TestApp) {
    let (_, payment) = authorize(app, "tok_visa", "15.00").await;
    let id = payment["id"].as_str().unwrap();
    let voided: Value = post(app, format!("/v1/admin/payments/{id}/void"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(voided["status"], "voided");
    assert_eq!(
        post(app, format!("/v1/admin/payments/{id}/void"), json!({}))
            .await
            .status(),
        200
    );
    assert_problem(
        post(app, format!("/v1/admin/payments/{id}/captures"), json!({})).await,
        409,
        "not_allowed",
    )
    .await;
}
on_both_stores!(
    a_voided_authorization_cannot_be_captured_on,
    a_voided_authorization_cannot_be_captured
);

async fn gateway_trouble_is_told_apart(app: &TestApp) {
    // A transient failure changes nothing and says so; the retry with the same id succeeds.
    let payment_id = uuid::Uuid::now_v7().to_string();
    let body = json!({"payment_id": payment_id, "amount": eur("9.00"), "payment_method_token": "tok_transient"});
    assert_problem(
        app.post_json("/v1/admin/payments", &body).await,
        503,
        "gateway_unavailable",
    )
    .await;
    assert_problem(
        app.get(&format!("/v1/admin/payments/{payment_id}")).await,
        404,
        "payment_not_found",
    )
    .await;
    let retried: Value = app
        .post_json("/v1/admin/payments", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(retried["status"], "authorized");

    // A timeout is neither success nor failure until reconciled.
    let (_, unknown) = authorize(app, "tok_timeout", "12.00").await;
    assert_eq!(unknown["status"], "authorization_unknown");
    let id = unknown["id"].as_str().unwrap();
    assert_problem(
        post(app, format!("/v1/admin/payments/{id}/captures"), json!({})).await,
        409,
        "not_allowed",
    )
    .await;
    let reconciled: Value = post(app, format!("/v1/admin/payments/{id}/reconcile"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reconciled["status"], "authorized");
}
on_both_stores!(
    gateway_trouble_is_told_apart_on,
    gateway_trouble_is_told_apart
);

async fn bad_payment_requests_are_refused(app: &TestApp) {
    let cases = [
        (
            json!({"amount": eur("-1.00"), "payment_method_token": "tok_visa"}),
            422,
            "invalid_amount",
        ),
        (
            json!({"amount": eur("0.00"), "payment_method_token": "tok_visa"}),
            422,
            "invalid_amount",
        ),
        (
            json!({"amount": eur("1.001"), "payment_method_token": "tok_visa"}),
            422,
            "invalid_amount",
        ),
        (
            json!({"amount": {"amount": "1.00", "currency": "XXX"}, "payment_method_token": "tok_visa"}),
            400,
            "validation_failed",
        ),
        (json!({"amount": eur("1.00")}), 400, "validation_failed"),
        (
            json!({"payment_id": "nope", "amount": eur("1.00"), "payment_method_token": "tok_visa"}),
            400,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        assert_problem(
            app.post_json("/v1/admin/payments", &body).await,
            status,
            code,
        )
        .await;
    }
    let (_, payment) = authorize(app, "tok_visa", "5.00").await;
    let id = payment["id"].as_str().unwrap();
    let usd = json!({"amount": {"amount": "1.00", "currency": "USD"}});
    assert_problem(
        post(app, format!("/v1/admin/payments/{id}/captures"), usd).await,
        422,
        "currency_mismatch",
    )
    .await;
    assert_problem(app.get("/v1/admin/payments/xyz").await, 400, "invalid_id").await;
    let after: Value = app
        .get(&format!("/v1/admin/payments/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["captured"]["amount"], "0.00", "{after}");
}
on_both_stores!(
    bad_payment_requests_are_refused_on,
    bad_payment_requests_are_refused
);
