//! Stored events are history: every payload ever written must load forever.
//!
//! `tests/golden/events/v1/` holds one stored event per event type exactly as the first
//! release wrote it (taken from a real store, three crafted from the same serializer). Each
//! one is inserted as a raw row into a fresh store and must load through the command
//! executor and be decoded from the feed.

use std::path::PathBuf;
use std::sync::Arc;

use acceptance::support::{self, read_feed};
use cqrs_es::{Aggregate, DomainEvent};
use runtime::{CommandExecutor, Cursor, EventFeed, EventSourcedExecutor, FeedEvent};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
struct Golden {
    aggregate_type: String,
    event_type: String,
    event_version: String,
    payload: Value,
    metadata: Value,
}

fn golden_dir(version: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("golden/events")
        .join(version)
}

fn goldens(version: &str) -> Vec<(String, Golden)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir(version))
        .expect("the golden directory exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let golden: Golden = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: not a golden event file: {e}"));
            (name, golden)
        })
        .collect()
}

/// The stream each golden event is stored in, alone, as its first event.
fn stream_of(golden: &Golden) -> String {
    format!("golden-{}", golden.event_type)
}

#[test]
fn there_is_a_v1_golden_file_for_every_event_type() {
    let names: Vec<String> = goldens("v1").into_iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), 48, "{names:?}");
}

fn decode_with<A: Aggregate>(golden: &Golden) -> Result<String, String> {
    let event: A::Event =
        serde_json::from_value(golden.payload.clone()).map_err(|e| e.to_string())?;
    Ok(event.event_type())
}

/// Decodes a golden payload as its aggregate's event and returns the event's type.
fn decode(golden: &Golden) -> Result<String, String> {
    match golden.aggregate_type.as_str() {
        "product" => decode_with::<catalog::Product>(golden),
        "sku_claim" => decode_with::<catalog::SkuClaim>(golden),
        "cart" => decode_with::<carts::Cart>(golden),
        "stock_item" => decode_with::<inventory::StockItem>(golden),
        "payment" => decode_with::<payments::Payment>(golden),
        "order" => decode_with::<orders::Order>(golden),
        "checkout" => decode_with::<checkout::Checkout>(golden),
        other => Err(format!("unknown aggregate type {other}")),
    }
}

#[test]
fn every_v1_payload_decodes_as_its_event_type() {
    for (name, golden) in goldens("v1") {
        assert_eq!(golden.event_version, "1", "{name}");
        let event_type = decode(&golden).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event_type, golden.event_type, "{name}");
    }
}

fn decode_feed_event(event: &FeedEvent) -> Option<Result<(), String>> {
    fn ok<E, T: std::fmt::Display>(r: Option<Result<E, T>>) -> Option<Result<(), String>> {
        r.map(|r| r.map(drop).map_err(|e| e.to_string()))
    }
    ok(event.decode::<catalog::Product>())
        .or_else(|| ok(event.decode::<catalog::SkuClaim>()))
        .or_else(|| ok(event.decode::<carts::Cart>()))
        .or_else(|| ok(event.decode::<inventory::StockItem>()))
        .or_else(|| ok(event.decode::<payments::Payment>()))
        .or_else(|| ok(event.decode::<orders::Order>()))
        .or_else(|| ok(event.decode::<checkout::Checkout>()))
}

async fn load_with<A, R>(repository: R, services: A::Services, id: &str) -> Result<u64, String>
where
    A: Aggregate + Clone + 'static,
    A::Command: Clone + Send + Sync,
    A::Error: Send + Sync,
    R: cqrs_es::persist::PersistedEventRepository + 'static,
{
    let executor = EventSourcedExecutor::<R, A>::new(repository, services);
    executor
        .load(id)
        .await
        .map(|loaded| loaded.version)
        .map_err(|e| e.to_string())
}

async fn load<R, F>(repository: F, golden: &Golden) -> Result<u64, String>
where
    R: cqrs_es::persist::PersistedEventRepository + 'static,
    F: Fn() -> R,
{
    let id = stream_of(golden);
    let gateway = Arc::new(payment_sandbox::SandboxGateway::new());
    match golden.aggregate_type.as_str() {
        "product" => load_with::<catalog::Product, R>(repository(), (), &id).await,
        "sku_claim" => load_with::<catalog::SkuClaim, R>(repository(), (), &id).await,
        "cart" => {
            let prices = Arc::new(NoPrices);
            load_with::<carts::Cart, R>(repository(), carts::CartServices { prices }, &id).await
        }
        "stock_item" => load_with::<inventory::StockItem, R>(repository(), (), &id).await,
        "payment" => {
            let services = payments::PaymentServices::new(gateway);
            load_with::<payments::Payment, R>(repository(), services, &id).await
        }
        "order" => load_with::<orders::Order, R>(repository(), (), &id).await,
        "checkout" => load_with::<checkout::Checkout, R>(repository(), (), &id).await,
        other => Err(format!("unknown aggregate type {other}")),
    }
}

struct NoPrices;

#[async_trait::async_trait]
impl carts::ports::PriceList for NoPrices {
    async fn price(
        &self,
        sku: &str,
        _currency: shared_kernel::Currency,
    ) -> Result<carts::ports::PricedSku, carts::ports::PriceLookupError> {
        Err(carts::ports::PriceLookupError::UnknownSku {
            sku: sku.to_owned(),
        })
    }
}

async fn check_store<R, F>(feed: &dyn EventFeed, repository: F)
where
    R: cqrs_es::persist::PersistedEventRepository + 'static,
    F: Fn() -> R,
{
    let all = goldens("v1");
    for (name, golden) in &all {
        let version = load(&repository, golden)
            .await
            .unwrap_or_else(|e| panic!("{name}: does not load through the executor: {e}"));
        assert_eq!(version, 1, "{name}");
    }
    let events = read_feed(feed, Cursor::START, all.len()).await;
    assert_eq!(events.len(), all.len());
    for event in &events {
        let name = format!("{}.{}", event.aggregate_type, event.event_type);
        decode_feed_event(event)
            .unwrap_or_else(|| panic!("{name}: no aggregate decodes it"))
            .unwrap_or_else(|e| panic!("{name}: does not decode from the feed: {e}"));
    }
}

#[tokio::test]
async fn v1_payloads_load_from_sqlite() {
    let store = support::fresh_sqlite().await;
    for (_, golden) in goldens("v1") {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) VALUES (?, ?, 1, ?, ?, ?, ?)",
        )
        .bind(&golden.aggregate_type)
        .bind(stream_of(&golden))
        .bind(&golden.event_type)
        .bind(&golden.event_version)
        .bind(golden.payload.to_string())
        .bind(golden.metadata.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    }
    check_store(&store, || store.event_repository()).await;
}

#[tokio::test]
async fn v1_payloads_load_from_postgres() {
    let store = support::fresh_postgres().await;
    for (_, golden) in goldens("v1") {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) VALUES ($1, $2, 1, $3, $4, $5::json, $6::json)",
        )
        .bind(&golden.aggregate_type)
        .bind(stream_of(&golden))
        .bind(&golden.event_type)
        .bind(&golden.event_version)
        .bind(golden.payload.to_string())
        .bind(golden.metadata.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    }
    check_store(&store, || store.event_repository()).await;
}
