//! Two server instances on one PostgreSQL database work as one shop (ADR 0041): a checkout
//! started on one is followed on the other, the instance holding the scheduled-workers lease
//! finishes what the other left (a payment retry), money taken on one is given back through
//! the other, each authorization is captured exactly once for the checkout's total, stock
//! balances, and when the lease holder stops the other takes its work over.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{checkout_body, settings_for, spawn_with, Store, TestApp};

/// Starts the checkout of `cart` (held on `on`), returning its location.
async fn start_checkout(on: &TestApp, cart: &str, key: &str, token: &str) -> String {
    let response = on.check_out(cart, key, &checkout_body(token)).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    response.headers()["location"]
        .to_str()
        .expect("a location")
        .to_owned()
}

/// Long-polls `location` on `on` once, for at most 10 s; the checkout and how long it took.
async fn long_poll(on: &TestApp, location: &str) -> (Value, Duration) {
    let asked = Instant::now();
    let body: Value = on
        .get(&format!("{location}?wait=10"))
        .await
        .json()
        .await
        .expect("json body");
    (body, asked.elapsed())
}

/// The payment of a settled checkout, as staff see it.
async fn payment_of(on: &TestApp, checkout: &Value) -> Value {
    let id = checkout["payment_id"].as_str().expect("a payment id");
    on.get(&format!("/v1/admin/payments/{id}"))
        .await
        .json()
        .await
        .expect("json body")
}

/// The sandbox provider's records of `kind` for authorization `authorization_id`, from the
/// shared database: (captures made, amount held, amount captured, amount refunded).
async fn provider_view(url: &str, authorization_id: &str) -> (i64, String, String, String) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let captures: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sandbox_ledger WHERE kind = 'capture' \
         AND record -> 'request' ->> 'authorization_id' = $1 \
         AND record -> 'outcome' ->> 'result' = 'done'",
    )
    .bind(authorization_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let (held, captured, refunded): (String, String, String) = sqlx::query_as(
        "SELECT record -> 'amount' ->> 'amount', record -> 'captured' ->> 'amount', \
                record -> 'refunded' ->> 'amount' \
         FROM sandbox_ledger WHERE kind = 'hold' AND key = $1",
    )
    .bind(authorization_id)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|error| panic!("no hold {authorization_id} in the shared ledger: {error}"));
    pool.close().await;
    (captures, held, captured, refunded)
}

fn amount(money: &Value) -> rust_decimal::Decimal {
    money["amount"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not money: {money}"))
}

fn decimal(text: &str) -> rust_decimal::Decimal {
    text.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_complete_every_checkout_once() {
    let settings = settings_for(Store::Postgres).await;
    let url = match settings.store_url() {
        commerce::config::StoreUrl::Postgres(url) => url,
        commerce::config::StoreUrl::Sqlite(_) => unreachable!("a PostgreSQL store was asked for"),
    };
    // `a` starts first and takes the scheduled-workers lease: it runs the feed and deadline
    // parts of every saga; `b` runs only what its own API starts.
    let a = spawn_with(settings.clone()).await;
    let b = spawn_with(settings).await;
    let sku = "TWO-INST";
    a.published_product(sku, "10.00").await;
    a.receive(sku, 40).await;
    let on_hand_before = a.on_hand(sku).await;

    // Checkouts started on one instance and long-polled on the other, both ways, at once;
    // `tok_timeout` ones leave the payment to a retry, which the lease holder (`a`) makes on
    // the authorization `b` placed, whichever instance started them.
    let mut flows = Vec::new();
    for (index, token) in [
        "tok_visa",
        "tok_timeout",
        "tok_visa",
        "tok_timeout",
        "tok_visa",
    ]
    .iter()
    .enumerate()
    {
        for (start, follow) in [(&b, &a), (&a, &b)] {
            flows.push(async move {
                let cart = start.cart_holding(sku, 2).await;
                let key = format!("two-{index}-{}", start.base);
                let location = start_checkout(start, &cart, &key, token).await;
                let deadline = Instant::now() + Duration::from_secs(30);
                loop {
                    let (checkout, took) = long_poll(follow, &location).await;
                    if checkout["status"] != "pending" {
                        return (checkout, took);
                    }
                    assert!(Instant::now() < deadline, "never settled: {checkout}");
                }
            });
        }
    }
    let settled = futures::future::join_all(flows).await;

    let mut sold = 0;
    for (checkout, last_wait) in &settled {
        assert_eq!(checkout["status"], "completed", "{checkout}");
        // The long-poll that saw it completed was woken when the other instance completed
        // it, not sent back at the end of its 10 s wait.
        assert!(
            last_wait < &Duration::from_secs(9),
            "answered after {last_wait:?}"
        );
        sold += 2;
        let payment = payment_of(&b, checkout).await;
        assert_eq!(payment["status"], "captured", "{payment}");
        assert_eq!(amount(&payment["captured"]), amount(&checkout["total"]));
        let authorization = payment["authorization_id"].as_str().expect("authorized");
        let (captures, held, captured, _) = provider_view(&url, authorization).await;
        assert_eq!(
            captures, 1,
            "authorization {authorization} captured {captures} times"
        );
        assert_eq!(decimal(&held), amount(&checkout["total"]));
        assert_eq!(decimal(&captured), amount(&checkout["total"]));
    }
    // Stock balances on both instances' view.
    for app in [&a, &b] {
        let level = app
            .until(&format!("/v1/admin/inventory/{sku}"), |level| {
                level["on_hand"].as_u64() == Some(on_hand_before - sold)
            })
            .await;
        assert_eq!(level["reserved"].as_u64().unwrap_or(0), 0, "{level}");
    }

    // Money captured through one instance is given back through the other: the refund saga
    // runs where the refund was asked for, on the provider's record of another instance.
    let (first, _) = &settled[0];
    let order = first["order_id"].as_str().expect("an order");
    let response = b
        .request(Method::POST, &format!("/v1/admin/orders/{order}/refunds"))
        .header("idempotency-key", "two-refund")
        .json(&json!({"amount": {"amount": "5.00", "currency": "EUR"}, "reason": "Scratched"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let refund_at = response.headers()["location"].to_str().unwrap().to_owned();
    let refund = a
        .until(&refund_at, |r| {
            r["progress"] == "completed" || r["progress"] == "failed"
        })
        .await;
    assert_eq!(refund["progress"], "completed", "{refund}");
    let payment = payment_of(&a, first).await;
    let authorization = payment["authorization_id"].as_str().unwrap().to_owned();
    assert_eq!((provider_view(&url, &authorization).await).3, "5.00");

    // The lease holder stops: the other takes the scheduled work over within seconds, so a
    // payment retry (`tok_timeout`) started on it still completes.
    a.stop().await;
    let cart = b.cart_holding(sku, 1).await;
    let location = start_checkout(&b, &cart, "two-after-stop", "tok_timeout").await;
    let done = b.settled(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    b.stop().await;
}

/// Two instances' sandbox gateways on one database, each with its own connections, as two
/// processes would have.
async fn two_gateways() -> (
    payment_sandbox::SandboxGateway,
    payment_sandbox::SandboxGateway,
) {
    let url = acceptance::support::fresh_postgres_url().await;
    let mut gateways = Vec::new();
    for _ in 0..2 {
        let store = postgres_store::PostgresStore::connect(&url).await.unwrap();
        gateways.push(payment_sandbox::SandboxGateway::shared(
            std::sync::Arc::new(store),
        ));
    }
    let b = gateways.pop().unwrap();
    (gateways.pop().unwrap(), b)
}

fn euros(amount: &str) -> shared_kernel::Money {
    shared_kernel::Money::parse(amount, "EUR").unwrap()
}

fn capture_of(key: &str, authorization_id: &str, amount: &str) -> payments::CaptureRequest {
    payments::CaptureRequest {
        idempotency_key: key.to_owned(),
        authorization_id: authorization_id.to_owned(),
        amount: euros(amount),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_racing_on_one_authorization_never_capture_more_than_it_holds() {
    use payments::PaymentGateway;
    let (a, b) = two_gateways().await;
    for round in 0..10 {
        let authorization_id = a
            .authorize(payments::AuthorizeRequest {
                idempotency_key: format!("race-{round}"),
                amount: euros("50.00"),
                payment_method_token: payment_sandbox::TOK_VISA.to_owned(),
            })
            .await
            .unwrap()
            .authorization_id;
        // The same capture asked of both (a saga step repeated by two instances), and a
        // second capture under another key that would take the hold above its amount.
        let (same_a, same_b, other) = tokio::join!(
            a.capture(capture_of(
                &format!("cap-{round}"),
                &authorization_id,
                "30.00"
            )),
            b.capture(capture_of(
                &format!("cap-{round}"),
                &authorization_id,
                "30.00"
            )),
            b.capture(capture_of(
                &format!("cap2-{round}"),
                &authorization_id,
                "30.00"
            )),
        );
        let held = b
            .find_authorization(&authorization_id)
            .await
            .unwrap()
            .expect("the hold is in the shared ledger");
        assert_eq!(held.captured, euros("30.00"), "round {round}");
        match (same_a, same_b, other) {
            // The repeated key answers the same receipt; the other key is refused.
            (Ok(first), Ok(second), Err(payments::GatewayError::Rejected(_))) => {
                assert_eq!(first, second, "round {round}");
            }
            // The other key came first: both repeats of the first key are refused alike.
            (
                Err(payments::GatewayError::Rejected(first)),
                Err(payments::GatewayError::Rejected(second)),
                Ok(_),
            ) => assert_eq!(first, second, "round {round}"),
            outcomes => panic!("round {round}: {outcomes:?}"),
        }
    }
}
