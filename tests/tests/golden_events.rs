//! Stored events are history: every payload ever written must load forever (ADR 0014).
//!
//! `tests/golden/events/<version>/` holds one stored event per event type for every stored
//! format there has been (`<aggregate_type>.<EventType>.json`), and, where an event type
//! gained optional fields, one more row per later shape (`<aggregate_type>.<EventType>.<shape>.json`,
//! e.g. `cart.ItemAdded.weighed.json`: a line that captured its weight and tax class):
//! - `v1`: the first release's rows, serde-tagged with the Rust variant name (45 taken from a
//!   real store exercised through the API, three crafted with the same serializer);
//! - `v2`: the plain payloads written since, which are also what every older version must
//!   upcast to.
//!
//! Each golden row must decode through the stored-event codec to an event whose stored form
//! is today's `v2` golden, and must load, as a raw row in a fresh store, through the
//! executor's cold load, through its cached state catching up, and from the feed, on both
//! stores. A change that breaks an old payload fails here.
//!
//! `GOLDEN_WRITE=1` writes a missing `v2` file from its `v1` twin (never overwrites one).

use std::collections::BTreeSet;
use std::sync::Arc;

use acceptance::support::{self, read_feed};
use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::Aggregate;
use runtime::codec::{self, CodecError, StoredPayload};
use runtime::{CommandExecutor, Cursor, EventFeed, EventSourcedExecutor, FeedEvent};
use serde_json::Value;

use acceptance::golden::{self, GoldenEvent as Golden, CURRENT};

fn reencode_as<A: Aggregate>(golden: &Golden) -> Result<StoredPayload, CodecError> {
    let event = codec::decode::<A>(&golden.event_type, &golden.event_version, &golden.payload)?;
    codec::encode(&event)
}

/// Decodes a golden row as an event of its aggregate, and stores that event again.
fn reencode(golden: &Golden) -> Result<StoredPayload, String> {
    let result = match golden.aggregate_type.as_str() {
        "product" => reencode_as::<catalog::Product>(golden),
        "sku_claim" => reencode_as::<catalog::SkuClaim>(golden),
        "cart" => reencode_as::<carts::Cart>(golden),
        "stock_item" => reencode_as::<inventory::StockItem>(golden),
        "payment" => reencode_as::<payments::Payment>(golden),
        "order" => reencode_as::<orders::Order>(golden),
        "checkout" => reencode_as::<checkout::Checkout>(golden),
        "refund" => reencode_as::<refunds::Refund>(golden),
        "return" => reencode_as::<refunds::Return>(golden),
        "shipping_zone" => reencode_as::<shipping::ShippingZone>(golden),
        "promotion" => reencode_as::<coupons::Promotion>(golden),
        other => return Err(format!("unknown aggregate type {other}")),
    };
    result.map_err(|e| e.to_string())
}

fn current_golden(name: &str) -> Golden {
    golden::read(&golden::path(CURRENT, name))
}

#[test]
fn every_stored_format_has_a_golden_file_for_every_event_type() {
    let names = |version| -> BTreeSet<String> {
        golden::of_version(version)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    };
    // The first release's event types, as they were.
    assert_eq!(names("v1").len(), 48, "{:?}", names("v1"));
    // No event type is ever dropped: each format has a golden of every type of the format
    // before it, and types added later start in the format that first wrote them.
    for pair in golden::VERSIONS.windows(2) {
        let missing: Vec<_> = names(pair[0])
            .difference(&names(pair[1]))
            .cloned()
            .collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", pair[1]);
    }
    // Every event published today has a golden in today's format.
    let current = names(CURRENT);
    for (aggregate_type, event_type) in contracts::published_stored_events() {
        let name = format!("{aggregate_type}.{event_type}");
        assert!(
            current.contains(&name),
            "{name} is published but has no golden in {CURRENT}"
        );
    }
}

#[test]
fn every_golden_decodes_to_the_event_stored_today() {
    let write = std::env::var_os("GOLDEN_WRITE").is_some();
    for (name, golden) in golden::of_version("v1") {
        assert_eq!(golden.event_version, "1", "{name}");
        let stored = reencode(&golden).unwrap_or_else(|e| panic!("v1/{name}: {e}"));
        let path = golden::path(CURRENT, &name);
        if write && !path.exists() {
            let current = Golden {
                event_version: stored.event_version.clone(),
                payload: stored.payload.clone(),
                metadata: current_metadata(&golden.metadata),
                ..golden.clone()
            };
            let text = serde_json::to_string_pretty(&current).unwrap() + "\n";
            std::fs::write(&path, text).unwrap();
        }
    }
    for (name, golden) in golden::all() {
        let stored = reencode(&golden).unwrap_or_else(|e| panic!("{name}: {e}"));
        let file = name.split_once('/').unwrap().1;
        let current = current_golden(file);
        assert_eq!(stored.event_type, golden.event_type, "{name}");
        assert_eq!(stored.event_version, current.event_version, "{name}");
        assert_eq!(
            stored.payload, current.payload,
            "{name} no longer decodes to the event it stored; if a variant was renamed, pin \
             its stored name with #[serde(rename = \"{}\")]",
            golden.event_type
        );
    }
}

/// The metadata written since v2: the first release's, plus a cause and a time.
fn current_metadata(v1: &Value) -> Value {
    let mut metadata = v1.clone();
    metadata["causation_id"] = Value::String("01a23067-bd99-7c2e-8f51-0d4b6a2e9c13".into());
    metadata["occurred_at"] = Value::String("2026-12-01T07:00:34.873381Z".into());
    metadata
}

#[test]
fn no_golden_payload_carries_a_rust_variant_name() {
    for (name, golden) in golden::of_version(CURRENT) {
        let tagged = golden
            .payload
            .as_object()
            .is_some_and(|object| object.contains_key(&golden.event_type));
        assert!(
            golden.payload.is_object() && !tagged,
            "{name}: {}",
            golden.payload
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Through a real store.

/// The stream each golden event is stored in: its current form first, then the golden row.
fn stream_of(name: &str) -> String {
    format!("golden-{}", name.replace('/', "-"))
}

/// The golden file (`<aggregate_type>.<EventType>[.<shape>]`) whose current form `stream`
/// (see [`stream_of`]) holds.
fn golden_of_stream(stream: &str) -> &str {
    stream
        .strip_prefix("golden-")
        .and_then(|rest| rest.split_once('-'))
        .map_or(stream, |(_version, file)| file)
}

async fn load_as<A, R>(
    repository: R,
    services: A::Services,
    id: &str,
    cache_from: u64,
) -> Result<u64, String>
where
    A: Aggregate + Clone + 'static,
    A::Command: Clone + Send + Sync,
    A::Error: Send + Sync,
    R: PersistedEventRepository + 'static,
{
    let executor =
        EventSourcedExecutor::<R, A>::new(repository, services).with_cache_from_version(cache_from);
    executor
        .load(id)
        .await
        .map(|loaded| loaded.version)
        .map_err(|e| e.to_string())
}

/// An executor of the golden's aggregate; `load(id)` on it returns the version.
struct Loader<R> {
    repository: Box<dyn Fn() -> R + Send + Sync>,
}

impl<R: PersistedEventRepository + 'static> Loader<R> {
    async fn load(&self, aggregate_type: &str, id: &str, cache_from: u64) -> Result<u64, String> {
        let repository = (self.repository)();
        let gateway = Arc::new(payment_sandbox::SandboxGateway::new());
        match aggregate_type {
            "product" => load_as::<catalog::Product, R>(repository, (), id, cache_from).await,
            "sku_claim" => load_as::<catalog::SkuClaim, R>(repository, (), id, cache_from).await,
            "cart" => {
                let services = carts::CartServices {
                    prices: Arc::new(NoPrices),
                };
                load_as::<carts::Cart, R>(repository, services, id, cache_from).await
            }
            "stock_item" => {
                load_as::<inventory::StockItem, R>(repository, (), id, cache_from).await
            }
            "payment" => {
                let tokens = Arc::new(payments::InMemoryPaymentMethodTokens::default());
                let services = payments::PaymentServices::new(gateway, tokens);
                load_as::<payments::Payment, R>(repository, services, id, cache_from).await
            }
            "order" => load_as::<orders::Order, R>(repository, (), id, cache_from).await,
            "checkout" => load_as::<checkout::Checkout, R>(repository, (), id, cache_from).await,
            "refund" => load_as::<refunds::Refund, R>(repository, (), id, cache_from).await,
            "return" => load_as::<refunds::Return, R>(repository, (), id, cache_from).await,
            "shipping_zone" => {
                load_as::<shipping::ShippingZone, R>(repository, (), id, cache_from).await
            }
            "promotion" => load_as::<coupons::Promotion, R>(repository, (), id, cache_from).await,
            other => Err(format!("unknown aggregate type {other}")),
        }
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

fn reencode_feed_event(event: &FeedEvent) -> Option<Result<StoredPayload, String>> {
    fn again<A: Aggregate>(event: &FeedEvent) -> Option<Result<StoredPayload, String>> {
        event.decode::<A>().map(|decoded| {
            decoded
                .and_then(|e| codec::encode(&e))
                .map_err(|e| e.to_string())
        })
    }
    again::<catalog::Product>(event)
        .or_else(|| again::<catalog::SkuClaim>(event))
        .or_else(|| again::<carts::Cart>(event))
        .or_else(|| again::<inventory::StockItem>(event))
        .or_else(|| again::<payments::Payment>(event))
        .or_else(|| again::<orders::Order>(event))
        .or_else(|| again::<checkout::Checkout>(event))
        .or_else(|| again::<refunds::Refund>(event))
        .or_else(|| again::<refunds::Return>(event))
        .or_else(|| again::<shipping::ShippingZone>(event))
        .or_else(|| again::<coupons::Promotion>(event))
}

/// Inserts one row exactly as given, bypassing every codec.
type Insert<'a> = &'a (dyn Fn(
    Golden,
    String,
    u64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>
         + Sync);

async fn check_store<R>(feed: &dyn EventFeed, loader: Loader<R>, insert: Insert<'_>)
where
    R: PersistedEventRepository + 'static,
{
    let all = golden::all();
    for (name, golden) in &all {
        let stream = stream_of(name);
        let file = name.split_once('/').unwrap().1;
        insert(current_golden(file), stream.clone(), 1).await;
        // A cached state at version 1 must catch up through the codec like a cold load.
        let cached = loader
            .load(&golden.aggregate_type, &stream, 1)
            .await
            .unwrap_or_else(|e| panic!("{name}: the current form does not load: {e}"));
        assert_eq!(cached, 1, "{name}");
        insert(golden.clone(), stream.clone(), 2).await;
        let cold = loader
            .load(&golden.aggregate_type, &stream, u64::MAX)
            .await
            .unwrap_or_else(|e| panic!("{name}: does not load cold through the executor: {e}"));
        assert_eq!(cold, 2, "{name}");
        let caught_up = loader
            .load(&golden.aggregate_type, &stream, 1)
            .await
            .unwrap_or_else(|e| panic!("{name}: does not load through the state cache: {e}"));
        assert_eq!(caught_up, 2, "{name}");
    }
    let events = read_feed(feed, Cursor::START, all.len() * 2).await;
    assert_eq!(events.len(), all.len() * 2);
    for event in &events {
        let name = format!(
            "{} {}.{} v{}",
            event.aggregate_id, event.aggregate_type, event.event_type, event.event_version
        );
        let stored = reencode_feed_event(event)
            .unwrap_or_else(|| panic!("{name}: no aggregate decodes it"))
            .unwrap_or_else(|e| panic!("{name}: does not decode from the feed: {e}"));
        let current = current_golden(golden_of_stream(&event.aggregate_id));
        assert_eq!(stored.payload, current.payload, "{name}");
    }
}

#[tokio::test]
async fn golden_rows_load_from_sqlite() {
    let store = support::fresh_sqlite().await;
    let pool = store.pool().clone();
    let insert = move |golden: Golden, stream: String, sequence: u64| {
        let pool = pool.clone();
        Box::pin(async move {
            golden::insert_into_sqlite(&pool, &golden, &stream, sequence).await;
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    let repositories = store.clone();
    let loader = Loader {
        repository: Box::new(move || repositories.event_repository()),
    };
    check_store(&store, loader, &insert).await;
}

#[tokio::test]
async fn golden_rows_load_from_postgres() {
    let store = support::fresh_postgres().await;
    let pool = store.pool().clone();
    let insert = move |golden: Golden, stream: String, sequence: u64| {
        let pool = pool.clone();
        Box::pin(async move {
            golden::insert_into_postgres(&pool, &golden, &stream, sequence).await;
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    let repositories = store.clone();
    let loader = Loader {
        repository: Box::new(move || repositories.event_repository()),
    };
    check_store(&store, loader, &insert).await;
}

/// `tests/golden/shapes/` holds stored payloads of shapes added to an event version by optional
/// fields (tax on checkouts and orders, ADR 0038): each decodes and is stored again unchanged,
/// so the fields' names and meanings are fixed from the day they are first written.
#[test]
fn every_added_shape_decodes_and_is_stored_again_unchanged() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/shapes");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let shape: Value = serde_json::from_str(&text).unwrap();
        let (event_type, version) = (
            shape["event_type"].as_str().unwrap(),
            shape["event_version"].as_str().unwrap(),
        );
        let payload = &shape["payload"];
        let stored = match shape["aggregate_type"].as_str().unwrap() {
            "checkout" => codec::decode::<checkout::Checkout>(event_type, version, payload)
                .and_then(|event| codec::encode(&event)),
            "order" => codec::decode::<orders::Order>(event_type, version, payload)
                .and_then(|event| codec::encode(&event)),
            other => panic!("{}: no shape test for {other}", path.display()),
        }
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(&stored.payload, payload, "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 2, "the shapes are missing from {}", dir.display());
}
