//! Orders over REST: placement priced from the catalog, lookup, lists by customer and email,
//! the fulfilment state machine, and bad input.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

fn address() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "gb"})
}

async fn place(app: &TestApp, customer: Option<&str>, email: &str, sku: &str) -> Value {
    let mut body = json!({"email": email, "shipping_address": address(), "currency": "EUR",
                          "lines": [{"sku": sku, "quantity": 2}]});
    if let Some(customer) = customer {
        body["customer_id"] = json!(customer);
    }
    let response = app.post_json("/v1/admin/orders", &body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.post_json(path, &body).await
}

async fn an_order_moves_from_placed_to_completed(app: &TestApp) {
    app.published_product("BOOK-1", "12.50").await;
    let order = place(app, None, "Ada@Example.COM", "BOOK-1").await;
    assert_eq!(order["status"], "placed");
    assert_eq!(
        order["total"],
        json!({"amount": "25.00", "currency": "EUR"})
    );
    assert_eq!(order["email"], "Ada@example.com");
    assert_eq!(order["shipping_address"]["country"], "GB");
    assert_eq!(order["lines"][0]["title"], "Product BOOK-1");
    let id = order["id"].as_str().unwrap();

    let fulfil = json!({"carrier": "DHL", "tracking_number": "JD0146"});
    let early = post(
        app,
        &format!("/v1/admin/orders/{id}/fulfillments"),
        fulfil.clone(),
    )
    .await;
    let problem = assert_problem(early, 409, "not_allowed").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("placed"),
        "{problem}"
    );

    let paid = post(app, &format!("/v1/admin/orders/{id}/mark-paid"), json!({})).await;
    assert_eq!(paid.status(), 200);
    let again = post(app, &format!("/v1/admin/orders/{id}/mark-paid"), json!({})).await;
    assert_eq!(again.status(), 200, "marking paid twice is harmless");
    let shipped: Value = post(app, &format!("/v1/admin/orders/{id}/fulfillments"), fulfil)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shipped["status"], "fulfilled");
    assert_eq!(shipped["fulfillment"]["tracking_number"], "JD0146");
    assert_problem(
        post(
            app,
            &format!("/v1/admin/orders/{id}/cancel"),
            json!({"reason": "late"}),
        )
        .await,
        409,
        "not_allowed",
    )
    .await;
    let done: Value = post(app, &format!("/v1/admin/orders/{id}/complete"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "completed");
    let fetched = app.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(fetched.headers()["etag"], "\"4\"");
    assert_eq!(
        fetched.json::<Value>().await.unwrap()["status"],
        "completed"
    );
}
on_both_stores!(
    an_order_moves_from_placed_to_completed_on,
    an_order_moves_from_placed_to_completed
);

async fn a_placed_order_can_be_cancelled_once(app: &TestApp) {
    app.published_product("BOOK-2", "5.00").await;
    let order = place(app, None, "bob@example.com", "BOOK-2").await;
    let id = order["id"].as_str().unwrap();
    let cancel_path = format!("/v1/admin/orders/{id}/cancel");
    let cancel = || post(app, &cancel_path, json!({"reason": "changed mind"}));
    let cancelled: Value = cancel().await.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["cancellation"],
        json!({"reason": "changed mind", "was_paid": false})
    );
    assert_eq!(cancel().await.status(), 200, "cancelling twice is a no-op");
    assert_problem(
        post(app, &format!("/v1/admin/orders/{id}/mark-paid"), json!({})).await,
        409,
        "not_allowed",
    )
    .await;
}
on_both_stores!(
    a_placed_order_can_be_cancelled_once_on,
    a_placed_order_can_be_cancelled_once
);

async fn orders_are_listed_by_customer_and_by_email(app: &TestApp) {
    app.published_product("PEN-9", "1.00").await;
    let alice = uuid::Uuid::now_v7().to_string();
    let mut alice_orders = Vec::new();
    for _ in 0..3 {
        let order = place(app, Some(&alice), "alice@example.com", "PEN-9").await;
        alice_orders.push(order["id"].as_str().unwrap().to_owned());
    }
    place(app, None, "ALICE@example.com", "PEN-9").await;
    place(app, None, "alice@example.co", "PEN-9").await;
    alice_orders.reverse();

    let list = |query: String, at_least: usize| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let body: Value = app
                .get(&format!("/v1/orders?{query}"))
                .await
                .json()
                .await
                .unwrap();
            let ids: Vec<String> = body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned())
                .collect();
            if ids.len() >= at_least || std::time::Instant::now() > deadline {
                return (ids, body["has_more"].as_bool().unwrap());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    // Read models are eventually consistent: wait until every order is projected.
    let (all, _) = list(format!("customer_id={alice}&limit=10"), 3).await;
    assert_eq!(all, alice_orders);
    let (first, more) = list(format!("customer_id={alice}&limit=2"), 2).await;
    assert_eq!(first, alice_orders[0..2], "newest first");
    assert!(more);
    let (rest, more) = list(
        format!("customer_id={alice}&limit=2&starting_after={}", first[1]),
        1,
    )
    .await;
    assert_eq!(rest, alice_orders[2..3]);
    assert!(!more);

    let (by_email, _) = list("email=Alice@Example.com&limit=10".to_owned(), 4).await;
    assert_eq!(
        by_email.len(),
        4,
        "case-insensitive, and not alice@example.co"
    );

    for bad in [
        "",
        "customer_id=nope",
        "email=not-an-email",
        "limit=0&email=a@b.co",
    ] {
        assert_problem(
            app.get(&format!("/v1/orders?{bad}")).await,
            400,
            "validation_failed",
        )
        .await;
    }
}
on_both_stores!(
    orders_are_listed_by_customer_and_by_email_on,
    orders_are_listed_by_customer_and_by_email
);

async fn bad_orders_are_refused_and_leave_no_trace(app: &TestApp) {
    app.published_product("BOOK-3", "3.00").await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = json!({"email": "carol@example.com", "shipping_address": address(),
                              "currency": "EUR", "lines": [{"sku": "BOOK-3", "quantity": 1}]});
        change(&mut body);
        body
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "bad email",
            with(&|b| b["email"] = json!("carol.example.com")),
            422,
            "invalid_email",
        ),
        (
            "unknown country",
            with(&|b| b["shipping_address"]["country"] = json!("XX")),
            422,
            "invalid_address",
        ),
        (
            "empty city",
            with(&|b| b["shipping_address"]["city"] = json!("  ")),
            422,
            "invalid_address",
        ),
        (
            "long postal code",
            with(&|b| b["shipping_address"]["postal_code"] = json!("1".repeat(30))),
            422,
            "invalid_address",
        ),
        (
            "missing address",
            with(&|b| {
                b.as_object_mut().unwrap().remove("shipping_address");
            }),
            400,
            "validation_failed",
        ),
        (
            "unknown address field",
            with(&|b| b["shipping_address"]["planet"] = json!("Mars")),
            400,
            "unknown_field",
        ),
        (
            "no lines",
            with(&|b| b["lines"] = json!([])),
            422,
            "no_lines",
        ),
        (
            "quantity 0",
            with(&|b| b["lines"][0]["quantity"] = json!(0)),
            400,
            "validation_failed",
        ),
        (
            "negative quantity",
            with(&|b| b["lines"][0]["quantity"] = json!(-3)),
            400,
            "validation_failed",
        ),
        (
            "unknown SKU",
            with(&|b| b["lines"][0]["sku"] = json!("NOPE-1")),
            422,
            "unknown_sku",
        ),
        (
            "no price in currency",
            with(&|b| b["currency"] = json!("USD")),
            422,
            "no_price_in_currency",
        ),
        (
            "bad currency",
            with(&|b| b["currency"] = json!("EURO")),
            400,
            "validation_failed",
        ),
    ];
    for (name, body, status, code) in cases {
        let response = app.post_json("/v1/admin/orders", &body).await;
        let problem = assert_problem(response, status, code).await;
        if code == "invalid_address" {
            assert!(
                problem["errors"][0]["field"]
                    .as_str()
                    .unwrap()
                    .starts_with("shipping_address."),
                "{name}"
            );
        }
    }
    // Orders are projected in feed order: once a good order placed after the refused ones
    // is listed, any refused order that had been recorded would be listed too.
    place(app, None, "carol@example.com", "BOOK-3").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listed = loop {
        let body: Value = app
            .get("/v1/orders?email=carol@example.com")
            .await
            .json()
            .await
            .unwrap();
        let count = body["data"].as_array().unwrap().len();
        if count > 0 || std::time::Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(listed, 1, "no refused order was recorded");
    assert_problem(app.get("/v1/orders/not-a-uuid").await, 400, "invalid_id").await;
    let missing = format!("/v1/orders/{}", uuid::Uuid::now_v7());
    assert_problem(app.get(&missing).await, 404, "order_not_found").await;
    let response = app
        .request(
            Method::POST,
            &format!("/v1/admin/orders/{}/fulfillments", uuid::Uuid::now_v7()),
        )
        .json(&json!({"carrier": "DHL", "tracking_number": "1"}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "order_not_found").await;
}
on_both_stores!(
    bad_orders_are_refused_and_leave_no_trace_on,
    bad_orders_are_refused_and_leave_no_trace
);

async fn every_order_gets_a_short_number_that_staff_can_look_it_up_by(app: &TestApp) {
    // One order placed by the checkout saga, one entered by staff.
    let (checked_out, _) = app.paid_order("NUMBERED", 1).await;
    let staff = place(app, None, "numbers@example.com", "NUMBERED").await;
    let first: Value = app
        .get(&format!("/v1/orders/{checked_out}"))
        .await
        .json()
        .await
        .unwrap();
    let first_number = first["number"].as_u64().unwrap();
    let second_number = staff["number"].as_u64().unwrap();
    assert!(first_number >= 1001, "{first}");
    assert!(second_number > first_number, "{staff}");
    assert_eq!(first["name"], format!("#{first_number}"));

    for written in [format!("{second_number}"), format!("%23{second_number}")] {
        let found = app
            .get(&format!("/v1/admin/orders/by-number/{written}"))
            .await;
        assert_eq!(found.status(), 200, "{written}");
        let found: Value = found.json().await.unwrap();
        assert_eq!(found["id"], staff["id"], "{written}");
    }
    assert_problem(
        app.get(&format!(
            "/v1/admin/orders/by-number/{}",
            second_number + 1000
        ))
        .await,
        404,
        "order_not_found",
    )
    .await;
    assert_problem(
        app.get("/v1/admin/orders/by-number/12a").await,
        400,
        "validation_failed",
    )
    .await;
}
on_both_stores!(
    every_order_gets_a_short_number_that_staff_can_look_it_up_by_on,
    every_order_gets_a_short_number_that_staff_can_look_it_up_by
);
