//! What browsers get: cross-origin access only from the configured storefront origins, and
//! headers that keep answers from being rendered, framed or sniffed.

use reqwest::Method;
use serde_json::json;

use crate::app::TestApp;
use crate::on_both_stores;

async fn browsers_reach_the_api_only_from_configured_origins_and_get_safe_headers(app: &TestApp) {
    // The test server allows https://shop.example only.
    let preflight = app
        .request(Method::OPTIONS, "/v1/carts")
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,idempotency-key",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let allowed = app
        .request(Method::POST, "/v1/carts")
        .header("origin", "https://shop.example")
        .json(&json!({"currency": "EUR"}))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 201);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let exposed = allowed.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("location") && exposed.contains("etag"),
        "{exposed}"
    );

    let elsewhere = app
        .request(Method::OPTIONS, "/v1/carts")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        elsewhere
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "another origin is not allowed"
    );

    let plain = app.get("/v1/products").await;
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ] {
        assert_eq!(plain.headers()[name], value, "{name}");
    }
    let docs = app.get("/docs").await;
    let policy = docs.headers()["content-security-policy"].to_str().unwrap();
    // The docs page runs only this server's scripts (Redoc is embedded, pinned).
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("://"), "{policy}");
}
on_both_stores!(
    cors_and_security_headers,
    browsers_reach_the_api_only_from_configured_origins_and_get_safe_headers
);

async fn checkouts_beyond_the_rate_are_refused_with_retry_after(store: crate::app::Store) {
    let mut settings = crate::app::settings_for(store).await;
    settings.checkout_rate_per_minute = 2;
    settings.checkout_rate_burst = 2;
    let app = crate::app::spawn_with(settings).await;
    app.published_product("RATE-1", "5.00").await;
    let received = app
        .post_json(
            "/v1/admin/inventory/RATE-1/receipts",
            &json!({"quantity": 10}),
        )
        .await;
    assert_eq!(received.status(), 200);
    let body = json!({"email": "rate@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "R. Ate", "line1": "1 Main St",
                                           "city": "Berlin", "postal_code": "10115",
                                           "country": "DE"}});
    let mut answers = Vec::new();
    let mut carts = Vec::new();
    for attempt in 0..3 {
        let cart = app.create_cart("EUR").await;
        let added = app
            .post_json(
                &format!("/v1/carts/{cart}/items"),
                &json!({"sku": "RATE-1", "quantity": 1}),
            )
            .await;
        assert_eq!(added.status(), 200);
        let answer = app
            .request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
            .header("idempotency-key", format!("rate-{attempt}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        answers.push(answer);
        carts.push(cart);
    }
    let limited = answers.pop().unwrap();
    for answer in answers {
        assert_eq!(answer.status(), 202);
    }
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    crate::app::assert_problem(limited, 429, "rate_limited").await;
    // Refused before anything was claimed or changed: the cart is still open.
    assert_eq!(app.cart(&carts[2]).await["status"], "open");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_beyond_the_rate_are_refused_with_retry_after_on_sqlite() {
    checkouts_beyond_the_rate_are_refused_with_retry_after(crate::app::Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_beyond_the_rate_are_refused_with_retry_after_on_postgres() {
    checkouts_beyond_the_rate_are_refused_with_retry_after(crate::app::Store::Postgres).await;
}
