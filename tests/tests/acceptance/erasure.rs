//! Personal data in events is sealed per person, and erasure deletes the person's key
//! (crypto-shredding, ADR 0026): the events stay, what they held of the person reads as
//! erased everywhere, and consumers are told to forget their copies.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, TestApp};
use crate::events::{stored_events, whole_feed};
use crate::on_both_stores;

/// Polls `check` for up to ten seconds (projections follow the feed).
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn json_of(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

/// No stored row holds any of `needles` in clear.
async fn nothing_in_clear(app: &TestApp, needles: &[&str]) {
    let stored = stored_events(app).await;
    for (aggregate_type, _, event_type, payload, metadata) in &stored {
        for needle in needles {
            assert!(
                !payload.contains(needle) && !metadata.contains(needle),
                "{aggregate_type}.{event_type} holds {needle} in clear: {payload}"
            );
        }
    }
    for (aggregate_type, event_type) in [("order", "OrderPlaced"), ("checkout", "CheckoutStarted")]
    {
        assert!(
            stored
                .iter()
                .any(|row| row.0 == aggregate_type && row.2 == event_type),
            "no {event_type} stored"
        );
    }
}

/// The published `orders.order_placed` of `order_id`, and whether its erasure was published.
async fn published_of(app: &TestApp, order_id: &str) -> (Option<Value>, bool) {
    let feed = whole_feed(app).await;
    let of_order = |event: &&Value| event["data"]["order_id"] == order_id;
    let placed = feed
        .iter()
        .filter(of_order)
        .find(|event| event["type"] == "orders.order_placed")
        .cloned();
    let erased = feed
        .iter()
        .filter(of_order)
        .any(|event| event["type"] == "orders.personal_data_erased");
    (placed, erased)
}

async fn listed_by_email(app: &TestApp, email: &str) -> usize {
    let page = json_of(app.get(&format!("/v1/orders?email={email}")).await).await;
    page["data"].as_array().unwrap().len()
}

async fn a_guests_order_is_sealed_and_erasure_leaves_it_without_their_data(app: &TestApp) {
    let (order_id, _) = app.paid_order("ERASE-GUEST", 2).await;
    // Sealed: neither the email nor the name nor the street is stored in clear.
    nothing_in_clear(app, &["grace@example.com", "Grace Hopper", "1 Navy Way"]).await;

    // Every reader opens it while the key exists.
    let order = json_of(app.get(&format!("/v1/orders/{order_id}")).await).await;
    assert_eq!(order["email"], "grace@example.com");
    assert_eq!(order["shipping_address"]["name"], "Grace Hopper");
    assert_eq!(order["personal_data_erased"], false);
    eventually("the order is published", || async {
        published_of(app, &order_id).await.0.is_some()
    })
    .await;
    let placed = published_of(app, &order_id).await.0.unwrap();
    assert_eq!(placed["data"]["email"], "grace@example.com");
    eventually("the order is listed by its email", || async {
        listed_by_email(app, "grace@example.com").await == 1
    })
    .await;

    // Erasing needs the customers scope.
    let orders_only = client_with_key(Some(&issue_key(app, "orders:write").await));
    let refused = orders_only
        .post(format!("{}/v1/admin/orders/{order_id}/erasure", app.base))
        .send()
        .await
        .unwrap();
    assert_problem(refused, 403, "insufficient_scope").await;

    let erased = app
        .post_json(&format!("/v1/admin/orders/{order_id}/erasure"), &json!({}))
        .await;
    assert_eq!(erased.status(), 200);
    let erased = json_of(erased).await;
    assert_eq!(erased["orders"], json!([order_id]));
    assert_eq!(erased["keys_deleted"], 1);

    // The order keeps its lines, totals and state; the person is gone from every read.
    let order = json_of(app.get(&format!("/v1/orders/{order_id}")).await).await;
    assert_eq!(order["personal_data_erased"], true);
    assert_eq!(order["email"], Value::Null);
    assert_eq!(order["shipping_address"], Value::Null);
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"]["amount"], "20.00");
    let placed = published_of(app, &order_id).await.0.expect("published");
    assert_eq!(placed["data"]["email"], "[erased]");
    assert_eq!(placed["data"]["shipping_address"]["name"], "[erased]");
    // PostgreSQL's feed shows an append once older transactions of the cluster are done.
    eventually("consumers are told to forget the order's data", || async {
        published_of(app, &order_id).await.1
    })
    .await;
    eventually("the email index forgets the order", || async {
        listed_by_email(app, "grace@example.com").await == 0
    })
    .await;
    let listed = json_of(
        app.get(&format!("/v1/orders?customer_id={}", uuid::Uuid::nil()))
            .await,
    )
    .await;
    assert!(listed["data"].as_array().unwrap().is_empty());

    // Repeating it is harmless; an unknown order is not found.
    let again = json_of(
        app.post_json(&format!("/v1/admin/orders/{order_id}/erasure"), &json!({}))
            .await,
    )
    .await;
    assert_eq!(again["keys_deleted"], 0);
    let unknown = app
        .post_json(
            &format!("/v1/admin/orders/{}/erasure", uuid::Uuid::new_v4()),
            &json!({}),
        )
        .await;
    assert_problem(unknown, 404, "order_not_found").await;
}
on_both_stores!(
    guest_erasure,
    a_guests_order_is_sealed_and_erasure_leaves_it_without_their_data
);

async fn issue_key(app: &TestApp, scope: &str) -> String {
    let grants = accounts::Grants::parse(scope).unwrap();
    let api = &app.running.as_ref().unwrap().wired.api;
    application::api_keys::issue(
        api.api_keys.as_ref(),
        &shared_kernel::SystemClock,
        "erasure test",
        grants,
    )
    .await
    .unwrap()
    .secret
}

/// A customer with one completed order; returns (customer id, their client, order id).
async fn customer_with_an_order(app: &TestApp) -> (String, Client, String) {
    app.published_product("ERASE-MINE", "10.00").await;
    app.post_json(
        "/v1/admin/inventory/ERASE-MINE/receipts",
        &json!({"quantity": 10}),
    )
    .await;
    let session = json_of(
        client_with_key(None)
            .post(format!("{}/v1/auth/register", app.base))
            .json(
                &json!({"email": "lin@example.com", "password": "correct horse battery",
                          "name": "Lin Shopper"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let customer_id = session["customer"]["id"].as_str().unwrap().to_owned();
    let as_lin = client_with_key(session["access_token"].as_str());
    let saved = as_lin
        .post(format!("{}/v1/me/addresses", app.base))
        .json(
            &json!({"name": "Lin Shopper", "line1": "9 Harbour Rd", "city": "Oslo",
                      "postal_code": "0150", "country": "NO"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 201);
    let cart = json_of(
        as_lin
            .post(format!("{}/v1/carts", app.base))
            .json(&json!({"currency": "EUR"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (cart_id, token) = (
        cart["id"].as_str().unwrap(),
        cart["cart_token"].as_str().unwrap(),
    );
    let added = as_lin
        .post(format!("{}/v1/carts/{cart_id}/items", app.base))
        .header("x-cart-token", token)
        .json(&json!({"sku": "ERASE-MINE", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let started = as_lin
        .post(format!("{}/v1/carts/{cart_id}/checkout", app.base))
        .header("x-cart-token", token)
        .header("idempotency-key", "lin-checkout")
        .json(
            &json!({"email": "lin@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "Lin Shopper", "line1": "9 Harbour Rd",
                                           "city": "Oslo", "postal_code": "0150",
                                           "country": "NO"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.until(&location, |c| c["status"] != "pending").await;
    assert_eq!(done["status"], "completed", "{done}");
    let order_id = done["order_id"].as_str().unwrap().to_owned();
    eventually("the order is indexed under its customer", || async {
        let page = json_of(
            app.get(&format!("/v1/orders?customer_id={customer_id}"))
                .await,
        )
        .await;
        page["data"].as_array().unwrap().len() == 1
    })
    .await;
    (customer_id, as_lin, order_id)
}

async fn a_customer_is_exported_then_erased_with_every_order(app: &TestApp) {
    let (customer_id, as_lin, order_id) = customer_with_an_order(app).await;
    nothing_in_clear(app, &["Lin Shopper", "9 Harbour Rd"]).await;

    // The export holds the account and every order with its personal data.
    let export = app
        .get(&format!("/v1/admin/customers/{customer_id}/export"))
        .await;
    assert_eq!(export.status(), 200);
    let export = json_of(export).await;
    assert_eq!(export["customer"]["email"], "lin@example.com");
    assert_eq!(export["orders"][0]["id"], order_id.as_str());
    assert_eq!(
        export["orders"][0]["shipping_address"]["line1"],
        "9 Harbour Rd"
    );

    // A customer's order is erased with its customer, not alone.
    let alone = app
        .post_json(&format!("/v1/admin/orders/{order_id}/erasure"), &json!({}))
        .await;
    assert_problem(alone, 409, "order_belongs_to_customer").await;

    let erased = app
        .request(
            Method::POST,
            &format!("/v1/admin/customers/{customer_id}/erasure"),
        )
        .header("idempotency-key", "erase-lin")
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 200);
    let erased = json_of(erased).await;
    assert_eq!(erased["orders"], json!([order_id]));
    assert_eq!(erased["account_deleted"], true);
    assert_eq!(erased["keys_deleted"], 1);

    let order = json_of(app.get(&format!("/v1/orders/{order_id}")).await).await;
    assert_eq!(order["personal_data_erased"], true);
    assert_eq!(order["email"], Value::Null);
    assert_eq!(order["customer_id"], customer_id.as_str());
    let placed = published_of(app, &order_id).await.0.expect("published");
    assert_eq!(placed["data"]["email"], "[erased]");
    eventually("consumers are told to forget the order's data", || async {
        published_of(app, &order_id).await.1
    })
    .await;
    // The account is gone, its address book with it: no login, no profile, no export.
    assert_eq!(app.count_rows("customer_addresses").await, 0);
    let login = client_with_key(None)
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"email": "lin@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_problem(login, 401, "invalid_credentials").await;
    let me = as_lin
        .get(format!("{}/v1/me", app.base))
        .send()
        .await
        .unwrap();
    assert!(me.status() == 401 || me.status() == 404, "{}", me.status());
    let export = app
        .get(&format!("/v1/admin/customers/{customer_id}/export"))
        .await;
    assert_problem(export, 404, "customer_not_found").await;
    eventually("the admin list shows the order erased", || async {
        let page = json_of(
            app.get(&format!("/v1/orders?customer_id={customer_id}"))
                .await,
        )
        .await;
        page["data"][0]["personal_data_erased"] == true && page["data"][0]["email"].is_null()
    })
    .await;
}
on_both_stores!(
    customer_erasure,
    a_customer_is_exported_then_erased_with_every_order
);
