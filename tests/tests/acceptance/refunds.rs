//! Refunds end to end through REST: requested on the order, carried out by the refund saga
//! (money back through the payment, units back into stock), refused cleanly when they do not
//! fit, and never more than was captured however many are requested at once.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, spawn_app, Store, TestApp};
use crate::cart_shipping::shipped_order;
use crate::events::whole_feed;
use crate::on_both_stores;

fn eur(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

async fn refund(app: &TestApp, order: &str, key: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, &format!("/v1/admin/orders/{order}/refunds"))
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Requests a refund that must be accepted, and waits until its saga is done.
async fn refunded(app: &TestApp, order: &str, key: &str, body: Value) -> Value {
    let response = refund(app, order, key, body).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    app.until(&location, |r| {
        r["progress"] == "completed" || r["progress"] == "failed"
    })
    .await
}

async fn a_refund_of_lines_gives_the_money_back_and_restocks(app: &TestApp) {
    let (order, payment) = app.paid_order("RF-LINES", 3).await;
    assert_eq!(app.on_hand("RF-LINES").await, 7);
    let done = refunded(
        app,
        &order,
        "rf-lines-1",
        json!({"lines": [{"sku": "RF-LINES", "quantity": 2}], "reason": "Too small",
               "restock": true}),
    )
    .await;
    assert_eq!(done["progress"], "completed", "{done}");
    assert_eq!(done["status"], "refunded");
    assert_eq!(done["amount"], eur("20.00"));
    assert_eq!(done["lines"][0]["quantity"], 2);
    assert_eq!(app.on_hand("RF-LINES").await, 9);
    let paid: Value = app
        .get(&format!("/v1/admin/payments/{payment}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["refunded"], eur("20.00"));
    let order: Value = app
        .get(&format!("/v1/orders/{order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["financial_status"], "partially_refunded");
    assert_eq!(order["refunded_total"], eur("20.00"));
    assert_eq!(order["refunds"][0]["status"], "refunded");
}
on_both_stores!(
    a_refund_of_lines_gives_the_money_back_and_restocks_on,
    a_refund_of_lines_gives_the_money_back_and_restocks
);

/// Staff follow a refund with one long-poll: the answer comes when its saga has completed.
async fn a_refund_is_long_polled_until_it_completes(app: &TestApp) {
    let (order, _) = app.paid_order("RF-WAIT", 2).await;
    let response = refund(
        app,
        &order,
        "rf-wait-1",
        json!({"lines": [{"sku": "RF-WAIT", "quantity": 1}], "reason": "Too small",
               "restock": true}),
    )
    .await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let done: Value = app
        .get(&format!("{location}?wait=10"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["progress"], "completed", "{done}");
    assert_eq!(done["status"], "refunded");
    let bad = app.get(&format!("{location}?wait=31")).await;
    assert_problem(bad, 400, "validation_failed").await;
}
on_both_stores!(
    a_refund_is_long_polled_until_it_completes_on,
    a_refund_is_long_polled_until_it_completes
);

async fn an_amount_refund_is_allocated_and_the_rest_stays_refundable(app: &TestApp) {
    let (order, _) = app.paid_order("RF-AMOUNT", 3).await;
    let done = refunded(
        app,
        &order,
        "rf-amount-1",
        json!({"amount": eur("10.01"), "reason": "Arrived late"}),
    )
    .await;
    assert_eq!(done["progress"], "completed", "{done}");
    assert_eq!(done["lines"][0]["amount"], eur("10.01"));
    assert_eq!(done["lines"][0]["quantity"], 0);
    // Nothing is restocked for money alone.
    assert_eq!(app.on_hand("RF-AMOUNT").await, 7);
    let over = refund(
        app,
        &order,
        "rf-amount-2",
        json!({"amount": eur("20.00"), "reason": "Again"}),
    )
    .await;
    let problem = assert_problem(over, 422, "over_refund").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("19.99"),
        "{problem}"
    );
    let rest = refunded(
        app,
        &order,
        "rf-amount-3",
        json!({"amount": eur("19.99"), "reason": "The rest"}),
    )
    .await;
    assert_eq!(rest["progress"], "completed", "{rest}");
    let order: Value = app
        .get(&format!("/v1/orders/{order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["financial_status"], "refunded");
    assert_eq!(order["refunded_total"], eur("30.00"));
}
on_both_stores!(
    an_amount_refund_is_allocated_and_the_rest_stays_refundable_on,
    an_amount_refund_is_allocated_and_the_rest_stays_refundable
);

async fn bad_refund_requests_are_refused_and_change_nothing(app: &TestApp) {
    let (order, _) = app.paid_order("RF-BAD", 2).await;
    let cases = [
        (
            json!({"lines": [{"sku": "RF-BAD", "quantity": 3}], "reason": "x"}),
            422,
            "too_many_units",
        ),
        (
            json!({"lines": [{"sku": "NOPE", "quantity": 1}], "reason": "x"}),
            422,
            "unknown_line",
        ),
        (
            json!({"amount": eur("0.00"), "reason": "x"}),
            422,
            "invalid_refund_amount",
        ),
        (
            json!({"amount": {"amount": "1.00", "currency": "USD"}, "reason": "x"}),
            422,
            "currency_mismatch",
        ),
        (
            json!({"amount": eur("1.00"), "reason": "x", "restock": true}),
            422,
            "restock_without_lines",
        ),
        (
            json!({"amount": eur("1.00"), "reason": " "}),
            422,
            "invalid_reason",
        ),
        (json!({"reason": "x"}), 400, "validation_failed"),
        (
            json!({"amount": eur("1.00"), "lines": [], "reason": "x"}),
            400,
            "validation_failed",
        ),
        (
            json!({"lines": [{"sku": "RF-BAD", "quantity": 0}], "reason": "x"}),
            400,
            "validation_failed",
        ),
        (
            json!({"amount": eur("1.00"), "reason": "x", "extra": 1}),
            400,
            "unknown_field",
        ),
    ];
    for (index, (body, status, code)) in cases.into_iter().enumerate() {
        let response = refund(app, &order, &format!("rf-bad-{index}"), body.clone()).await;
        let problem = assert_problem(response, status, code).await;
        assert!(problem["detail"].is_string(), "{body}: {problem}");
    }
    let missing_key = app
        .post_json(
            &format!("/v1/admin/orders/{order}/refunds"),
            &json!({"amount": eur("1.00"), "reason": "x"}),
        )
        .await;
    assert_problem(missing_key, 400, "idempotency_key_required").await;
    let unknown = uuid::Uuid::now_v7();
    assert_problem(
        refund(
            app,
            &unknown.to_string(),
            "rf-bad-unknown",
            json!({"amount": eur("1.00"), "reason": "x"}),
        )
        .await,
        404,
        "order_not_found",
    )
    .await;
    assert_problem(
        app.get(&format!("/v1/admin/refunds/{unknown}")).await,
        404,
        "refund_not_found",
    )
    .await;
    let order_now: Value = app
        .get(&format!("/v1/orders/{order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order_now["refunds"], json!([]));
    assert_eq!(order_now["financial_status"], "paid");
}
on_both_stores!(
    bad_refund_requests_are_refused_and_change_nothing_on,
    bad_refund_requests_are_refused_and_change_nothing
);

async fn a_repeated_request_is_one_refund(app: &TestApp) {
    let (order, payment) = app.paid_order("RF-TWICE", 1).await;
    let body = json!({"amount": eur("4.00"), "reason": "Goodwill"});
    let first = refunded(app, &order, "rf-twice", body.clone()).await;
    let again = refund(app, &order, "rf-twice", body).await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let paid: Value = app
        .get(&format!("/v1/admin/payments/{payment}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["refunded"], eur("4.00"));
    assert_eq!(paid["refunds"].as_array().unwrap().len(), 1);
}
on_both_stores!(
    a_repeated_request_is_one_refund_on,
    a_repeated_request_is_one_refund
);

/// 20 refunds of 3.00 requested at once on an order that captured 50.00: 16 fit, 4 are
/// refused, and the payment's ledger agrees with the order to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_refunds_never_exceed_what_was_captured_on_postgres() {
    let app = spawn_app(Store::Postgres).await;
    let (order, payment) = app.paid_order("RF-RACE", 5).await;
    let requests = (0..20).map(|i| {
        let request = app
            .request(Method::POST, &format!("/v1/admin/orders/{order}/refunds"))
            .header("idempotency-key", format!("rf-race-{i}"))
            .json(&json!({"amount": eur("3.00"), "reason": format!("race {i}")}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    });
    let answers = futures::future::join_all(requests).await;
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 202)
        .map(|(_, body)| body)
        .collect();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 422 && body["code"] == "over_refund")
        .count();
    assert_eq!(
        (accepted.len(), refused),
        (16, 4),
        "every request is either accepted or refused as an over-refund: {answers:?}"
    );
    for body in &accepted {
        let id = body["id"].as_str().unwrap();
        let done = app
            .until(&format!("/v1/admin/refunds/{id}"), |r| {
                r["progress"] == "completed"
            })
            .await;
        assert_eq!(done["amount"], eur("3.00"));
    }
    let paid: Value = app
        .get(&format!("/v1/admin/payments/{payment}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["captured"], eur("50.00"));
    assert_eq!(paid["refunded"], eur("48.00"));
    assert_eq!(paid["refunds"].as_array().unwrap().len(), 16);
    let order: Value = app
        .get(&format!("/v1/orders/{order}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["refunded_total"], eur("48.00"));
    assert_eq!(order["financial_status"], "partially_refunded");
    app.stop().await;
}

async fn cancelling_a_paid_order_refunds_and_restocks_it(app: &TestApp) {
    let (order, payment) = app.paid_order("RF-CANCEL", 3).await;
    let partial = refunded(
        app,
        &order,
        "rf-cancel-1",
        json!({"amount": eur("5.00"), "reason": "Late"}),
    )
    .await;
    assert_eq!(partial["progress"], "completed", "{partial}");
    let cancelled = app
        .post_json(
            &format!("/v1/admin/orders/{order}/cancel"),
            &json!({"reason": "Customer asked"}),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let done = app
        .until(&format!("/v1/orders/{order}"), |o| {
            o["financial_status"] == "refunded"
        })
        .await;
    assert_eq!(done["status"], "cancelled");
    assert_eq!(done["refunded_total"], eur("30.00"));
    let cancellation = &done["refunds"][1];
    assert_eq!(cancellation["origin"], "cancellation");
    assert_eq!(cancellation["amount"], eur("25.00"));
    assert_eq!(cancellation["lines"][0]["quantity"], 3);
    assert_eq!(app.on_hand("RF-CANCEL").await, 10);
    let paid: Value = app
        .get(&format!("/v1/admin/payments/{payment}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["refunded"], eur("30.00"));
    // Nothing is left to refund, and a cancelled order takes no refund requests.
    assert_problem(
        refund(
            app,
            &order,
            "rf-cancel-2",
            json!({"amount": eur("0.01"), "reason": "More"}),
        )
        .await,
        409,
        "not_allowed",
    )
    .await;
}
on_both_stores!(
    cancelling_a_paid_order_refunds_and_restocks_it_on,
    cancelling_a_paid_order_refunds_and_restocks_it
);

async fn a_paid_order_has_an_invoice_and_each_refund_a_credit_note(app: &TestApp) {
    let (order, _) = app.paid_order("RF-DOCS", 3).await;
    let invoice = app.get(&format!("/v1/orders/{order}/invoice")).await;
    assert_eq!(invoice.status(), 200);
    let invoice: Value = invoice.json().await.unwrap();
    assert_eq!(invoice["order_id"], order);
    assert!(
        invoice["number"].as_str().unwrap().starts_with('#'),
        "{invoice}"
    );
    assert_eq!(invoice["lines"][0]["net"], eur("30.00"));
    assert_eq!(invoice["total"], eur("30.00"));
    assert_eq!(invoice["paid"], eur("30.00"));
    assert_eq!(invoice["tax_total"], eur("0.00"));
    let page = app.get(&format!("/v1/orders/{order}/invoice/html")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains(invoice["number"].as_str().unwrap()) && html.contains("30.00 EUR"),
        "{html}"
    );

    let none: Value = app
        .get(&format!("/v1/orders/{order}/credit-notes"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["data"], json!([]));
    let done = refunded(
        app,
        &order,
        "rf-docs-1",
        json!({"lines": [{"sku": "RF-DOCS", "quantity": 1}], "reason": "Scratched",
               "restock": false}),
    )
    .await;
    assert_eq!(done["status"], "refunded", "{done}");
    let notes: Value = app
        .get(&format!("/v1/orders/{order}/credit-notes"))
        .await
        .json()
        .await
        .unwrap();
    let note = &notes["data"][0];
    assert_eq!(note["order_number"], invoice["number"]);
    assert_eq!(note["total"], eur("10.00"));
    assert_eq!(note["lines"][0]["quantity"], 1);
    assert_eq!(note["reason"], "Scratched");
    let refund_id = note["id"].as_str().unwrap();
    let page = app
        .get(&format!("/v1/orders/{order}/credit-notes/{refund_id}/html"))
        .await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("10.00 EUR"));
    let one: Value = app
        .get(&format!("/v1/orders/{order}/credit-notes/{refund_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["total"], eur("10.00"));
    assert_problem(
        app.get(&format!(
            "/v1/orders/{order}/credit-notes/{}/html",
            uuid::Uuid::new_v4()
        ))
        .await,
        404,
        "credit_note_not_found",
    )
    .await;
}
on_both_stores!(
    a_paid_order_has_an_invoice_and_each_refund_a_credit_note_on,
    a_paid_order_has_an_invoice_and_each_refund_a_credit_note
);

async fn an_order_not_paid_yet_has_no_invoice(app: &TestApp) {
    app.published_product("RF-UNPAID", "10.00").await;
    let placed = app
        .post_json(
            "/v1/admin/orders",
            &json!({"email": "unpaid@example.com", "currency": "EUR",
                    "shipping_address": {"name": "Ada Lovelace", "line1": "12 St James's Square",
                                         "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
                    "lines": [{"sku": "RF-UNPAID", "quantity": 1}]}),
        )
        .await;
    assert_eq!(placed.status(), 201);
    let placed: Value = placed.json().await.unwrap();
    let order = placed["id"].as_str().unwrap();
    assert_problem(
        app.get(&format!("/v1/orders/{order}/invoice")).await,
        409,
        "order_not_paid",
    )
    .await;
    assert_problem(
        app.get(&format!("/v1/orders/{}/invoice", uuid::Uuid::new_v4()))
            .await,
        404,
        "order_not_found",
    )
    .await;
}
on_both_stores!(
    an_order_not_paid_yet_has_no_invoice_on,
    an_order_not_paid_yet_has_no_invoice
);

async fn get(app: &TestApp, path: &str) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// The credit note of refund `refund` of `order`, as JSON and as its HTML page.
async fn credit_note(app: &TestApp, order: &str, refund: &str) -> (Value, String) {
    let path = format!("/v1/orders/{order}/credit-notes/{refund}");
    let note = get(app, &path).await;
    let page = app.get(&format!("{path}/html")).await;
    assert_eq!(page.status(), 200);
    (note, page.text().await.unwrap())
}

async fn a_full_shipping_refund_gives_back_the_lines_and_all_the_shipping(app: &TestApp) {
    // Given two tees at 10.00 shipped for 9.90 (29.90 paid),
    let (order, payment) = shipped_order(app, "RF-SHIP-ALL", 2).await;

    // when staff refund one tee and the whole shipping,
    let done = refunded(
        app,
        &order,
        "rf-ship-all-1",
        json!({"lines": [{"sku": "RF-SHIP-ALL", "quantity": 1}], "reason": "Late and torn",
               "shipping": {"full_refund": true}}),
    )
    .await;

    // then the payment gives back the tee and the shipping, and every record says which is
    // which.
    assert_eq!(done["progress"], "completed", "{done}");
    assert_eq!(done["amount"], eur("19.90"));
    assert_eq!(done["shipping"], eur("9.90"));
    assert_eq!(done["lines"][0]["amount"], eur("10.00"));
    let paid = get(app, &format!("/v1/admin/payments/{payment}")).await;
    assert_eq!(paid["refunded"], eur("19.90"));
    let shown = get(app, &format!("/v1/orders/{order}")).await;
    assert_eq!(shown["refunds"][0]["shipping"], eur("9.90"));
    assert_eq!(shown["refunded_total"], eur("19.90"));
    let (note, html) = credit_note(app, &order, done["id"].as_str().unwrap()).await;
    assert_eq!(note["shipping"], eur("9.90"), "{note}");
    assert_eq!(note["total"], eur("19.90"), "{note}");
    assert!(
        html.contains(">Shipping</td><td class=\"n\">9.90 EUR<"),
        "{html}"
    );

    // The published event says which part of the refund is shipping.
    let published = whole_feed(app)
        .await
        .into_iter()
        .find(|e| e["type"] == "orders.refund_requested" && e["data"]["refund_id"] == done["id"])
        .expect("the refund is published");
    assert_eq!(published["data"]["amount"], eur("19.90"), "{published}");
    assert_eq!(published["data"]["shipping"], eur("9.90"), "{published}");

    // And no shipping is left to give back.
    let again = refund(
        app,
        &order,
        "rf-ship-all-2",
        json!({"shipping": {"full_refund": true}, "reason": "Again"}),
    )
    .await;
    assert_problem(again, 422, "no_shipping_to_refund").await;
}
on_both_stores!(
    a_full_shipping_refund_gives_back_the_lines_and_all_the_shipping_on,
    a_full_shipping_refund_gives_back_the_lines_and_all_the_shipping
);

async fn shipping_is_refunded_in_parts_never_beyond_what_is_left(app: &TestApp) {
    // Given two tees at 10.00 shipped for 9.90, with one tee and 2.50 of shipping refunded,
    let (order, payment) = shipped_order(app, "RF-SHIP-PART", 2).await;
    let first = refunded(
        app,
        &order,
        "rf-ship-part-1",
        json!({"lines": [{"sku": "RF-SHIP-PART", "quantity": 1}], "reason": "Torn",
               "shipping": {"amount": eur("2.50")}}),
    )
    .await;
    assert_eq!(first["progress"], "completed", "{first}");
    assert_eq!(first["amount"], eur("12.50"));
    assert_eq!(first["shipping"], eur("2.50"));

    // when more shipping than the 7.40 left is asked for, it is refused and changes nothing;
    let over = refund(
        app,
        &order,
        "rf-ship-part-2",
        json!({"shipping": {"amount": eur("7.41")}, "reason": "Late"}),
    )
    .await;
    let problem = assert_problem(over, 422, "shipping_over_refund").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("7.40"),
        "{problem}"
    );
    assert_eq!(
        problem["errors"][0]["field"], "shipping.amount",
        "{problem}"
    );
    let shown = get(app, &format!("/v1/orders/{order}")).await;
    assert_eq!(shown["refunds"].as_array().unwrap().len(), 1, "{shown}");

    // and a refund of shipping alone gives back what is left of it, and no units.
    let rest = refunded(
        app,
        &order,
        "rf-ship-part-3",
        json!({"shipping": {"amount": eur("7.40")}, "reason": "Late"}),
    )
    .await;
    assert_eq!(rest["progress"], "completed", "{rest}");
    assert_eq!(rest["amount"], eur("7.40"));
    assert_eq!(rest["shipping"], eur("7.40"));
    assert_eq!(rest["lines"], json!([]));
    let paid = get(app, &format!("/v1/admin/payments/{payment}")).await;
    assert_eq!(paid["refunded"], eur("19.90"));
    assert_eq!(app.on_hand("RF-SHIP-PART").await, 8);
    let (note, html) = credit_note(app, &order, rest["id"].as_str().unwrap()).await;
    assert_eq!(note["lines"], json!([]), "{note}");
    assert_eq!(note["shipping"], eur("7.40"), "{note}");
    assert_eq!(note["total"], eur("7.40"), "{note}");
    assert!(
        html.contains(">Shipping</td><td class=\"n\">7.40 EUR<"),
        "{html}"
    );
}
on_both_stores!(
    shipping_is_refunded_in_parts_never_beyond_what_is_left_on,
    shipping_is_refunded_in_parts_never_beyond_what_is_left
);

async fn bad_shipping_refunds_are_refused_and_change_nothing(app: &TestApp) {
    let (order, _) = shipped_order(app, "RF-SHIP-BAD", 2).await;
    let line = json!([{"sku": "RF-SHIP-BAD", "quantity": 1}]);
    let cases = [
        (
            json!({"shipping": {"amount": eur("-1.00")}, "reason": "x"}),
            422,
            "invalid_shipping_refund",
        ),
        (
            json!({"shipping": {"amount": eur("1.005")}, "reason": "x"}),
            422,
            "invalid_shipping_refund",
        ),
        (
            json!({"shipping": {"amount": {"amount": "1.00", "currency": "USD"}},
                   "reason": "x"}),
            422,
            "currency_mismatch",
        ),
        (
            json!({"lines": line, "shipping": {"amount": eur("9.91")}, "reason": "x"}),
            422,
            "shipping_over_refund",
        ),
        (
            json!({"amount": eur("5.00"), "shipping": {"full_refund": true}, "reason": "x"}),
            422,
            "shipping_with_amount",
        ),
        (
            json!({"shipping": {"full_refund": true}, "reason": "x", "restock": true}),
            422,
            "restock_without_lines",
        ),
        (
            json!({"shipping": {"full_refund": true, "amount": eur("1.00")}, "reason": "x"}),
            400,
            "validation_failed",
        ),
        (
            json!({"shipping": {"full_refund": false}, "reason": "x"}),
            400,
            "validation_failed",
        ),
        (
            json!({"shipping": {}, "reason": "x"}),
            400,
            "validation_failed",
        ),
        (
            json!({"shipping": {"full_refund": true, "all": true}, "reason": "x"}),
            400,
            "unknown_field",
        ),
    ];
    for (index, (body, status, code)) in cases.into_iter().enumerate() {
        let response = refund(app, &order, &format!("rf-ship-bad-{index}"), body.clone()).await;
        let problem = assert_problem(response, status, code).await;
        assert!(problem["detail"].is_string(), "{body}: {problem}");
    }
    let shown = get(app, &format!("/v1/orders/{order}")).await;
    assert_eq!(shown["refunds"], json!([]), "{shown}");
}
on_both_stores!(
    bad_shipping_refunds_are_refused_and_change_nothing_on,
    bad_shipping_refunds_are_refused_and_change_nothing
);

/// Shipping refunds asked for at once are decided one after the other on the order, so
/// together they never give back more than the shipping charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_shipping_refunds_never_exceed_the_shipping_charged_on_postgres() {
    let app = spawn_app(Store::Postgres).await;
    let (order, _) = shipped_order(&app, "RF-SHIP-RACE", 2).await;
    let requests = (0..6).map(|i| {
        let request = app
            .request(Method::POST, &format!("/v1/admin/orders/{order}/refunds"))
            .header("idempotency-key", format!("rf-ship-race-{i}"))
            .json(&json!({"shipping": {"amount": eur("3.00")}, "reason": format!("race {i}")}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }
    });
    let answers = futures::future::join_all(requests).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let refused = answers
        .iter()
        .filter(|(status, body)| *status == 422 && body["code"] == "shipping_over_refund")
        .count();
    assert_eq!((accepted, refused), (3, 3), "{answers:?}");
    let shown = get(&app, &format!("/v1/orders/{order}")).await;
    let shipping: Vec<&Value> = shown["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["shipping"])
        .collect();
    assert_eq!(shipping, vec![&eur("3.00"); 3], "{shown}");
    app.stop().await;
}
