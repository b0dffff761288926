//! Customer accounts (ADR 0025): registration with a unique email, login, refresh tokens that
//! rotate and whose reuse ends the family, and a customer's own orders.

use reqwest::Client;
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, settings_for, spawn_with, Store, TestApp};
use crate::on_both_stores;

async fn post(app: &TestApp, client: &Client, path: &str, body: Value) -> reqwest::Response {
    client
        .post(format!("{}{path}", app.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn register(app: &TestApp, email: &str) -> Value {
    let response = post(
        app,
        &client_with_key(None),
        "/v1/auth/register",
        json!({"email": email, "password": "correct horse battery", "name": "Ada"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn an_account_is_opened_once_per_email_and_logs_in(app: &TestApp) {
    let anonymous = client_with_key(None);
    let session = register(app, "Ada@Example.com").await;
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert_eq!(session["customer"]["email"], "ada@example.com");
    let me: Value = client_with_key(session["access_token"].as_str())
        .get(format!("{}/v1/me", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], session["customer"]["id"]);
    assert_eq!(me["name"], "Ada");

    // The same email in any case is taken; bad input is refused and opens nothing.
    let again = post(
        app,
        &anonymous,
        "/v1/auth/register",
        json!({"email": " ADA@example.COM", "password": "another password"}),
    )
    .await;
    assert_problem(again, 409, "email_taken").await;
    let short = post(
        app,
        &anonymous,
        "/v1/auth/register",
        json!({"email": "short@example.com", "password": "short"}),
    )
    .await;
    let problem = assert_problem(short, 400, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "password");
    let bad_email = post(
        app,
        &anonymous,
        "/v1/auth/register",
        json!({"email": "nobody", "password": "long enough password"}),
    )
    .await;
    assert_problem(bad_email, 400, "validation_failed").await;

    // Log in; a wrong password and an unknown email answer alike.
    let login = |email: &str, password: &str| {
        post(
            app,
            &anonymous,
            "/v1/auth/login",
            json!({"email": email, "password": password}),
        )
    };
    let ok = login("ada@EXAMPLE.com", "correct horse battery").await;
    assert_eq!(ok.status(), 200);
    let wrong = assert_problem(
        login("ada@example.com", "wrong horse battery").await,
        401,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_problem(
        login("nobody@example.com", "correct horse battery").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"]);
}
on_both_stores!(accounts, an_account_is_opened_once_per_email_and_logs_in);

async fn of_simultaneous_registrations_of_one_email_exactly_one_opens_it(app: &TestApp) {
    let anonymous = client_with_key(None);
    let attempts = (0..8).map(|n| {
        post(
            app,
            &anonymous,
            "/v1/auth/register",
            json!({"email": if n % 2 == 0 { "RACE@example.com" } else { "race@EXAMPLE.com" },
                   "password": format!("password number {n}")}),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
}
on_both_stores!(
    registration_race,
    of_simultaneous_registrations_of_one_email_exactly_one_opens_it
);

async fn a_refresh_token_works_once_and_its_reuse_ends_the_whole_login(app: &TestApp) {
    let anonymous = client_with_key(None);
    let session = register(app, "grace@example.com").await;
    let first = session["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        post(
            app,
            &anonymous,
            "/v1/auth/refresh",
            json!({ "refresh_token": token }),
        )
    };
    let rotated = refresh(first.clone()).await;
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert_eq!(rotated["customer"]["id"], session["customer"]["id"]);

    // Another login of the same customer is another family.
    let other_login: Value = post(
        app,
        &anonymous,
        "/v1/auth/login",
        json!({"email": "grace@example.com", "password": "correct horse battery"}),
    )
    .await
    .json()
    .await
    .unwrap();

    // The spent token comes back (a thief replays it): the family ends, the rotated token
    // with it.
    assert_problem(refresh(first).await, 401, "refresh_token_reused").await;
    assert_eq!(refresh(second).await.status(), 401);
    let survivor = refresh(other_login["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(survivor.status(), 200, "the other login is untouched");
    let survivor: Value = survivor.json().await.unwrap();

    // Logging out ends that family too; unknown tokens are refused.
    let out = post(
        app,
        &anonymous,
        "/v1/auth/logout",
        json!({"refresh_token": survivor["refresh_token"]}),
    )
    .await;
    assert_eq!(out.status(), 204);
    assert_eq!(
        refresh(survivor["refresh_token"].as_str().unwrap().to_owned())
            .await
            .status(),
        401
    );
    assert_problem(
        refresh("rt_nothing".to_owned()).await,
        401,
        "invalid_refresh_token",
    )
    .await;
}
on_both_stores!(
    refresh_token_reuse,
    a_refresh_token_works_once_and_its_reuse_ends_the_whole_login
);

async fn a_customer_sees_the_orders_of_their_own_carts_only(app: &TestApp) {
    app.published_product("MINE-1", "10.00").await;
    app.post_json(
        "/v1/admin/inventory/MINE-1/receipts",
        &json!({"quantity": 10}),
    )
    .await;
    let ada = register(app, "ada.orders@example.com").await;
    let bob = register(app, "bob.orders@example.com").await;
    let as_ada = client_with_key(ada["access_token"].as_str());
    let as_bob = client_with_key(bob["access_token"].as_str());

    // The body cannot name a customer; the login does.
    let named = post(
        app,
        &client_with_key(None),
        "/v1/carts",
        json!({"currency": "EUR", "customer_id": bob["customer"]["id"]}),
    )
    .await;
    assert_problem(named, 400, "unknown_field").await;
    let cart: Value = post(app, &as_ada, "/v1/carts", json!({"currency": "EUR"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cart["customer_id"], ada["customer"]["id"]);
    let (cart_id, token) = (
        cart["id"].as_str().unwrap().to_owned(),
        cart["cart_token"].as_str().unwrap().to_owned(),
    );
    let added = as_ada
        .post(format!("{}/v1/carts/{cart_id}/items", app.base))
        .header("x-cart-token", &token)
        .json(&json!({"sku": "MINE-1", "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let started = as_ada
        .post(format!("{}/v1/carts/{cart_id}/checkout", app.base))
        .header("x-cart-token", &token)
        .header("idempotency-key", "ada-checkout")
        .json(
            &json!({"email": "ada.orders@example.com", "payment_method_token": "tok_visa",
                      "shipping_address": {"name": "Ada", "line1": "1 Main St", "city": "Berlin",
                                           "postal_code": "10115", "country": "DE"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let done = app.until(&location, |c| c["status"] != "pending").await;
    assert_eq!(done["status"], "completed");

    let listed = |client: Client| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let page: Value = client
                .get(format!("{}/v1/me/orders", app.base))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let data = page["data"].as_array().unwrap().clone();
            if !data.is_empty() || std::time::Instant::now() > deadline {
                return data;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let mine = listed(as_ada).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], done["order_id"]);
    assert!(
        listed(as_bob).await.is_empty(),
        "bob sees none of ada's orders"
    );
}
on_both_stores!(
    own_orders,
    a_customer_sees_the_orders_of_their_own_carts_only
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_beyond_the_rate_are_refused_with_retry_after() {
    let mut settings = settings_for(Store::Sqlite).await;
    settings.auth_rate_per_minute = 2;
    settings.auth_rate_burst = 2;
    let app = spawn_with(settings).await;
    let anonymous = client_with_key(None);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = post(
            &app,
            &anonymous,
            "/v1/auth/login",
            json!({"email": "x@example.com", "password": "whatever password"}),
        )
        .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            assert_problem(response, 429, "rate_limited").await;
        }
    }
    assert_eq!(statuses, [401, 401, 429]);
    app.stop().await;
}
