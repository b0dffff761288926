//! Read-your-writes (ADR 0040): every write answers with the feed position of its events, and
//! a read naming that position is served only once the read models have passed it.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::app::{assert_problem, settings_for, spawn_with, Store, TestApp};

const POSITION: &str = "commerce-position";
const MIN_POSITION: &str = "commerce-min-position";

/// Creates a published product; its id and the position the answer carried.
async fn publish(app: &TestApp, sku: &str) -> (String, String) {
    let response = app
        .post_json(
            "/v1/admin/products",
            &json!({"title": sku, "description": "", "publish": true,
                    "variants": [{"sku": sku, "prices": [{"amount": "5.00", "currency": "EUR"}]}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let position = response.headers()[POSITION].to_str().unwrap().to_owned();
    assert_eq!(position.len(), 32, "{position}");
    assert!(
        position.bytes().all(|b| b.is_ascii_hexdigit()),
        "{position}"
    );
    let body: Value = response.json().await.unwrap();
    (body["id"].as_str().unwrap().to_owned(), position)
}

async fn product_at(app: &TestApp, id: &str, position: &str) -> reqwest::Response {
    app.request(Method::GET, &format!("/v1/products/{id}"))
        .header(MIN_POSITION, position)
        .send()
        .await
        .unwrap()
}

/// Brings every read model up to date, as the projectors of another instance would.
async fn project_everything(app: &TestApp) {
    let wired = &app.running.as_ref().unwrap().wired;
    for projection in commerce::all_projections() {
        wired.projector(projection).catch_up().await.unwrap();
    }
}

/// On an instance that runs no projectors, a read naming a position waits for them, and is
/// refused with `503 read_model_behind` when they do not get there in time; once they do, it
/// is served at once, and a read that waits is woken as soon as they pass it.
async fn a_read_naming_a_position_waits_for_the_read_models(store: Store) {
    let mut settings = settings_for(store).await;
    settings.read_wait_max_ms = 1_500;
    let app = spawn_with(settings).await.restart_api_only().await;

    let (id, position) = publish(&app, "RYW-1").await;
    // Without a position the read model answers as it stands: without the new product.
    assert_eq!(app.get(&format!("/v1/products/{id}")).await.status(), 404);
    let started = Instant::now();
    let behind = product_at(&app, &id, &position).await;
    assert!(started.elapsed() >= Duration::from_millis(1_400));
    assert_eq!(behind.headers()["retry-after"], "1");
    assert_problem(behind, 503, "read_model_behind").await;

    project_everything(&app).await;
    let served = product_at(&app, &id, &position).await;
    assert_eq!(served.status(), 200);
    let body: Value = served.json().await.unwrap();
    assert_eq!(body["id"], id.as_str());

    // A read that is waiting when the projectors pass its position is answered then.
    let (later, position) = publish(&app, "RYW-2").await;
    let waiting = {
        let (client, base) = (app.client.clone(), app.base.clone());
        let position = position.clone();
        tokio::spawn(async move {
            client
                .get(format!(
                    "{base}/v1/products?min_position={position}&limit=10"
                ))
                .send()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    project_everything(&app).await;
    let listed = waiting.await.unwrap();
    assert_eq!(
        listed.status(),
        200,
        "the query parameter is accepted beside `limit`"
    );
    let listed: Value = listed.json().await.unwrap();
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == later.as_str()),
        "{listed}"
    );

    let bad = app
        .request(Method::GET, &format!("/v1/products/{id}"))
        .header(MIN_POSITION, "not-a-position")
        .send()
        .await
        .unwrap();
    assert_problem(bad, 400, "invalid_position").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_naming_a_position_waits_for_the_read_models_on_sqlite() {
    a_read_naming_a_position_waits_for_the_read_models(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_naming_a_position_waits_for_the_read_models_on_postgres() {
    a_read_naming_a_position_waits_for_the_read_models(Store::Postgres).await;
}

/// On a whole instance, a write and the next read naming its position never miss each other,
/// with no retry loop.
async fn a_storefront_reads_its_own_writes_at_once(store: Store) {
    let app = spawn_with(settings_for(store).await).await;
    for round in 0..5 {
        let (id, position) = publish(&app, &format!("RYW-N{round}")).await;
        assert_eq!(product_at(&app, &id, &position).await.status(), 200);
    }
    // A read that appends nothing carries no position.
    let read = app.get("/v1/products").await;
    assert!(read.headers().get(POSITION).is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storefront_reads_its_own_writes_at_once_on_sqlite() {
    a_storefront_reads_its_own_writes_at_once(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storefront_reads_its_own_writes_at_once_on_postgres() {
    a_storefront_reads_its_own_writes_at_once(Store::Postgres).await;
}
