//! The cart flow over REST: browse, add, change, remove; bad input; preconditions;
//! idempotency; concurrency.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, TestApp};
use crate::on_both_stores;

async fn shopper_fills_changes_and_empties_a_cart(app: &TestApp) {
    app.published_product("MUG-BLUE", "9.50").await;
    app.published_product("TEA-GREEN", "4.25").await;
    let listing: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(listing["data"].as_array().unwrap().len(), 2);

    let cart = app.create_cart("EUR").await;
    let add = |sku: &'static str, quantity: i64| {
        let path = format!("/v1/carts/{cart}/items");
        async move {
            app.post_json(&path, &json!({"sku": sku, "quantity": quantity}))
                .await
        }
    };
    assert_eq!(add("MUG-BLUE", 2).await.status(), 200);
    let response = add("mug-blue", 1).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"3\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["lines"].as_array().unwrap().len(),
        1,
        "same SKU, same line"
    );
    assert_eq!(body["lines"][0]["quantity"], 3);
    assert_eq!(
        body["lines"][0]["unit_price"],
        json!({"amount": "9.50", "currency": "EUR"})
    );
    assert_eq!(
        body["subtotal"],
        json!({"amount": "28.50", "currency": "EUR"})
    );

    let body: Value = add("TEA-GREEN", 4).await.json().await.unwrap();
    assert_eq!(body["subtotal"]["amount"], "45.50");
    let tea_line = body["lines"][1]["id"].as_str().unwrap().to_owned();

    let response = app
        .request(Method::PATCH, &format!("/v1/carts/{cart}/items/{tea_line}"))
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["subtotal"]["amount"], "32.75");
    assert_eq!(body["item_count"], 4);

    let response = app
        .request(
            Method::DELETE,
            &format!("/v1/carts/{cart}/items/{tea_line}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = app.cart(&cart).await;
    assert_eq!(body["lines"].as_array().unwrap().len(), 1);
    assert_eq!(body["subtotal"]["amount"], "28.50");
    assert_eq!(body["version"], 6);
}
on_both_stores!(
    shopper_fills_changes_and_empties_a_cart_on,
    shopper_fills_changes_and_empties_a_cart
);

async fn bad_input_gets_problem_json_and_changes_nothing(app: &TestApp) {
    app.published_product("SOCK-RED", "7.00").await;
    let draft = app
        .create_product(
            "Draft",
            json!([{"sku": "DRAFT-1", "prices": [{"amount": "1.00", "currency": "EUR"}]}]),
            false,
        )
        .await;
    let _ = draft;
    let usd_only = app
        .create_product(
            "Dollar only",
            json!([{"sku": "USD-ONLY", "prices": [{"amount": "3.00", "currency": "USD"}]}]),
            true,
        )
        .await;
    app.wait_for_storefront(&usd_only).await;
    let cart = app.create_cart("EUR").await;
    let items = format!("/v1/carts/{cart}/items");
    // A shopper's own token, sent for a cart that is not theirs or does not exist.
    let own_token = app.cart_token_for(&items).unwrap();
    assert_eq!(
        app.post_json(&items, &json!({"sku": "SOCK-RED", "quantity": 1}))
            .await
            .status(),
        200
    );
    let before = app.cart(&cart).await;

    let raw = |body: &'static str| {
        app.request(Method::POST, &items)
            .header("content-type", "application/json")
            .body(body)
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "malformed JSON",
            raw("{\"sku\": \"SOCK-RED\", "),
            400,
            "malformed_json",
        ),
        ("empty body", raw(""), 400, "malformed_json"),
        (
            "unknown field",
            raw(r#"{"sku":"SOCK-RED","quantity":1,"colour":"red"}"#),
            400,
            "unknown_field",
        ),
        (
            "missing field",
            raw(r#"{"quantity":1}"#),
            400,
            "validation_failed",
        ),
        (
            "quantity as a string",
            raw(r#"{"sku":"SOCK-RED","quantity":"1"}"#),
            400,
            "validation_failed",
        ),
        (
            "quantity 0",
            raw(r#"{"sku":"SOCK-RED","quantity":0}"#),
            422,
            "quantity_out_of_range",
        ),
        (
            "quantity 10000",
            raw(r#"{"sku":"SOCK-RED","quantity":10000}"#),
            422,
            "quantity_out_of_range",
        ),
        (
            "quantity -1",
            raw(r#"{"sku":"SOCK-RED","quantity":-1}"#),
            422,
            "quantity_out_of_range",
        ),
        (
            "line over 999",
            raw(r#"{"sku":"SOCK-RED","quantity":999}"#),
            422,
            "quantity_out_of_range",
        ),
        (
            "unknown SKU",
            raw(r#"{"sku":"NOPE-404","quantity":1}"#),
            422,
            "unknown_sku",
        ),
        (
            "unpublished product",
            raw(r#"{"sku":"DRAFT-1","quantity":1}"#),
            422,
            "not_purchasable",
        ),
        (
            "price in another currency",
            raw(r#"{"sku":"USD-ONLY","quantity":1}"#),
            422,
            "no_price_in_currency",
        ),
        (
            "stale If-Match",
            raw(r#"{"sku":"SOCK-RED","quantity":1}"#).header("if-match", "\"1\""),
            412,
            "version_mismatch",
        ),
        (
            "malformed If-Match",
            raw(r#"{"sku":"SOCK-RED","quantity":1}"#).header("if-match", "two"),
            400,
            "invalid_if_match",
        ),
        (
            "oversized body",
            app.request(Method::POST, &items)
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"sku":"{}","quantity":1}}"#,
                    "X".repeat(70 * 1024)
                )),
            413,
            "payload_too_large",
        ),
        (
            "not JSON",
            app.request(Method::POST, &items)
                .header("content-type", "text/plain")
                .body("sku=SOCK-RED"),
            415,
            "unsupported_media_type",
        ),
        (
            "non-UUID cart id",
            app.request(Method::POST, "/v1/carts/not-a-uuid/items")
                .header("x-cart-token", &own_token)
                .json(&json!({"sku": "SOCK-RED", "quantity": 1})),
            400,
            "invalid_id",
        ),
        (
            "unknown cart",
            app.request(
                Method::POST,
                &format!("/v1/carts/{}/items", uuid::Uuid::now_v7()),
            )
            .header("x-cart-token", &own_token)
            .json(&json!({"sku": "SOCK-RED", "quantity": 1})),
            404,
            "cart_not_found",
        ),
        (
            "non-UUID line id",
            app.request(Method::PATCH, &format!("{items}/line-1"))
                .json(&json!({"quantity": 2})),
            400,
            "invalid_id",
        ),
        (
            "unknown line",
            app.request(Method::DELETE, &format!("{items}/{}", uuid::Uuid::now_v7())),
            404,
            "line_not_found",
        ),
        (
            "invalid Idempotency-Key",
            raw(r#"{"sku":"SOCK-RED","quantity":1}"#).header("idempotency-key", "   "),
            400,
            "invalid_idempotency_key",
        ),
    ];
    for (name, request, status, code) in cases {
        let response = request.send().await.unwrap();
        let actual = response.status().as_u16();
        assert!(actual < 500, "{name}: got {actual}");
        let problem = assert_problem(response, status, code).await;
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
    assert_eq!(app.cart(&cart).await, before, "bad input changed the cart");

    let problem = assert_problem(
        app.post_json("/v1/carts", &json!({"currency": "XYZ"}))
            .await,
        400,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "currency");
    let nope = app
        .request(Method::GET, "/v1/carts/nope")
        .header("x-cart-token", &own_token)
        .send()
        .await
        .unwrap();
    assert_problem(nope, 400, "invalid_id").await;
    assert_problem(app.get("/v1/no-such-route").await, 404, "route_not_found").await;
}
on_both_stores!(
    bad_input_gets_problem_json_and_changes_nothing_on,
    bad_input_gets_problem_json_and_changes_nothing
);

async fn stale_if_match_is_refused_with_412(app: &TestApp) {
    app.published_product("CAP-1", "15.00").await;
    let cart = app.create_cart("EUR").await;
    let response = app.get(&format!("/v1/carts/{cart}")).await;
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");
    let add = |tag: &str| {
        app.request(Method::POST, &format!("/v1/carts/{cart}/items"))
            .header("if-match", tag)
            .json(&json!({"sku": "CAP-1", "quantity": 1}))
            .send()
    };
    let first = add(&etag).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");
    assert_problem(add(&etag).await.unwrap(), 412, "version_mismatch").await;
    assert_eq!(app.cart(&cart).await["lines"][0]["quantity"], 1);
}
on_both_stores!(
    stale_if_match_is_refused_with_412_on,
    stale_if_match_is_refused_with_412
);

async fn idempotency_key_replays_and_rejects_reuse(app: &TestApp) {
    app.published_product("PEN-1", "2.00").await;
    let create = || {
        app.request(Method::POST, "/v1/carts")
            .header("idempotency-key", "cart-key-1")
            .json(&json!({"currency": "EUR"}))
            .send()
    };
    let first = create().await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();

    let second = create().await.unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(second.headers()["location"], first_location);
    assert_eq!(
        second.json::<Value>().await.unwrap(),
        first_body,
        "same cart, not a new one"
    );

    let reused = app
        .request(Method::POST, "/v1/carts")
        .header("idempotency-key", "cart-key-1")
        .json(&json!({"currency": "USD"}))
        .send()
        .await
        .unwrap();
    assert_problem(reused, 422, "idempotency_key_reused").await;

    let cart = first_body["id"].as_str().unwrap();
    let token = first_body["cart_token"].as_str().unwrap().to_owned();
    app.cart_tokens
        .lock()
        .unwrap()
        .insert(cart.to_owned(), token);
    let add = || {
        app.request(Method::POST, &format!("/v1/carts/{cart}/items"))
            .header("idempotency-key", "add-pen")
            .json(&json!({"sku": "PEN-1", "quantity": 2}))
            .send()
    };
    let (a, b) = tokio::join!(add(), add());
    let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "concurrent repeats either replay or see the key in flight: {statuses:?}"
    );
    assert_eq!(add().await.unwrap().status(), 200);
    assert_eq!(
        app.cart(cart).await["lines"][0]["quantity"],
        2,
        "the add ran exactly once"
    );
}
on_both_stores!(
    idempotency_key_replays_and_rejects_reuse_on,
    idempotency_key_replays_and_rejects_reuse
);

async fn concurrent_add_item_never_loses_an_update(app: &TestApp) {
    app.published_product("BOLT-1", "0.10").await;
    let cart = app.create_cart("EUR").await;
    let path = format!("/v1/carts/{cart}/items");
    let requests = (0..24).map(|_| {
        let request = app
            .request(Method::POST, &path)
            .json(&json!({"sku": "BOLT-1", "quantity": 1}));
        async move { request.send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(requests).await;
    let landed = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        statuses.iter().all(|s| [200, 409, 412].contains(s)),
        "{statuses:?}"
    );
    assert!(landed > 0);
    let body = app.cart(&cart).await;
    assert_eq!(body["lines"][0]["quantity"], landed as u64, "{statuses:?}");
    assert_eq!(body["version"], 1 + landed as u64);
}
on_both_stores!(
    concurrent_add_item_never_loses_an_update_on,
    concurrent_add_item_never_loses_an_update
);

async fn a_cart_refuses_prices_it_cannot_honour(app: &TestApp) {
    let id = app.published_product("LAMP-1", "40.00").await;
    let cart = app.create_cart("EUR").await;
    let unpublish = app
        .request(Method::POST, &format!("/v1/admin/products/{id}/unpublish"))
        .send()
        .await
        .unwrap();
    assert_eq!(unpublish.status(), 200);
    let refused = app
        .post_json(
            &format!("/v1/carts/{cart}/items"),
            &json!({"sku": "LAMP-1", "quantity": 1}),
        )
        .await;
    assert_problem(refused, 422, "not_purchasable").await;
}
on_both_stores!(
    a_cart_refuses_prices_it_cannot_honour_on,
    a_cart_refuses_prices_it_cannot_honour
);
