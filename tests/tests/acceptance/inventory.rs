//! Inventory over REST, storefront availability, and the race for the last units.

use std::sync::Arc;

use ::inventory::{InventoryError, StockCommand, StockItem};
use chrono::{Duration, Utc};
use reqwest::Method;
use runtime::{CommandError, CommandMetadata};
use serde_json::{json, Value};
use shared_kernel::{Quantity, ReservationId, Sku};

use crate::app::{assert_problem, settings_for, Store, TestApp};
use crate::on_both_stores;

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.post_json(path, &body).await
}

async fn stock_is_received_adjusted_and_shown_on_the_storefront(app: &TestApp) {
    let product = app.published_product("KEG-1", "99.00").await;
    let received = post(
        app,
        "/v1/admin/inventory/keg-1/receipts",
        json!({"quantity": 10, "reference": "PO-7"}),
    )
    .await;
    assert_eq!(received.status(), 200);
    assert_eq!(received.headers()["etag"], "\"1\"");
    let adjusted: Value = post(
        app,
        "/v1/admin/inventory/KEG-1/adjustments",
        json!({"delta": -3, "reason": "damaged"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(adjusted["on_hand"], 7);
    assert_eq!(adjusted["available"], 7);
    let other: Value = post(
        app,
        "/v1/admin/inventory/KEG-1/adjustments",
        json!({"delta": 1, "reason": "other", "note": "found behind the shelf"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(other["on_hand"], 8);
    let fetched = app.get("/v1/admin/inventory/KEG-1").await;
    assert_eq!(fetched.headers()["etag"], "\"3\"");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let body: Value = app
            .get(&format!("/v1/products/{product}"))
            .await
            .json()
            .await
            .unwrap();
        if body["variants"][0]["available"] == 8 {
            assert_eq!(body["variants"][0]["in_stock"], true);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "availability never projected: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let listing: Value = app.get("/v1/products").await.json().await.unwrap();
    assert_eq!(listing["data"][0]["variants"][0]["available"], 8);
}
on_both_stores!(
    stock_is_received_adjusted_and_shown_on_the_storefront_on,
    stock_is_received_adjusted_and_shown_on_the_storefront
);

async fn bad_stock_changes_are_refused_and_change_nothing(app: &TestApp) {
    post(
        app,
        "/v1/admin/inventory/JAR-1/receipts",
        json!({"quantity": 4}),
    )
    .await;
    let before: Value = app
        .get("/v1/admin/inventory/JAR-1")
        .await
        .json()
        .await
        .unwrap();
    let cases = [
        (
            "/v1/admin/inventory/JAR-1/receipts",
            json!({"quantity": 0}),
            400,
            "validation_failed",
        ),
        (
            "/v1/admin/inventory/JAR-1/receipts",
            json!({"quantity": -5}),
            400,
            "validation_failed",
        ),
        (
            "/v1/admin/inventory/JAR-1/receipts",
            json!({"quantity": 2_000_000_000}),
            422,
            "too_much_stock",
        ),
        (
            "/v1/admin/inventory/JAR-1/receipts",
            json!({"quantity": 1, "extra": 1}),
            400,
            "unknown_field",
        ),
        (
            "/v1/admin/inventory/JAR-1/adjustments",
            json!({"delta": 0, "reason": "recount"}),
            422,
            "zero_adjustment",
        ),
        (
            "/v1/admin/inventory/JAR-1/adjustments",
            json!({"delta": -5, "reason": "lost"}),
            422,
            "would_go_below_reserved",
        ),
        (
            "/v1/admin/inventory/JAR-1/adjustments",
            json!({"delta": 1, "reason": "stolen"}),
            400,
            "validation_failed",
        ),
        (
            "/v1/admin/inventory/JAR-1/adjustments",
            json!({"delta": 1, "reason": "other"}),
            400,
            "validation_failed",
        ),
        (
            "/v1/admin/inventory/JAR-1/adjustments",
            json!({"delta": 1, "reason": "other", "note": " "}),
            422,
            "invalid_reason",
        ),
        (
            "/v1/admin/inventory/bad%20sku/receipts",
            json!({"quantity": 1}),
            400,
            "validation_failed",
        ),
    ];
    for (path, body, status, code) in cases {
        assert_problem(post(app, path, body).await, status, code).await;
    }
    let after: Value = app
        .get("/v1/admin/inventory/JAR-1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_problem(
        app.get("/v1/admin/inventory/NEVER-SEEN").await,
        404,
        "stock_item_not_found",
    )
    .await;
    let response = app
        .request(Method::POST, "/v1/admin/inventory/JAR-1/receipts")
        .header("if-match", "\"7\"")
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 412, "version_mismatch").await;
}
on_both_stores!(
    bad_stock_changes_are_refused_and_change_nothing_on,
    bad_stock_changes_are_refused_and_change_nothing
);

/// 60 shoppers race for the last 7 units through two app instances sharing one PostgreSQL
/// database: exactly 7 reservations land, every other one is refused as out of stock, and
/// no write conflict ever reaches a caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_oversell_when_many_reserve_the_last_units_on_postgres() {
    let settings = settings_for(Store::Postgres).await;
    let first = commerce::open(&settings).await.unwrap();
    let second = commerce::open(&settings).await.unwrap();
    let sku = Sku::parse("LAST-UNITS").unwrap();
    let id = StockItem::aggregate_id(&sku);
    let metadata = CommandMetadata::new("test");
    first
        .api
        .inventory
        .execute(
            &id,
            StockCommand::ReceiveStock {
                sku: sku.clone(),
                quantity: Quantity::new(7).unwrap(),
                reference: None,
            },
            None,
            &metadata,
        )
        .await
        .unwrap();

    let instances = [
        Arc::clone(&first.api.inventory),
        Arc::clone(&second.api.inventory),
    ];
    let reservations: Vec<_> = (0..60)
        .map(|i| {
            let inventory = Arc::clone(&instances[i % 2]);
            let (sku, id, metadata) = (sku.clone(), id.clone(), metadata.clone());
            tokio::spawn(async move {
                let command = StockCommand::ReserveStock {
                    sku,
                    reservation_id: ReservationId::new(),
                    quantity: Quantity::new(1).unwrap(),
                    expires_at: Utc::now() + Duration::minutes(15),
                };
                inventory.execute(&id, command, None, &metadata).await
            })
        })
        .collect();
    let (mut reserved, mut out_of_stock) = (0, 0);
    for reservation in reservations {
        match reservation.await.unwrap() {
            Ok(_) => reserved += 1,
            Err(CommandError::Rejected(InventoryError::OutOfStock { .. })) => out_of_stock += 1,
            Err(other) => panic!("a reservation ended neither reserved nor out of stock: {other}"),
        }
    }
    assert_eq!((reserved, out_of_stock), (7, 53));
    let item = first.api.inventory.load(&id).await.unwrap().aggregate;
    assert_eq!(
        (item.on_hand(), item.reserved(), item.available()),
        (7, 7, 0)
    );
}
