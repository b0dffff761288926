//! Hot read models served from memory (ADR 0044): a read naming a write's position
//! (`Commerce-Min-Position`, ADR 0040) shows that write, never the document the instance kept
//! from before it, whether this instance projected the write or another instance sharing the
//! database did.

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{settings_for, spawn_with, Store, TestApp};
use crate::on_both_stores;

const POSITION: &str = "commerce-position";
const MIN_POSITION: &str = "commerce-min-position";
const ZONES: &str = "/v1/admin/shipping-zones";

/// A write's answer and the position it carries.
async fn written(response: reqwest::Response) -> (Value, String) {
    assert!(response.status().is_success(), "{}", response.status());
    let position = response.headers()[POSITION].to_str().unwrap().to_owned();
    (response.json().await.unwrap(), position)
}

/// The units of `sku` available as the storefront shows product `id`, as of `position` if
/// one is given.
async fn available(app: &TestApp, id: &str, position: Option<&str>) -> u64 {
    let mut request = app.request(Method::GET, &format!("/v1/products/{id}"));
    if let Some(position) = position {
        request = request.header(MIN_POSITION, position);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["variants"][0]["available"].as_u64().unwrap()
}

/// The JSON answer of `GET path` as of `position`.
async fn read_at(app: &TestApp, path: &str, position: &str) -> Value {
    app.request(Method::GET, path)
        .header(MIN_POSITION, position)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Receives or adjusts `delta` units of `sku` through `on`; the position of the write.
async fn change_stock(on: &TestApp, sku: &str, delta: i64) -> String {
    let response = if delta > 0 {
        on.post_json(
            &format!("/v1/admin/inventory/{sku}/receipts"),
            &json!({ "quantity": delta }),
        )
        .await
    } else {
        on.post_json(
            &format!("/v1/admin/inventory/{sku}/adjustments"),
            &json!({ "delta": delta, "reason": "damaged" }),
        )
        .await
    };
    written(response).await.1
}

/// Over rounds of a stock change each, the storefront product read as of the change shows
/// it, though the same product was read (and kept) just before; so do its shipping options
/// after the zone's price changed.
async fn a_read_as_of_a_write_never_gets_the_kept_document_from_before_it(app: &TestApp) {
    let sku = "CACHED-1";
    let product = app.published_product(sku, "10.00").await;
    let position = change_stock(app, sku, 10).await;
    assert_eq!(available(app, &product, Some(&position)).await, 10);
    let mut expected = 10;
    for round in 0..12_i64 {
        // Read (and so kept) as it stands, twice, then changed.
        available(app, &product, None).await;
        assert_eq!(available(app, &product, None).await, expected);
        let delta = if round % 3 == 2 { -2 } else { round + 1 };
        let position = change_stock(app, sku, delta).await;
        expected = expected.checked_add_signed(delta).unwrap();
        assert_eq!(
            available(app, &product, Some(&position)).await,
            expected,
            "round {round}"
        );
    }
    let listing: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(listing["data"][0]["variants"][0]["available"], expected);

    // The shipping zones every cart total reads: a price change shows in the next quote.
    let (zone, _) = written(
        app.post_json(ZONES, &json!({"name": "DACH", "countries": ["DE"]}))
            .await,
    )
    .await;
    let zone = format!("{ZONES}/{}", zone["id"].as_str().unwrap());
    // Answered with the zone, its new option in it.
    let (with_option, _) = written(
        app.post_json(
            &format!("{zone}/options"),
            &json!({"name": "Standard", "prices": [{"type": "flat", "amount":
                    {"amount": "4.90", "currency": "EUR"}}]}),
        )
        .await,
    )
    .await;
    let cart = app.cart_holding(sku, 1).await;
    let (_, position) = written(
        app.request(Method::PUT, &format!("/v1/carts/{cart}/shipping-address"))
            .json(
                &json!({"name": "Grace Hopper", "line1": "7 Compiler Lane", "city": "Berlin",
                          "postal_code": "10115", "country": "DE"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let options = format!("/v1/carts/{cart}/shipping-options");
    for price in ["5.90", "6.90", "7.90"] {
        let quoted = read_at(app, &options, &position).await;
        assert_eq!(quoted["data"].as_array().unwrap().len(), 1, "{quoted}");
        let option_id = with_option["options"][0]["id"].as_str().unwrap();
        let option_path = format!("{zone}/options/{option_id}");
        let (_, changed) = written(
            app.request(Method::PATCH, &option_path)
                .json(&json!({"prices": [{"type": "flat", "amount":
                              {"amount": price, "currency": "EUR"}}]}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let quoted = read_at(app, &options, &changed).await;
        assert_eq!(quoted["data"][0]["price"]["amount"], price, "{quoted}");
    }
}

on_both_stores!(
    a_read_as_of_a_write_never_gets_the_kept_document_from_before_it_on,
    a_read_as_of_a_write_never_gets_the_kept_document_from_before_it
);

/// Two instances on one PostgreSQL database each run every projector, and only one commits
/// each batch. Stock changed through `a` is mostly projected by `a` (its projector hears of
/// the append first); `b`, which kept the product's stock level from before, still shows the
/// change to a read as of its position, and so does `a` for changes made through `b`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_shows_a_write_the_other_instance_projected() {
    let settings = settings_for(Store::Postgres).await;
    let a = spawn_with(settings.clone()).await;
    let b = spawn_with(settings).await;
    let sku = "CACHED-2";
    let product = a.published_product(sku, "10.00").await;
    let mut position = change_stock(&a, sku, 10).await;
    let mut expected: u64 = 10;
    for round in 0..16_u64 {
        let (writer, reader) = if round % 4 == 3 { (&b, &a) } else { (&a, &b) };
        // The reader keeps the level as of the last change (reads without a position may
        // lag on an instance that did not make the change).
        assert_eq!(available(reader, &product, Some(&position)).await, expected);
        available(reader, &product, None).await;
        position = change_stock(writer, sku, 1).await;
        expected += 1;
        assert_eq!(
            available(reader, &product, Some(&position)).await,
            expected,
            "round {round}"
        );
    }
    a.stop().await;
    b.stop().await;
}
