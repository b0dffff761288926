//! A customer's profile and address book (ADR 0027): kept in tables, checked like shipping
//! addresses, each customer's own; bad input is refused and changes nothing.

use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, TestApp};
use crate::on_both_stores;

async fn log_in(app: &TestApp, email: &str) -> Client {
    let session: Value = client_with_key(None)
        .post(format!("{}/v1/auth/register", app.base))
        .json(&json!({"email": email, "password": "correct horse battery", "name": "Ada"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    client_with_key(session["access_token"].as_str())
}

async fn send(
    app: &TestApp,
    client: &Client,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client.request(method, format!("{}{path}", app.base));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn book(app: &TestApp, client: &Client) -> Vec<Value> {
    let page: Value = send(app, client, Method::GET, "/v1/me/addresses", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["has_more"], false);
    page["data"].as_array().unwrap().clone()
}

fn home() -> Value {
    json!({"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "gb", "phone": "+44 20 7946 0000"})
}

async fn a_customer_keeps_checked_addresses_of_their_own(app: &TestApp) {
    let ada = log_in(app, "ada.book@example.com").await;
    let bob = log_in(app, "bob.book@example.com").await;
    assert!(book(app, &ada).await.is_empty());

    let saved = send(app, &ada, Method::POST, "/v1/me/addresses", Some(home())).await;
    assert_eq!(saved.status(), 201);
    let location = saved.headers()["location"].to_str().unwrap().to_owned();
    let saved: Value = saved.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/me/addresses/{}", saved["id"].as_str().unwrap())
    );
    assert_eq!(
        saved["address"]["country"], "GB",
        "kept in its checked form"
    );
    assert_eq!(saved["address"]["line2"], Value::Null);

    // Bad input is refused, naming the field, and keeps nothing.
    let mut unknown_country = home();
    unknown_country["country"] = json!("XX");
    let mut blank_city = home();
    blank_city["city"] = json!("   ");
    for (body, field) in [(unknown_country, "country"), (blank_city, "city")] {
        let refused = assert_problem(
            send(app, &ada, Method::POST, "/v1/me/addresses", Some(body)).await,
            400,
            "validation_failed",
        )
        .await;
        assert_eq!(refused["errors"][0]["field"], field, "{refused}");
    }
    let mut extra = home();
    extra["default"] = json!(true);
    assert_problem(
        send(app, &ada, Method::POST, "/v1/me/addresses", Some(extra)).await,
        400,
        "unknown_field",
    )
    .await;
    let kept = book(app, &ada).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["id"], saved["id"]);

    // Each book is its owner's: another customer neither sees nor deletes an address of it.
    assert!(book(app, &bob).await.is_empty());
    let path = format!("/v1/me/addresses/{}", saved["id"].as_str().unwrap());
    assert_problem(
        send(app, &bob, Method::DELETE, &path, None).await,
        404,
        "address_not_found",
    )
    .await;
    assert_eq!(book(app, &ada).await.len(), 1);
    assert_problem(
        send(
            app,
            &client_with_key(None),
            Method::GET,
            "/v1/me/addresses",
            None,
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;

    assert_eq!(
        send(app, &ada, Method::DELETE, &path, None).await.status(),
        204
    );
    assert!(book(app, &ada).await.is_empty());
    assert_problem(
        send(app, &ada, Method::DELETE, &path, None).await,
        404,
        "address_not_found",
    )
    .await;
}
on_both_stores!(
    address_book,
    a_customer_keeps_checked_addresses_of_their_own
);

async fn an_address_book_holds_at_most_twenty_addresses(app: &TestApp) {
    let ada = log_in(app, "ada.full@example.com").await;
    for _ in 0..20 {
        let saved = send(app, &ada, Method::POST, "/v1/me/addresses", Some(home())).await;
        assert_eq!(saved.status(), 201);
    }
    assert_problem(
        send(app, &ada, Method::POST, "/v1/me/addresses", Some(home())).await,
        409,
        "address_book_full",
    )
    .await;
    assert_eq!(book(app, &ada).await.len(), 20);
}
on_both_stores!(
    address_book_limit,
    an_address_book_holds_at_most_twenty_addresses
);

async fn a_customer_changes_their_name_and_bad_input_changes_nothing(app: &TestApp) {
    let ada = log_in(app, "ada.profile@example.com").await;
    let renamed = send(
        app,
        &ada,
        Method::PATCH,
        "/v1/me",
        Some(json!({"name": "  Augusta Ada King  "})),
    )
    .await;
    assert_eq!(renamed.status(), 200);
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["name"], "Augusta Ada King");
    assert_eq!(renamed["email"], "ada.profile@example.com");

    for (body, code) in [
        (json!({"name": "x".repeat(201)}), "validation_failed"),
        (
            json!({"name": "Ada", "email": "other@example.com"}),
            "unknown_field",
        ),
    ] {
        assert_problem(
            send(app, &ada, Method::PATCH, "/v1/me", Some(body)).await,
            400,
            code,
        )
        .await;
    }
    let me: Value = send(app, &ada, Method::GET, "/v1/me", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "Augusta Ada King");
    assert_eq!(me["email"], "ada.profile@example.com");
}
on_both_stores!(
    profile_changes,
    a_customer_changes_their_name_and_bad_input_changes_nothing
);

/// An access token outlives an account erased meanwhile: saving an address with it is the
/// customer's 404, never an unavailable store (schemathesis found the 503).
async fn an_erased_account_saves_no_address(app: &TestApp) {
    let ada = log_in(app, "ada.erased@example.com").await;
    let me: Value = send(app, &ada, Method::GET, "/v1/me", None)
        .await
        .json()
        .await
        .unwrap();
    let erased = app
        .post_json(
            &format!("/v1/admin/customers/{}/erasure", me["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(erased.status(), 200);

    let saved = send(app, &ada, Method::POST, "/v1/me/addresses", Some(home())).await;
    assert_problem(saved, 404, "customer_not_found").await;
    assert_problem(
        send(app, &ada, Method::GET, "/v1/me", None).await,
        404,
        "customer_not_found",
    )
    .await;
}
on_both_stores!(
    an_erased_account_saves_no_address_on,
    an_erased_account_saves_no_address
);
