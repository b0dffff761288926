//! The checkout saga end to end through REST: success, every failure branch with its
//! compensation, double submits, and the race for the last units.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, checkout_body, spawn_app, Store, TestApp};
use crate::on_both_stores;

/// A published product with `units` in stock, and a cart holding `quantity` of it.
async fn cart_with(app: &TestApp, sku: &str, units: u32, quantity: u32) -> String {
    app.published_product(sku, "10.00").await;
    if units > 0 {
        app.receive(sku, units).await;
    }
    app.cart_holding(sku, quantity).await
}

/// Starts a checkout and returns its location.
async fn started(app: &TestApp, cart: &str, key: &str, token: &str) -> String {
    let response = app.check_out(cart, key, &checkout_body(token)).await;
    assert_eq!(response.status(), 202);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    location
}

async fn stock(app: &TestApp, sku: &str) -> Value {
    app.get(&format!("/v1/admin/inventory/{sku}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn payment_status(app: &TestApp, payment_id: &str) -> Option<Value> {
    let response = app.get(&format!("/v1/admin/payments/{payment_id}")).await;
    (response.status() == 200).then_some(response.json().await.unwrap())
}

async fn a_checkout_places_a_paid_order_and_takes_the_stock(app: &TestApp) {
    let cart = cart_with(app, "CO-OK", 5, 2).await;
    let location = started(app, &cart, "co-ok", "tok_visa").await;
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["total"], json!({"amount": "20.00", "currency": "EUR"}));
    let order: Value = app
        .get(&format!(
            "/v1/orders/{}",
            done["order_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"], done["total"]);
    let payment = payment_status(app, done["payment_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(payment["status"], "captured");
    assert_eq!(payment["captured"], order["total"]);
    let level = stock(app, "CO-OK").await;
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(app.cart(&cart).await["status"], "checked_out");
    let refused = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "CO-OK", "quantity": 1}),
        )
        .await;
    assert_problem(refused, 409, "not_allowed").await;
}
on_both_stores!(
    a_checkout_places_a_paid_order_and_takes_the_stock_on,
    a_checkout_places_a_paid_order_and_takes_the_stock
);

async fn a_declined_card_releases_the_stock_and_the_cart(app: &TestApp) {
    let cart = cart_with(app, "CO-DECLINE", 5, 2).await;
    let location = started(app, &cart, "co-decline", "tok_declined").await;
    let failed = app.settled(&location).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure"]["code"], "payment_declined");
    assert_eq!(failed["failure"]["message"], "Your card was declined.");
    assert!(failed["order_id"].is_null());
    let level = stock(app, "CO-DECLINE").await;
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(
        app.cart(&cart).await["status"],
        "open",
        "the shopper can fix and retry"
    );
    let payment = payment_status(app, failed["payment_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(payment["status"], "declined");
    // The cart can be checked out again with another card.
    let retry = started(app, &cart, "co-decline-2", "tok_visa").await;
    assert_eq!(app.settled(&retry).await["status"], "completed");
}
on_both_stores!(
    a_declined_card_releases_the_stock_and_the_cart_on,
    a_declined_card_releases_the_stock_and_the_cart
);

async fn too_few_units_fail_before_any_payment(app: &TestApp) {
    let cart = cart_with(app, "CO-SHORT", 1, 3).await;
    let failed = app
        .settled(&started(app, &cart, "co-short", "tok_visa").await)
        .await;
    assert_eq!(failed["failure"]["code"], "out_of_stock");
    assert!(failed["failure"]["message"]
        .as_str()
        .unwrap()
        .contains("Product CO-SHORT"));
    assert!(payment_status(app, failed["payment_id"].as_str().unwrap())
        .await
        .is_none());
    let level = stock(app, "CO-SHORT").await;
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64()),
        (Some(1), Some(0))
    );
}
on_both_stores!(
    too_few_units_fail_before_any_payment_on,
    too_few_units_fail_before_any_payment
);

async fn a_lost_authorization_answer_is_reconciled_before_its_deadline(app: &TestApp) {
    // The provider authorized, but its answer was lost: asking again under the same key
    // learns it, and the checkout goes on instead of voiding a good payment.
    let cart = cart_with(app, "CO-TIMEOUT", 5, 1).await;
    let location = started(app, &cart, "co-timeout", "tok_timeout").await;
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    let payment = payment_status(app, done["payment_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(payment["status"], "captured", "{payment}");

    // A lost answer that was a decline is learnt the same way: nothing is held, nothing to
    // void, the stock and the cart come back.
    let cart = cart_with(app, "CO-TIMEOUT-DECLINED", 5, 1).await;
    let location = started(app, &cart, "co-timeout-declined", "tok_timeout_declined").await;
    let failed = app.settled(&location).await;
    assert_eq!(failed["failure"]["code"], "payment_declined", "{failed}");
    let payment = payment_status(app, failed["payment_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(payment["status"], "declined", "{payment}");
    let level = stock(app, "CO-TIMEOUT-DECLINED").await;
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(app.cart(&cart).await["status"], "open");
}
on_both_stores!(
    a_lost_authorization_answer_is_reconciled_before_its_deadline_on,
    a_lost_authorization_answer_is_reconciled_before_its_deadline
);

async fn a_transient_gateway_error_is_retried(app: &TestApp) {
    let cart = cart_with(app, "CO-FLAKY", 5, 1).await;
    let done = app
        .settled(&started(app, &cart, "co-flaky", "tok_transient").await)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
}
on_both_stores!(
    a_transient_gateway_error_is_retried_on,
    a_transient_gateway_error_is_retried
);

async fn a_double_submit_makes_one_order_and_one_charge(app: &TestApp) {
    let cart = cart_with(app, "CO-TWICE", 5, 1).await;
    let body = checkout_body("tok_visa");
    let (a, b) = tokio::join!(
        app.check_out(&cart, "co-twice", &body),
        app.check_out(&cart, "co-twice", &body)
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(statuses.contains(&202), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 202 || *s == 409),
        "{statuses:?}"
    );
    let again = app
        .check_out(&cart, "co-twice", &checkout_body("tok_visa"))
        .await;
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let location = again.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let orders = loop {
        let listed: Value = app
            .get("/v1/orders?email=grace@example.com")
            .await
            .json()
            .await
            .unwrap();
        let count = listed["data"].as_array().unwrap().len();
        if count > 0 || Instant::now() > deadline {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(orders, 1);
    let payment = payment_status(app, done["payment_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(payment["captured"]["amount"], "10.00");
    assert_eq!(stock(app, "CO-TWICE").await["on_hand"], 4);
}
on_both_stores!(
    a_double_submit_makes_one_order_and_one_charge_on,
    a_double_submit_makes_one_order_and_one_charge
);

async fn bad_checkout_requests_are_refused(app: &TestApp) {
    let cart = cart_with(app, "CO-BAD", 5, 1).await;
    let path = format!("/v1/carts/{cart}/checkout");
    let no_key = app.post_json(&path, &checkout_body("tok_visa")).await;
    assert_problem(no_key, 400, "idempotency_key_required").await;
    let with_key = |body: Value, key: &'static str| {
        app.request(Method::POST, &path)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let mut bad_email = checkout_body("tok_visa");
    bad_email["email"] = json!("nope");
    assert_problem(
        with_key(bad_email, "k1").await.unwrap(),
        422,
        "invalid_email",
    )
    .await;
    let mut bad_country = checkout_body("tok_visa");
    bad_country["shipping_address"]["country"] = json!("ZZ");
    assert_problem(
        with_key(bad_country, "k2").await.unwrap(),
        422,
        "invalid_address",
    )
    .await;
    let mut no_token = checkout_body("tok_visa");
    no_token["payment_method_token"] = json!(" ");
    assert_problem(
        with_key(no_token, "k3").await.unwrap(),
        400,
        "validation_failed",
    )
    .await;
    let empty = app.create_cart("EUR").await;
    let response = app
        .request(Method::POST, &format!("/v1/carts/{empty}/checkout"))
        .header("idempotency-key", "k4")
        .json(&checkout_body("tok_visa"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "cart_empty").await;
    let unknown = format!("/v1/carts/{}/checkout", uuid::Uuid::now_v7());
    let response = app
        .request(Method::POST, &unknown)
        .header("x-cart-token", app.cart_token_for(&path).unwrap())
        .header("idempotency-key", "k5")
        .json(&checkout_body("tok_visa"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "cart_not_found").await;
    assert_eq!(
        app.cart(&cart).await["status"],
        "open",
        "nothing was locked"
    );

    // A checkout the saga refuses to start (nothing to pay) must not leave the cart locked.
    app.create_product(
        "Free sample",
        json!([{"sku": "CO-FREE", "prices": [{"amount": "0.00", "currency": "EUR"}]}]),
        true,
    )
    .await;
    let free = app.create_cart("EUR").await;
    let added = app
        .post_json(
            &format!("/v1/carts/{free}/items"),
            &json!({"sku": "CO-FREE", "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), 200);
    let response = app
        .request(Method::POST, &format!("/v1/carts/{free}/checkout"))
        .header("idempotency-key", "k6")
        .json(&checkout_body("tok_visa"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 422, "nothing_to_pay").await;
    assert_eq!(
        app.cart(&free).await["status"],
        "open",
        "the refused checkout unlocked the cart"
    );
    let missing = format!("/v1/checkouts/{}", uuid::Uuid::now_v7());
    assert_problem(app.get(&missing).await, 404, "checkout_not_found").await;
}
on_both_stores!(
    bad_checkout_requests_are_refused_on,
    bad_checkout_requests_are_refused
);

/// 100 shoppers check out carts holding the last 10 units of one SKU at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_shoppers_race_for_the_last_ten_units_on_postgres() {
    let app = spawn_app(Store::Postgres).await;
    app.published_product("LAST-TEN", "25.00").await;
    let received = app
        .post_json(
            "/v1/admin/inventory/LAST-TEN/receipts",
            &json!({"quantity": 10}),
        )
        .await;
    assert_eq!(received.status(), 200);
    let mut carts = Vec::new();
    for _ in 0..100 {
        let cart = app.create_cart("EUR").await;
        let path = format!("/v1/carts/{cart}/items");
        let added = app
            .post_json(&path, &json!({"sku": "LAST-TEN", "quantity": 1}))
            .await;
        assert_eq!(added.status(), 200);
        carts.push(cart);
    }
    let starts = carts.iter().enumerate().map(|(i, cart)| {
        let request = app
            .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
            .header("idempotency-key", format!("race-{i}"))
            .json(&checkout_body("tok_visa"));
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 202);
            response.headers()["location"].to_str().unwrap().to_owned()
        }
    });
    let locations = futures::future::join_all(starts).await;
    let mut results = Vec::new();
    for location in &locations {
        results.push(app.settled(location).await);
    }
    let completed = results
        .iter()
        .filter(|r| r["status"] == "completed")
        .count();
    let out_of_stock = results
        .iter()
        .filter(|r| r["failure"]["code"] == "out_of_stock")
        .count();
    assert_eq!((completed, out_of_stock), (10, 90));
    for failed in results.iter().filter(|r| r["status"] == "failed") {
        let payment = payment_status(&app, failed["payment_id"].as_str().unwrap()).await;
        assert!(
            payment.is_none() || payment.as_ref().unwrap()["status"] == "voided",
            "an authorization was left for a failed checkout: {payment:?}"
        );
    }
    let level = stock(&app, "LAST-TEN").await;
    assert_eq!(
        (
            level["on_hand"].as_u64(),
            level["reserved"].as_u64(),
            level["available"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    app.stop().await;
}

async fn a_capture_refused_after_the_order_needs_staff_and_is_not_retried(app: &TestApp) {
    let cart = cart_with(app, "CO-CAPTURE", 5, 1).await;
    let location = started(app, &cart, "co-capture", "tok_capture_refused").await;
    let listed = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list: Value = app
                .get("/v1/admin/checkouts?status=needs_attention")
                .await
                .json()
                .await
                .unwrap();
            if !list["data"].as_array().unwrap().is_empty() {
                break list;
            }
            assert!(Instant::now() < deadline, "never listed: {list}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let entry = &listed["data"][0];
    assert_eq!(entry["step"], "capture_payment");
    assert!(
        entry["reason"]
            .as_str()
            .unwrap()
            .contains("refused to capture"),
        "{entry}"
    );
    let checkout: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(checkout["id"], entry["checkout_id"]);
    // The shopper still waits; the order exists but is not marked paid, and nothing captured.
    assert_eq!(checkout["status"], "pending");
    let order: Value = app
        .get(&format!(
            "/v1/orders/{}",
            entry["order_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["status"], "placed");
    let payment = payment_status(app, entry["payment_id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(payment["status"], "authorized");
    // Not retried: once the steps already under way have recorded their outcomes (under
    // load they may land after the listing), the checkout's stream stops growing.
    let mut version = checkout["version"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now: Value = app.get(&location).await.json().await.unwrap();
        let now = now["version"].as_u64().unwrap();
        if now == version {
            break;
        }
        assert!(Instant::now() < deadline, "the checkout never settled");
        version = now;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later: Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(later["version"].as_u64(), Some(version));
    assert_problem(
        app.get("/v1/admin/checkouts").await,
        400,
        "validation_failed",
    )
    .await;
}
on_both_stores!(
    a_capture_refused_after_the_order_needs_staff_and_is_not_retried_on,
    a_capture_refused_after_the_order_needs_staff_and_is_not_retried
);

/// A shopper long-polls its checkout (`?wait=`): the answer is held while the checkout is
/// pending and comes once it settles, also when another instance runs the saga.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_long_polls_a_checkout_until_it_settles_on_postgres() {
    let settings = crate::app::settings_for(Store::Postgres).await;
    let setup = crate::app::spawn_with(settings.clone()).await;
    let cart = cart_with(&setup, "LONG-POLL", 5, 1).await;
    // This instance serves the API only: nothing runs the saga until the worker starts.
    let api = setup.restart_api_only().await;
    let location = started(&api, &cart, "long-poll-1", "tok_visa").await;

    let asked = Instant::now();
    let body: Value = api
        .get(&format!("{location}?wait=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "pending", "{body}");
    assert!(
        asked.elapsed() >= Duration::from_millis(900),
        "a pending checkout is held for the wait asked for, answered after {:?}",
        asked.elapsed()
    );
    for bad in ["wait=31", "wait=-1", "wait=soon", "later=1"] {
        let refused = api.get(&format!("{location}?{bad}")).await;
        assert_problem(refused, 400, "validation_failed").await;
    }

    // A long-poll made before the worker starts answers once the worker completed it, long
    // before its wait is up.
    let long_poll = format!("{location}?wait=25");
    let waiting = api.get(&long_poll);
    let asked = Instant::now();
    let worker = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        crate::app::spawn_with(settings).await
    };
    let (answer, worker) = tokio::join!(waiting, worker);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["status"], "completed", "{body}");
    assert!(body["order_id"].is_string(), "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "the wait ends when the checkout settles, not when the time is up: {:?}",
        asked.elapsed()
    );
    // A settled checkout is answered at once, whatever the wait.
    let asked = Instant::now();
    let again: Value = api
        .get(&format!("{location}?wait=30"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["status"], "completed");
    assert!(asked.elapsed() < Duration::from_secs(5));
    worker.stop().await;
    api.stop().await;
}
