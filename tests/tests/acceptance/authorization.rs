//! The authorization table (`rest::auth::ROUTES`, ADR 0023) against the API as served: every
//! operation the OpenAPI document describes has a row, and each row holds for real callers.

use std::collections::BTreeSet;

use accounts::{Grants, Scope};
use reqwest::{Method, StatusCode};
use rest::auth::{Caller, ROUTES};
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, TestApp};
use crate::on_both_stores;

/// Operations that are served but deliberately not described by the document: the document
/// itself, the page that renders it and the renderer, and the demo storefront's page, script
/// and styles (ADR 0048).
const UNDOCUMENTED: [(&str, &str); 6] = [
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/redoc-2.5.4.standalone.js"),
    ("GET", "/demo"),
    ("GET", "/demo/demo.js"),
    ("GET", "/demo/demo.css"),
];

async fn document(app: &TestApp) -> Value {
    app.get("/openapi.json").await.json().await.unwrap()
}

fn documented_operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

async fn key_with(app: &TestApp, grants: Grants) -> String {
    let running = app.running.as_ref().unwrap();
    application::api_keys::issue(
        running.wired.api.api_keys.as_ref(),
        &shared_kernel::SystemClock,
        "authorization test",
        grants,
    )
    .await
    .unwrap()
    .secret
}

/// The path with every parameter filled in (ids that name nothing, a SKU).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{sku}" => "NO-SUCH-SKU".to_owned(),
            s if s.starts_with('{') => uuid::Uuid::now_v7().to_string(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn call(
    client: &reqwest::Client,
    app: &TestApp,
    method: &str,
    path: &str,
) -> reqwest::Response {
    send(client, app, method, &concrete(path), None).await
}

/// Sends `method` to a concrete path, with an extra header if given.
async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    method: &str,
    path: &str,
    header: Option<(&str, &str)>,
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method.clone(), format!("{}{path}", app.base));
    if method != Method::GET && method != Method::DELETE {
        request = request.json(&json!({}));
    }
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

fn tokens(app: &TestApp) -> application::access_tokens::AccessTokens {
    app.running
        .as_ref()
        .unwrap()
        .wired
        .api
        .access_tokens
        .clone()
}

/// The id a holder's path names (`/v1/<kind>/{id}/...`).
fn path_id(path: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(path.split('/').nth(3).unwrap()).unwrap()
}

fn passed(status: StatusCode) -> bool {
    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN
}

async fn every_documented_operation_has_a_row_and_every_row_is_served(app: &TestApp) {
    let documented = documented_operations(&document(app).await);
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|rule| (rule.method.to_owned(), rule.path.to_owned()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "an operation has two rows");
    let missing: Vec<_> = documented.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "operations without a row in the authorization table: {missing:?}"
    );
    let undocumented: BTreeSet<(String, String)> = UNDOCUMENTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let stray: Vec<_> = table
        .difference(&documented)
        .filter(|op| !undocumented.contains(op))
        .collect();
    assert!(
        stray.is_empty(),
        "rows for operations the document does not describe: {stray:?}"
    );
    // The pages served beside the document are in the table too (without a row, a route
    // answers `route_not_found`).
    let unlisted: Vec<_> = undocumented.difference(&table).collect();
    assert!(
        unlisted.is_empty(),
        "undocumented routes without a row in the authorization table: {unlisted:?}"
    );
    // A served path asked with another method: 405, naming the methods it is served with.
    let wrong_method = app
        .request(Method::PUT, "/v1/admin/webhooks")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.headers()["allow"], "POST, GET");
    assert_problem(wrong_method, 405, "method_not_allowed").await;
    // Every row is routed: none answers `route_not_found`.
    for rule in ROUTES {
        let response = call(&app.client, app, rule.method, rule.path).await;
        if response.status() == StatusCode::NOT_FOUND {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["code"], "route_not_found",
                "{} {} is not routed",
                rule.method, rule.path
            );
        }
    }
}

async fn each_operation_admits_exactly_the_callers_its_row_names(app: &TestApp) {
    let anonymous = client_with_key(None);
    let revoked = {
        let key = key_with(app, Grants::Everything).await;
        let keys = app.running.as_ref().unwrap().wired.api.api_keys.clone();
        let id = keys.list_keys().await.unwrap().last().unwrap().id;
        assert!(keys.revoke_key(id, chrono::Utc::now()).await.unwrap());
        client_with_key(Some(&key))
    };
    let mistyped = client_with_key(Some("ck_0123456789abcdef0123456789abcdef0123456789abcdef"));
    let admin = client_with_key(Some(&key_with(app, Grants::Everything).await));
    let session = app
        .running
        .as_ref()
        .unwrap()
        .wired
        .api
        .customers
        .register("table@example.com", "long enough password", "Table")
        .await
        .unwrap();
    let customer = client_with_key(Some(&session.access_token));
    let forged = {
        // The customer's token with another customer's id spliced in: the signature fails.
        let mut parts: Vec<String> = session.access_token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        client_with_key(Some(&parts.join(".")))
    };
    for rule in ROUTES {
        let what = format!("{} {}", rule.method, rule.path);
        match rule.caller {
            Caller::Customer => {
                for client in [&anonymous, &admin] {
                    assert_problem(
                        call(client, app, rule.method, rule.path).await,
                        401,
                        "unauthenticated",
                    )
                    .await;
                }
                assert_problem(
                    call(&forged, app, rule.method, rule.path).await,
                    401,
                    "invalid_access_token",
                )
                .await;
                let status = call(&customer, app, rule.method, rule.path).await.status();
                assert!(passed(status), "{what} for its customer answered {status}");
            }
            Caller::Holder(holds, staff) => {
                let path = concrete(rule.path);
                let header = holds.header();
                let id = path_id(&path);
                // No token: 401, whatever the path names, and an API key without the row's
                // scope does not stand in for one.
                for client in [&anonymous, &admin] {
                    if staff.is_some() && std::ptr::eq(client, &admin) {
                        continue;
                    }
                    let refused = assert_problem(
                        send(client, app, rule.method, &path, None).await,
                        401,
                        "token_required",
                    )
                    .await;
                    assert!(
                        refused["detail"].as_str().unwrap().contains(header),
                        "{what}: {refused}"
                    );
                }
                // A customer whose resource it is not: the answer of a resource that does not
                // exist (their own resources open to them: tests/acceptance/customer_carts.rs).
                let answer = send(&customer, app, rule.method, &path, None).await;
                assert_eq!(answer.status(), 404, "{what} for a customer it is not of");
                let body: Value = answer.json().await.unwrap();
                assert!(
                    body["code"].as_str().unwrap().ends_with("_not_found"),
                    "{what}: {body}"
                );
                assert_problem(
                    send(&forged, app, rule.method, &path, None).await,
                    401,
                    "invalid_access_token",
                )
                .await;
                // Another resource's token: the answer of a resource that does not exist.
                let other = tokens(app).token(holds.held(), uuid::Uuid::now_v7());
                let answer =
                    send(&anonymous, app, rule.method, &path, Some((header, &other))).await;
                assert_eq!(answer.status(), 404, "{what} with another token");
                let body: Value = answer.json().await.unwrap();
                assert!(
                    body["code"].as_str().unwrap().ends_with("_not_found"),
                    "{what}: {body}"
                );
                if rule.path.starts_with("/v1/carts/") || rule.path.starts_with("/v1/orders/") {
                    // The path's own token gets through to the route (which then finds
                    // nothing by that id).
                    let own = tokens(app).token(holds.held(), id);
                    let status = send(&anonymous, app, rule.method, &path, Some((header, &own)))
                        .await
                        .status();
                    assert!(
                        passed(status),
                        "{what} with its own token answered {status}"
                    );
                }
                if let Some(required) = staff {
                    let exact = client_with_key(Some(
                        &key_with(app, Grants::Scopes([required].into())).await,
                    ));
                    let status = call(&exact, app, rule.method, rule.path).await.status();
                    assert!(passed(status), "{what} with {required} answered {status}");
                    let others: BTreeSet<Scope> =
                        Scope::all().filter(|s| !s.covers(required)).collect();
                    let almost =
                        client_with_key(Some(&key_with(app, Grants::Scopes(others)).await));
                    assert_problem(
                        call(&almost, app, rule.method, rule.path).await,
                        403,
                        "insufficient_scope",
                    )
                    .await;
                }
            }
            Caller::CustomerHolding(holds) => {
                let path = concrete(rule.path);
                let header = holds.header();
                let own = tokens(app).token(holds.held(), path_id(&path));
                let other = tokens(app).token(holds.held(), uuid::Uuid::now_v7());
                // The login first, whatever token comes with it.
                for client in [&anonymous, &admin] {
                    assert_problem(
                        send(client, app, rule.method, &path, Some((header, &own))).await,
                        401,
                        "unauthenticated",
                    )
                    .await;
                }
                assert_problem(
                    send(&forged, app, rule.method, &path, Some((header, &own))).await,
                    401,
                    "invalid_access_token",
                )
                .await;
                // Then the path's own token: none is 401, another's the answer of a missing
                // resource.
                assert_problem(
                    send(&customer, app, rule.method, &path, None).await,
                    401,
                    "token_required",
                )
                .await;
                let answer = send(&customer, app, rule.method, &path, Some((header, &other))).await;
                assert_eq!(answer.status(), 404, "{what} with another token");
                let status = send(&customer, app, rule.method, &path, Some((header, &own)))
                    .await
                    .status();
                assert!(
                    passed(status),
                    "{what} for a customer with its token answered {status}"
                );
            }
            Caller::Anyone => {
                let status = call(&anonymous, app, rule.method, rule.path).await.status();
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{what} is open to anyone, yet answered {status}"
                );
            }
            Caller::Key(required) => {
                let refused = assert_problem(
                    call(&anonymous, app, rule.method, rule.path).await,
                    401,
                    "unauthenticated",
                )
                .await;
                assert!(
                    refused["detail"]
                        .as_str()
                        .unwrap()
                        .contains(&required.to_string()),
                    "{what}: {refused}"
                );
                for client in [&revoked, &mistyped] {
                    assert_problem(
                        call(client, app, rule.method, rule.path).await,
                        401,
                        "invalid_api_key",
                    )
                    .await;
                }
                // Every scope but those that would do.
                let others: BTreeSet<Scope> =
                    Scope::all().filter(|s| !s.covers(required)).collect();
                let almost = client_with_key(Some(&key_with(app, Grants::Scopes(others)).await));
                let refused = assert_problem(
                    call(&almost, app, rule.method, rule.path).await,
                    403,
                    "insufficient_scope",
                )
                .await;
                assert!(
                    refused["detail"]
                        .as_str()
                        .unwrap()
                        .contains(&required.to_string()),
                    "{what}: {refused}"
                );
                let exact = client_with_key(Some(
                    &key_with(app, Grants::Scopes([required].into())).await,
                ));
                let status = call(&exact, app, rule.method, rule.path).await.status();
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{what} with {required} answered {status}"
                );
            }
        }
    }
}

async fn a_refusal_does_not_tell_whether_the_resource_exists(app: &TestApp) {
    let (order_id, payment_id) = app.paid_order("AUTHZ-1", 1).await;
    let anonymous = client_with_key(None);
    for path in [
        format!("/v1/admin/payments/{payment_id}"),
        format!("/v1/admin/payments/{}", uuid::Uuid::now_v7()),
        "/v1/admin/inventory/AUTHZ-1".to_owned(),
        "/v1/admin/inventory/NOTHING-HERE".to_owned(),
        format!("/v1/orders?email=grace@example.com&_={order_id}"),
    ] {
        let refused = anonymous
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .split(',')
                .next(),
            Some("Bearer realm=\"commerce\"")
        );
        assert_problem(refused, 401, "unauthenticated").await;
    }
}

async fn the_same_idempotency_key_from_two_callers_is_two_requests(app: &TestApp) {
    let first = client_with_key(Some(&key_with(app, Grants::Everything).await));
    let second = client_with_key(Some(&key_with(app, Grants::Everything).await));
    let body = json!({"title": "Shared key", "description": "",
                      "variants": [{"sku": "SHARED-KEY", "prices": [{"amount": "5.00", "currency": "EUR"}]}]});
    let create = |client: &reqwest::Client, sku: &str| {
        let mut body = body.clone();
        body["variants"][0]["sku"] = json!(sku);
        client
            .post(format!("{}/v1/admin/products", app.base))
            .header("idempotency-key", "same-key")
            .json(&body)
            .send()
    };
    let a = create(&first, "SHARED-KEY").await.unwrap();
    assert_eq!(a.status(), 201);
    assert!(a.headers().get("idempotent-replayed").is_none());
    let a: Value = a.json().await.unwrap();
    // The same key and body from another caller is its own request: not a replay of the
    // first caller's answer (it is refused on its own merits: the SKU is taken).
    let b = create(&second, "SHARED-KEY").await.unwrap();
    assert!(b.headers().get("idempotent-replayed").is_none());
    assert_problem(b, 409, "sku_taken").await;
    // With its own SKU it creates its own product, under another id.
    let c = create(&second, "SHARED-KEY-2").await.unwrap();
    assert_eq!(
        c.status(),
        422,
        "the second caller reused its own key for another body"
    );
    let c = second
        .post(format!("{}/v1/admin/products", app.base))
        .header("idempotency-key", "same-key-2")
        .json(&json!({"title": "Other", "description": "",
                      "variants": [{"sku": "SHARED-KEY-3", "prices": [{"amount": "5.00", "currency": "EUR"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), 201);
    // The first caller's retry replays its own answer.
    let again = create(&first, "SHARED-KEY").await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], a["id"]);
}

on_both_stores!(
    every_documented_operation_has_a_row,
    every_documented_operation_has_a_row_and_every_row_is_served
);
on_both_stores!(
    admits_exactly_its_row,
    each_operation_admits_exactly_the_callers_its_row_names
);
on_both_stores!(
    refusals_reveal_nothing,
    a_refusal_does_not_tell_whether_the_resource_exists
);
on_both_stores!(
    idempotency_keys_per_caller,
    the_same_idempotency_key_from_two_callers_is_two_requests
);
