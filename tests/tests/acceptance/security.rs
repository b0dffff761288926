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
    assert!(policy.contains("https://cdn.redoc.ly"), "{policy}");
}
on_both_stores!(
    cors_and_security_headers,
    browsers_reach_the_api_only_from_configured_origins_and_get_safe_headers
);
