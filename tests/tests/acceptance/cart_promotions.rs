//! Promotion codes on carts and through the checkout saga (ADR 0031, ADR 0034): a code's
//! discount on the cart, the checkout, the payment and the order; codes a cart cannot use;
//! and a code's usage limit holding in a rush of checkouts.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, checkout_body, eur, spawn_app, Store, TestApp};
use crate::on_both_stores;

/// Creates a promotion code through the admin API.
async fn promotion(app: &TestApp, body: Value) {
    let created = app.post_json("/v1/admin/promotions", &body).await;
    assert_eq!(created.status(), 201, "{:?}", created.text().await);
}

async fn apply(app: &TestApp, cart: &str, code: &str) -> reqwest::Response {
    app.post_json(
        &format!("/v1/carts/{cart}/promotions"),
        &json!({"code": code}),
    )
    .await
}

async fn a_code_discounts_the_cart_the_payment_and_the_order(app: &TestApp) {
    app.published_product("PROMO-TEE", "10.00").await;
    app.published_product("PROMO-MUG", "7.00").await;
    app.receive("PROMO-TEE", 10).await;
    app.receive("PROMO-MUG", 10).await;
    // 15 % off the tees only: 15 % of 30.00 = 4.50, all of it on the tee line.
    promotion(
        app,
        json!({"code": "TEES15", "offer": {"type": "percent_off", "percent_off": "15"},
               "applies_to": {"type": "skus", "skus": ["PROMO-TEE"]}}),
    )
    .await;
    let cart = app.cart_holding("PROMO-TEE", 3).await;
    let added = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "PROMO-MUG", "quantity": 1}),
        )
        .await;
    assert_eq!(added.status(), 200);

    let applied = apply(app, &cart, " tees15 ").await;
    assert_eq!(applied.status(), 200);
    let body: Value = applied.json().await.unwrap();
    assert_eq!(body["promotion"]["code"], "TEES15");
    assert_eq!(body["promotion"]["applicable"], true);
    assert_eq!(body["subtotal"], eur("37.00"));
    assert_eq!(body["discount_total"], eur("4.50"));
    assert_eq!(body["total"], eur("32.50"));
    assert_eq!(body["lines"][0]["discount"], eur("4.50"));
    assert_eq!(body["lines"][1]["discount"], eur("0.00"));
    // Every later answer about the cart shows the same totals.
    let again = app.cart(&cart).await;
    assert_eq!(again["total"], eur("32.50"));

    let started = app
        .check_out(&cart, "promo-ok", &checkout_body("tok_visa"))
        .await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["total"], eur("32.50"));

    let order: Value = app
        .get(&format!(
            "/v1/orders/{}",
            done["order_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["promotion_code"], "TEES15");
    assert_eq!(order["subtotal"], eur("37.00"));
    assert_eq!(order["discount_total"], eur("4.50"));
    assert_eq!(order["total"], eur("32.50"));
    assert_eq!(order["lines"][0]["discount"], eur("4.50"));
    let payment: Value = app
        .get(&format!(
            "/v1/admin/payments/{}",
            done["payment_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(payment["amount"], eur("32.50"), "{payment}");
    assert_eq!(payment["status"], "captured", "{payment}");

    let code = app
        .until("/v1/admin/promotions/TEES15", |p| p["times_redeemed"] == 1)
        .await;
    assert_eq!(code["reserved"], 0, "{code}");
}
on_both_stores!(
    a_code_discounts_the_cart_the_payment_and_the_order_on,
    a_code_discounts_the_cart_the_payment_and_the_order
);

async fn a_code_the_cart_cannot_use_is_refused_and_changes_nothing(app: &TestApp) {
    app.published_product("PROMO-CAP", "10.00").await;
    promotion(
        app,
        json!({"code": "BIGSPEND", "offer": {"type": "amount_off", "amount_off": [eur("5.00")]},
               "minimum_subtotal": [eur("50.00")]}),
    )
    .await;
    let cart = app.cart_holding("PROMO-CAP", 1).await;
    let before = app.cart(&cart).await;

    assert_problem(
        apply(app, &cart, "NOSUCHCODE").await,
        422,
        "promotion_code_unknown",
    )
    .await;
    let below = assert_problem(
        apply(app, &cart, "bigspend").await,
        422,
        "promotion_below_minimum_subtotal",
    )
    .await;
    assert!(
        below["detail"].as_str().unwrap().contains("50.00"),
        "{below}"
    );
    let invalid = assert_problem(apply(app, &cart, "x!").await, 400, "validation_failed").await;
    assert_eq!(invalid["errors"][0]["field"], "code", "{invalid}");
    let missing = assert_problem(
        app.post_json(&format!("/v1/carts/{cart}/promotions"), &json!({}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "code", "{missing}");

    let after = app.cart(&cart).await;
    assert_eq!(after["version"], before["version"]);
    assert_eq!(after["promotion"], Value::Null);
    assert_eq!(after["total"], eur("10.00"));
}
on_both_stores!(
    a_code_the_cart_cannot_use_is_refused_and_changes_nothing_on,
    a_code_the_cart_cannot_use_is_refused_and_changes_nothing
);

async fn a_removed_code_takes_nothing_off_and_a_cart_below_its_minimum_cannot_check_out(
    app: &TestApp,
) {
    app.published_product("PROMO-HAT", "20.00").await;
    app.receive("PROMO-HAT", 5).await;
    promotion(
        app,
        json!({"code": "HATS5", "offer": {"type": "amount_off", "amount_off": [eur("5.00")]},
               "minimum_subtotal": [eur("40.00")]}),
    )
    .await;
    let cart = app.cart_holding("PROMO-HAT", 2).await;
    assert_eq!(apply(app, &cart, "HATS5").await.status(), 200);
    assert_eq!(app.cart(&cart).await["total"], eur("35.00"));

    // One hat less: below the minimum, the code stays on the cart without effect, and says
    // why; the checkout refuses to start rather than charge a price the shopper did not see.
    let line = app.cart(&cart).await["lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = app
        .request(Method::PATCH, &format!("/v1/carts/{cart}/items/{line}"))
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["promotion"]["applicable"], false, "{changed}");
    assert_eq!(
        changed["promotion"]["reason"],
        "promotion_below_minimum_subtotal"
    );
    assert_eq!(changed["total"], eur("20.00"));
    assert_problem(
        app.check_out(&cart, "promo-below", &checkout_body("tok_visa"))
            .await,
        422,
        "promotion_below_minimum_subtotal",
    )
    .await;
    assert_eq!(app.cart(&cart).await["status"], "open");

    let removed = app
        .request(Method::DELETE, &format!("/v1/carts/{cart}/promotions"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let removed: Value = removed.json().await.unwrap();
    assert_eq!(removed["promotion"], Value::Null);
    assert_eq!(removed["discount_total"], eur("0.00"));
    let started = app
        .check_out(&cart, "promo-without", &checkout_body("tok_visa"))
        .await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(app.settled(&location).await["total"], eur("20.00"));
}
on_both_stores!(
    a_removed_code_takes_nothing_off_and_a_cart_below_its_minimum_cannot_check_out_on,
    a_removed_code_takes_nothing_off_and_a_cart_below_its_minimum_cannot_check_out
);

/// 50 shoppers check out at once with a code limited to 10 uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_limited_to_ten_uses_gives_exactly_ten_discounted_orders_in_a_rush_on_postgres() {
    let app = spawn_app(Store::Postgres).await;
    app.published_product("RUSH-TEE", "20.00").await;
    app.receive("RUSH-TEE", 100).await;
    promotion(
        &app,
        json!({"code": "RUSH10", "offer": {"type": "percent_off", "percent_off": "10"},
               "usage_limit": 10}),
    )
    .await;
    let mut carts = Vec::new();
    for _ in 0..50 {
        let cart = app.cart_holding("RUSH-TEE", 1).await;
        assert_eq!(apply(&app, &cart, "rush10").await.status(), 200);
        carts.push(cart);
    }
    let starts = carts.iter().enumerate().map(|(i, cart)| {
        let app = &app;
        async move {
            let response = app
                .check_out(cart, &format!("rush-{i}"), &checkout_body("tok_visa"))
                .await;
            assert_eq!(response.status(), 202);
            response.headers()["location"].to_str().unwrap().to_owned()
        }
    });
    let locations = futures::future::join_all(starts).await;
    let mut results = Vec::new();
    for location in &locations {
        results.push(app.settled(location).await);
    }

    let completed: Vec<&Value> = results
        .iter()
        .filter(|r| r["status"] == "completed")
        .collect();
    let used_up: Vec<&Value> = results
        .iter()
        .filter(|r| r["failure"]["code"] == "promotion_refused")
        .collect();
    assert_eq!((completed.len(), used_up.len()), (10, 40), "{results:?}");
    for done in &completed {
        assert_eq!(done["total"], eur("18.00"));
        let order: Value = app
            .get(&format!(
                "/v1/orders/{}",
                done["order_id"].as_str().unwrap()
            ))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(order["discount_total"], eur("2.00"), "{order}");
    }
    for failed in &used_up {
        let message = failed["failure"]["message"].as_str().unwrap();
        assert!(
            message.contains("RUSH10") && message.contains("used as many times"),
            "{message}"
        );
        // Nothing authorized for a checkout the code failed.
        let payment = app
            .get(&format!(
                "/v1/admin/payments/{}",
                failed["payment_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(payment.status(), 404, "a payment exists for {failed}");
    }
    // Nothing stays reserved: 10 units sold, 90 available.
    let level: Value = app
        .get("/v1/admin/inventory/RUSH-TEE")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (level["on_hand"].as_u64(), level["reserved"].as_u64()),
        (Some(90), Some(0)),
        "{level}"
    );
    let code = app
        .until("/v1/admin/promotions/RUSH10", |p| p["times_redeemed"] == 10)
        .await;
    assert_eq!(code["reserved"], 0, "{code}");

    // Every failed cart is unlocked: the shopper removes the code and buys at full price.
    for (cart, result) in carts.iter().zip(&results) {
        let status = app.cart(cart).await["status"].clone();
        let expected = if result["status"] == "completed" {
            "checked_out"
        } else {
            "open"
        };
        assert_eq!(status, expected, "{result}");
    }
    let retry = carts
        .iter()
        .zip(&results)
        .find(|(_, r)| r["status"] == "failed")
        .map(|(cart, _)| cart.clone())
        .unwrap();
    let removed = app
        .request(Method::DELETE, &format!("/v1/carts/{retry}/promotions"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let started = app
        .check_out(&retry, "rush-retry", &checkout_body("tok_visa"))
        .await;
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.settled(&location).await;
    assert_eq!(
        (done["status"].as_str(), &done["total"]),
        (Some("completed"), &eur("20.00"))
    );
    app.stop().await;
}
