//! A customer's carts and orders (ADR 0027): a guest cart taken over at login is merged into
//! the customer's open cart without losing a line, or becomes theirs; a customer's access
//! token opens their own carts, checkouts and orders, and nobody else's.

use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, TestApp};
use crate::on_both_stores;

/// A caller: anonymous, or a logged-in customer.
struct Shopper<'a> {
    app: &'a TestApp,
    http: Client,
}

impl<'a> Shopper<'a> {
    fn guest(app: &'a TestApp) -> Self {
        Self {
            app,
            http: client_with_key(None),
        }
    }

    async fn customer(app: &'a TestApp, email: &str) -> Self {
        let session: Value = client_with_key(None)
            .post(format!("{}/v1/auth/register", app.base))
            .json(&json!({"email": email, "password": "correct horse battery", "name": "Ada"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            app,
            http: client_with_key(session["access_token"].as_str()),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        cart_token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.app.base));
        if let Some(token) = cart_token {
            request = request.header("x-cart-token", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// A new cart: its id and token.
    async fn cart(&self) -> (String, String) {
        let created: Value = self
            .send(
                Method::POST,
                "/v1/carts",
                None,
                Some(json!({"currency": "EUR"})),
            )
            .await
            .json()
            .await
            .unwrap();
        (
            created["id"].as_str().unwrap().to_owned(),
            created["cart_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn add(&self, cart: &str, token: Option<&str>, sku: &str, quantity: u32) {
        let added = self
            .send(
                Method::POST,
                &format!("/v1/carts/{cart}/items"),
                token,
                Some(json!({"sku": sku, "quantity": quantity})),
            )
            .await;
        assert_eq!(added.status(), 200, "{:?}", added.text().await);
    }

    async fn take_over(&self, cart: &str, token: Option<&str>) -> reqwest::Response {
        self.send(
            Method::POST,
            &format!("/v1/carts/{cart}/customer"),
            token,
            None,
        )
        .await
    }

    /// `GET /v1/me/cart` once it names `cart` (the index follows the feed).
    async fn current_cart_becomes(&self, cart: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = self.send(Method::GET, "/v1/me/cart", None, None).await;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status == 200 && body["id"] == cart {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "the current cart never became {cart}: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// SKU → quantity of a cart's lines, and the unit price of each.
fn lines(cart: &Value) -> Vec<(String, u64, String)> {
    let mut lines: Vec<_> = cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["sku"].as_str().unwrap().to_owned(),
                line["quantity"].as_u64().unwrap(),
                line["unit_price"]["amount"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    lines.sort();
    lines
}

async fn logging_in_merges_the_guest_cart_into_the_customers_without_losing_a_line(app: &TestApp) {
    app.published_product("MERGE-A", "10.00").await;
    app.published_product("MERGE-B", "5.00").await;
    app.published_product("MERGE-C", "3.00").await;
    let ada = Shopper::customer(app, "ada.merge@example.com").await;
    let bob = Shopper::customer(app, "bob.merge@example.com").await;
    let guest = Shopper::guest(app);

    // Ada's own cart, used with her access token alone.
    let (mine, _) = ada.cart().await;
    ada.add(&mine, None, "MERGE-A", 1).await;
    ada.add(&mine, None, "MERGE-B", 2).await;
    ada.current_cart_becomes(&mine).await;
    // Before logging in she filled a guest cart, overlapping on MERGE-A.
    let (theirs, token) = guest.cart().await;
    guest.add(&theirs, Some(&token), "MERGE-A", 2).await;
    guest.add(&theirs, Some(&token), "MERGE-C", 1).await;

    // Taking it over needs both her login and the guest cart's token.
    assert_problem(ada.take_over(&theirs, None).await, 401, "token_required").await;
    assert_problem(
        guest.take_over(&theirs, Some(&token)).await,
        401,
        "unauthenticated",
    )
    .await;
    let other_token = guest.cart().await.1;
    assert_problem(
        ada.take_over(&theirs, Some(&other_token)).await,
        404,
        "cart_not_found",
    )
    .await;

    let merged = ada.take_over(&theirs, Some(&token)).await;
    assert_eq!(merged.status(), 200);
    let merged: Value = merged.json().await.unwrap();
    assert_eq!(
        merged["id"],
        mine.as_str(),
        "the lines went to her open cart"
    );
    let expected = vec![
        ("MERGE-A".to_owned(), 3, "10.00".to_owned()),
        ("MERGE-B".to_owned(), 2, "5.00".to_owned()),
        ("MERGE-C".to_owned(), 1, "3.00".to_owned()),
    ];
    assert_eq!(lines(&merged), expected);
    assert_eq!(merged["item_count"], 6);

    // A retry changes nothing, and answers the same cart.
    let again: Value = ada
        .take_over(&theirs, Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], mine.as_str());
    assert_eq!(lines(&again), expected);

    // The guest cart is closed as merged: it neither changes nor checks out again.
    let closed: Value = guest
        .send(
            Method::GET,
            &format!("/v1/carts/{theirs}"),
            Some(&token),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(closed["status"], "merged");
    assert_eq!(closed["item_count"], 3, "its history keeps its lines");
    let changed = guest
        .send(
            Method::POST,
            &format!("/v1/carts/{theirs}/items"),
            Some(&token),
            Some(json!({"sku": "MERGE-B", "quantity": 1})),
        )
        .await;
    assert_problem(changed, 409, "not_allowed").await;
    let checkout = guest
        .http
        .post(format!("{}/v1/carts/{theirs}/checkout", app.base))
        .header("x-cart-token", &token)
        .header("idempotency-key", "merged-guest-checkout")
        .json(
            &json!({"email": "ada.merge@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "Ada", "line1": "1 Main St",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), 409, "{:?}", checkout.text().await);

    // Her cart is still hers alone: another customer's token opens nothing of it, and the
    // merged guest cart cannot be taken over by him either.
    let current = ada.current_cart_becomes(&mine).await;
    assert_eq!(lines(&current), expected);
    for (method, path, body) in [
        (Method::GET, format!("/v1/carts/{mine}"), None),
        (
            Method::POST,
            format!("/v1/carts/{mine}/items"),
            Some(json!({"sku": "MERGE-C", "quantity": 1})),
        ),
    ] {
        assert_problem(
            bob.send(method, &path, None, body).await,
            404,
            "cart_not_found",
        )
        .await;
    }
    assert_problem(
        bob.take_over(&theirs, Some(&token)).await,
        409,
        "not_allowed",
    )
    .await;
    assert_problem(
        bob.send(Method::GET, "/v1/me/cart", None, None).await,
        404,
        "cart_not_found",
    )
    .await;
    assert_problem(
        guest
            .send(Method::GET, &format!("/v1/carts/{mine}"), None, None)
            .await,
        401,
        "token_required",
    )
    .await;
}
on_both_stores!(
    merge_keeps_every_line,
    logging_in_merges_the_guest_cart_into_the_customers_without_losing_a_line
);

async fn simultaneous_take_overs_of_one_guest_cart_merge_it_once(app: &TestApp) {
    app.published_product("RACE-A", "4.00").await;
    let ada = Shopper::customer(app, "ada.race@example.com").await;
    let guest = Shopper::guest(app);
    let (mine, _) = ada.cart().await;
    ada.add(&mine, None, "RACE-A", 1).await;
    ada.current_cart_becomes(&mine).await;
    let (theirs, token) = guest.cart().await;
    guest.add(&theirs, Some(&token), "RACE-A", 2).await;

    let calls = (0..4).map(|_| ada.take_over(&theirs, Some(&token)));
    let answers = futures::future::join_all(calls).await;
    for answer in answers {
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        // Each call finishes the merge or finds it finished; a loser of the race may be told
        // to retry, never anything else.
        assert!(
            status == 200 || body["code"] == "concurrent_modification",
            "{status} {body}"
        );
    }
    let merged: Value = ada
        .send(Method::GET, &format!("/v1/carts/{mine}"), None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        lines(&merged),
        vec![("RACE-A".to_owned(), 3, "4.00".to_owned())]
    );
}
on_both_stores!(
    simultaneous_take_overs,
    simultaneous_take_overs_of_one_guest_cart_merge_it_once
);

async fn a_guest_cart_becomes_the_customers_and_its_order_opens_to_their_token_only(app: &TestApp) {
    app.published_product("OWN-1", "10.00").await;
    app.post_json(
        "/v1/admin/inventory/OWN-1/receipts",
        &json!({"quantity": 10}),
    )
    .await;
    let carl = Shopper::customer(app, "carl.own@example.com").await;
    let bob = Shopper::customer(app, "bob.own@example.com").await;
    let guest = Shopper::guest(app);
    let (cart, token) = guest.cart().await;
    guest.add(&cart, Some(&token), "OWN-1", 2).await;

    // Carl has no open cart: the guest cart becomes his, and his token opens it.
    let taken: Value = carl
        .take_over(&cart, Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(taken["id"], cart.as_str());
    assert!(taken["customer_id"].is_string(), "{taken}");
    carl.add(&cart, None, "OWN-1", 1).await;
    carl.current_cart_becomes(&cart).await;

    // He checks it out and follows the checkout with his access token alone.
    let started = carl
        .http
        .post(format!("{}/v1/carts/{cart}/checkout", app.base))
        .header("idempotency-key", "carl-checkout")
        .json(
            &json!({"email": "carl.own@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "Carl", "line1": "1 Main St",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let body: Value = carl
            .send(Method::GET, &location, None, None)
            .await
            .json()
            .await
            .unwrap();
        if body["status"] != "pending" {
            break body;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_problem(
        bob.send(Method::GET, &location, None, None).await,
        404,
        "checkout_not_found",
    )
    .await;

    // His order by id opens to his token; another customer's gets the answer of a missing
    // order.
    let order = done["order_id"].as_str().unwrap();
    let read = carl
        .send(Method::GET, &format!("/v1/orders/{order}"), None, None)
        .await;
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["customer_id"], taken["customer_id"]);
    let missing = uuid::Uuid::now_v7();
    for path in [
        format!("/v1/orders/{order}"),
        format!("/v1/orders/{missing}"),
    ] {
        assert_problem(
            bob.send(Method::GET, &path, None, None).await,
            404,
            "order_not_found",
        )
        .await;
    }
    assert_problem(
        guest
            .send(Method::GET, &format!("/v1/orders/{order}"), None, None)
            .await,
        401,
        "token_required",
    )
    .await;

    // He asks for a return of it and follows it with his token; another customer can do
    // neither.
    let request_return = |shopper: &Shopper<'_>, key: &str| {
        shopper
            .http
            .post(format!("{}/v1/orders/{order}/returns", app.base))
            .header("idempotency-key", key)
            .json(&json!({"lines": [{"sku": "OWN-1", "quantity": 1}], "reason": "Too small"}))
            .send()
    };
    assert_problem(
        request_return(&bob, "bob-return").await.unwrap(),
        404,
        "order_not_found",
    )
    .await;
    let requested = request_return(&carl, "carl-return").await.unwrap();
    assert_eq!(requested.status(), 201);
    let return_path = requested.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        carl.send(Method::GET, &return_path, None, None)
            .await
            .status(),
        200
    );
    assert_problem(
        bob.send(Method::GET, &return_path, None, None).await,
        404,
        "return_not_found",
    )
    .await;
}
on_both_stores!(
    taken_over_cart_and_own_order,
    a_guest_cart_becomes_the_customers_and_its_order_opens_to_their_token_only
);
