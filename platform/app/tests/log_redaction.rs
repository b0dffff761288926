//! Secrets never reach the logs: the real `commerce` binary, logging everything at debug
//! level, runs checkouts with several payment method tokens, behind an API key (and is sent
//! a wrong one) and guest cart tokens, and a customer registers and refreshes; its log
//! output is then searched for every one of those secrets and the password.

mod server;

use std::fs::File;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn payment_method_tokens_never_reach_the_logs() {
    no_secret_reaches_the_logs("text").await;
}

/// JSON lines carry more (span names, trace and span ids): still no secret.
#[tokio::test]
async fn payment_method_tokens_never_reach_the_json_logs() {
    no_secret_reaches_the_logs("json").await;
}

async fn no_secret_reaches_the_logs(format: &str) {
    let data_dir = std::env::temp_dir().join(format!("commerce-logs-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log_path = data_dir.join("server.log");
    let port = server::free_port();
    let mut command = server::command(&data_dir, port);
    command
        .env("COMMERCE_DEMO_CATALOG", "false")
        .env("COMMERCE_PAYMENT_TIMEOUT_SECS", "2")
        .env("RUST_LOG", "debug")
        .env("COMMERCE_LOG_FORMAT", format)
        .stdout(File::create(&log_path).unwrap());
    let server = server::start(command, port).await;
    let base = server.base.clone();
    let api_key = server::api_key(&data_dir, None).1;
    let client = server::client(&api_key);
    let wrong_key = "ck_0123456789abcdef0123456789abcdef0123456789abcdef";
    let refused = server::client(wrong_key)
        .get(format!("{base}/v1/admin/inventory/LOG-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // A customer registers, logs in and refreshes: password and tokens pass through.
    let password = "log-redaction-password-4711";
    let session = post(
        &reqwest::Client::new(),
        format!("{base}/v1/auth/register"),
        json!({"email": "logs.customer@example.com", "password": password}),
    )
    .await;
    let refreshed = post(
        &reqwest::Client::new(),
        format!("{base}/v1/auth/refresh"),
        json!({"refresh_token": session["refresh_token"]}),
    )
    .await;
    let customer_secrets: Vec<String> = [
        &session["access_token"],
        &session["refresh_token"],
        &refreshed["access_token"],
        &refreshed["refresh_token"],
    ]
    .iter()
    .map(|token| token.as_str().expect("a token").to_owned())
    .chain([password.to_owned()])
    .collect();
    post(
        &client,
        format!("{base}/v1/admin/products"),
        json!({"title": "Log lamp", "publish": true,
               "variants": [{"sku": "LOG-1", "prices": [{"amount": "30.00", "currency": "EUR"}]}]}),
    )
    .await;
    post(
        &client,
        format!("{base}/v1/admin/inventory/LOG-1/receipts"),
        json!({"quantity": 50}),
    )
    .await;
    let tokens = [
        "tok_visa",
        "tok_declined",
        "tok_timeout",
        "tok_capture_refused",
    ];
    let mut locations = Vec::new();
    let mut cart_tokens = Vec::new();
    for token in tokens {
        let cart = post(
            &client,
            format!("{base}/v1/carts"),
            json!({"currency": "EUR"}),
        )
        .await;
        let cart_id = cart["id"].as_str().unwrap().to_owned();
        let cart_token = cart["cart_token"].as_str().unwrap().to_owned();
        cart_tokens.push(cart_token.clone());
        let added = client
            .post(format!("{base}/v1/carts/{cart_id}/items"))
            .header("x-cart-token", &cart_token)
            .json(&json!({"sku": "LOG-1", "quantity": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), 200);
        let accepted = client
            .post(format!("{base}/v1/carts/{cart_id}/checkout"))
            .header("x-cart-token", &cart_token)
            .header("idempotency-key", format!("log-{token}"))
            .json(
                &json!({"email": "logs@example.com", "payment_method_token": token,
                          "shipping_address": {"name": "L. Og", "line1": "1 Main St",
                                               "city": "Berlin", "postal_code": "10115",
                                               "country": "DE"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 202);
        locations.push(accepted.headers()["location"].to_str().unwrap().to_owned());
    }
    // Every checkout has gone as far as it will: completed, failed or needing attention.
    let deadline = Instant::now() + Duration::from_secs(30);
    for location in &locations {
        loop {
            let checkout: Value = client
                .get(format!("{base}{location}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let attention: Value = client
                .get(format!("{base}/v1/admin/checkouts?status=needs_attention"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let needs_attention = attention["data"]
                .as_array()
                .is_some_and(|list| list.iter().any(|c| c["checkout_id"] == checkout["id"]));
            if checkout["status"] != "pending" || needs_attention {
                break;
            }
            assert!(Instant::now() < deadline, "{checkout}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    server::kill_9(server);

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("sandbox"),
        "the log holds the debug output it is searched in"
    );
    let secrets = tokens
        .iter()
        .copied()
        .chain([
            // The random part of the keys: what makes each one secret.
            &api_key[3..],
            &wrong_key[3..],
        ])
        .chain(cart_tokens.iter().map(|token| &token[3..]))
        .chain(customer_secrets.iter().map(String::as_str));
    for secret in secrets {
        let leaks: Vec<&str> = log.lines().filter(|line| line.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} reached the log: {leaks:#?}");
    }
    if format == "json" {
        let lines: Vec<Value> = log
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect();
        let requests: Vec<&Value> = lines
            .iter()
            .filter(|line| line["fields"]["message"] == "request")
            .collect();
        assert!(!requests.is_empty());
        for request in requests {
            let trace = request["trace_id"].as_str().unwrap_or_default();
            assert_eq!(
                trace.len(),
                32,
                "a request line carries its trace id: {request}"
            );
            assert_eq!(request["span_id"].as_str().map(str::len), Some(16));
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
