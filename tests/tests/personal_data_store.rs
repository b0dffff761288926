//! Sealed personal data through real stores (ADR 0026): each store keeps one data key per
//! person however many writers race to create it, and deletes it on erasure; sealed golden
//! rows (`tests/golden/events/sealed/`) load through the executor and the feed, open to the
//! events they sealed, and read as erased once their key is gone.
//!
//! `GOLDEN_WRITE=1` writes a missing sealed golden by sealing today's plain golden of the same
//! event (never overwrites one).

use std::sync::Arc;

use acceptance::golden::{self, GoldenEvent, CURRENT};
use acceptance::support::{self, read_feed};
use base64::Engine;
use cqrs_es::persist::PersistedEventRepository;
use runtime::personal::{DataKey, InMemoryPersonalDataKeys, OpeningFeed, PersonalDataKeys};
use runtime::{codec, CommandExecutor, Cursor, EventFeed, EventSourcedExecutor, Vault};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A sealed stored row and the key that opens it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SealedGolden {
    /// Base64 of the subject's 32-byte data key.
    data_key: String,
    row: GoldenEvent,
}

const SEALED: [&str; 3] = [
    "order.OrderPlaced",
    "checkout.CheckoutStarted",
    "cart.ShippingAddressSet",
];

fn sealed_path(name: &str) -> std::path::PathBuf {
    golden::dir("sealed").join(format!("{name}.json"))
}

fn key_of(golden: &SealedGolden) -> DataKey {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&golden.data_key)
        .expect("a base64 key");
    DataKey::from_slice(&bytes).expect("a 32-byte key")
}

fn subject_of(golden: &SealedGolden) -> String {
    golden.row.payload["sealed"]["subject"]
        .as_str()
        .expect("a sealed row names its subject")
        .to_owned()
}

/// Seals today's plain golden of `name` with a fixed key, as the vault does when appending.
async fn write_sealed(name: &str) {
    let plain = golden::read(&golden::path(CURRENT, name));
    let key = DataKey([7u8; 32]);
    let keys = Arc::new(InMemoryPersonalDataKeys::default());
    let vault = Vault::new(keys.clone(), application::personal_data::personal_events());
    let mut row = plain.clone();
    let subject = runtime::personal::subject_of(
        row.payload.as_object().unwrap(),
        &row.aggregate_type,
        &row.aggregate_id,
    );
    keys.key_for_sealing(&subject, &key).await.unwrap();
    vault
        .seal(
            &row.aggregate_type,
            &row.aggregate_id,
            &row.event_type,
            &mut row.event_version,
            &mut row.payload,
        )
        .await
        .unwrap();
    let sealed = SealedGolden {
        data_key: base64::engine::general_purpose::STANDARD.encode(key.0),
        row,
    };
    std::fs::create_dir_all(golden::dir("sealed")).unwrap();
    let text = serde_json::to_string_pretty(&sealed).unwrap() + "\n";
    std::fs::write(sealed_path(name), text).unwrap();
}

async fn sealed_goldens() -> Vec<(String, SealedGolden)> {
    let mut goldens = Vec::new();
    for name in SEALED {
        let path = sealed_path(name);
        if !path.exists() && std::env::var_os("GOLDEN_WRITE").is_some() {
            write_sealed(name).await;
        }
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        goldens.push((name.to_owned(), serde_json::from_str(&text).unwrap()));
    }
    goldens
}

#[tokio::test]
async fn sealed_goldens_hold_nothing_personal_in_clear() {
    for (name, golden) in sealed_goldens().await {
        assert_eq!(golden.row.event_version, "3", "{name}");
        let plain = golden::read(&golden::path(CURRENT, &name));
        let text = golden.row.payload.to_string();
        for field in ["email", "shipping", "shipping_address", "address"] {
            if let Some(value) = plain.payload.get(field) {
                assert!(golden.row.payload.get(field).is_none(), "{name}.{field}");
                let needle = match value {
                    Value::String(text) => text.clone(),
                    other => other["line1"].as_str().unwrap().to_owned(),
                };
                assert!(!text.contains(&needle), "{name}: {needle} in clear");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The key table of each store.

async fn one_key_per_subject_under_a_race_and_erasure_deletes_it(keys: Arc<dyn PersonalDataKeys>) {
    let subject = "customer:race".to_owned();
    let racers: Vec<_> = (0..8u8)
        .map(|n| {
            let keys = keys.clone();
            let subject = subject.clone();
            tokio::spawn(async move { keys.key_for_sealing(&subject, &DataKey([n; 32])).await })
        })
        .collect();
    let mut won = Vec::new();
    for racer in racers {
        won.push(racer.await.unwrap().unwrap());
    }
    assert!(
        won.iter().all(|key| *key == won[0]),
        "every writer seals with one key"
    );
    let found = keys
        .keys(&[subject.clone(), "checkout:absent".to_owned()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[&subject], won[0]);
    assert_eq!(
        keys.erase_keys(std::slice::from_ref(&subject))
            .await
            .unwrap(),
        1
    );
    assert!(keys
        .keys(std::slice::from_ref(&subject))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(keys.erase_keys(&[subject]).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_one_key_per_subject() {
    let store = support::fresh_sqlite().await;
    one_key_per_subject_under_a_race_and_erasure_deletes_it(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_one_key_per_subject() {
    let store = support::fresh_postgres().await;
    one_key_per_subject_under_a_race_and_erasure_deletes_it(Arc::new(store)).await;
}

// ---------------------------------------------------------------------------------------------
// Sealed rows through a real store.

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

/// What the executor reads of the golden's person: the email, or for a cart the street.
async fn personal_of<R: PersistedEventRepository + 'static>(
    repository: R,
    vault: Arc<Vault>,
    golden: &GoldenEvent,
) -> String {
    match golden.aggregate_type.as_str() {
        "order" => {
            let executor =
                EventSourcedExecutor::<R, orders::Order>::new(repository, ()).with_vault(vault);
            let loaded = executor.load(&golden.aggregate_id).await.unwrap();
            loaded.aggregate.email().unwrap().as_str().to_owned()
        }
        "checkout" => {
            let executor = EventSourcedExecutor::<R, checkout::Checkout>::new(repository, ())
                .with_vault(vault);
            let loaded = executor.load(&golden.aggregate_id).await.unwrap();
            loaded.aggregate.email().unwrap().as_str().to_owned()
        }
        "cart" => {
            let services = carts::CartServices {
                prices: Arc::new(NoPrices),
            };
            let executor =
                EventSourcedExecutor::<R, carts::Cart>::new(repository, services).with_vault(vault);
            let loaded = executor.load(&golden.aggregate_id).await.unwrap();
            loaded
                .aggregate
                .shipping_address()
                .unwrap()
                .line1()
                .to_owned()
        }
        other => panic!("no sealed events of {other}"),
    }
}

/// The personal text of a plain golden that [`personal_of`] reads.
fn plain_personal(plain: &GoldenEvent) -> Option<&str> {
    plain.payload["email"]
        .as_str()
        .or(plain.payload["address"]["line1"].as_str())
}

/// The feed's opened payload of the golden's row, re-encoded as the codec stores it today.
fn reencoded(event: &runtime::FeedEvent) -> Value {
    let stored = match event.aggregate_type.as_str() {
        "order" => codec::encode(&event.decode::<orders::Order>().unwrap().unwrap()),
        "cart" => codec::encode(&event.decode::<carts::Cart>().unwrap().unwrap()),
        _ => codec::encode(&event.decode::<checkout::Checkout>().unwrap().unwrap()),
    };
    stored.unwrap().payload
}

async fn sealed_rows_open_and_read_erased_without_their_key<R, F>(
    keys: Arc<dyn PersonalDataKeys>,
    feed: Arc<dyn EventFeed>,
    repository: F,
    insert: &(dyn Fn(GoldenEvent) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
          + Sync),
) where
    R: PersistedEventRepository + 'static,
    F: Fn() -> R,
{
    let goldens = sealed_goldens().await;
    for (_, golden) in &goldens {
        keys.key_for_sealing(&subject_of(golden), &key_of(golden))
            .await
            .unwrap();
        insert(golden.row.clone()).await;
    }
    let vault = Arc::new(Vault::new(
        keys.clone(),
        application::personal_data::personal_events(),
    ));
    let opening = OpeningFeed::new(feed.clone(), vault.clone());
    // With the key: the executor and the feed see the event that was sealed.
    let events = read_feed(&opening, Cursor::START, goldens.len()).await;
    assert_eq!(events.len(), goldens.len());
    for ((name, golden), event) in goldens.iter().zip(&events) {
        let plain = golden::read(&golden::path(CURRENT, name));
        assert_eq!(event.event_version, "2", "{name}");
        assert_eq!(reencoded(event), plain.payload, "{name}");
        let personal = personal_of(repository(), vault.clone(), &golden.row).await;
        assert_eq!(Some(personal.as_str()), plain_personal(&plain), "{name}");
    }
    // Without a vault a sealed row is refused, never read as something else.
    let unopened = read_feed(feed.as_ref(), Cursor::START, goldens.len()).await;
    assert!(unopened.iter().all(|event| event
        .decode::<orders::Order>()
        .is_none_or(|d| d.is_err())
        && event
            .decode::<checkout::Checkout>()
            .is_none_or(|d| d.is_err())
        && event.decode::<carts::Cart>().is_none_or(|d| d.is_err())));

    // Erased: every read shows the placeholders, and the rest of the event is intact.
    let subjects: Vec<String> = goldens.iter().map(|(_, g)| subject_of(g)).collect();
    vault.erase(&subjects).await.unwrap();
    let events = read_feed(&opening, Cursor::START, goldens.len()).await;
    for ((name, golden), event) in goldens.iter().zip(&events) {
        let plain = golden::read(&golden::path(CURRENT, name));
        let opened = reencoded(event);
        if plain.payload.get("email").is_some() {
            assert_eq!(opened["email"], shared_kernel::ERASED, "{name}");
        }
        for field in ["shipping", "shipping_address", "address"] {
            if plain.payload.get(field).is_some() {
                assert_eq!(opened[field]["line1"], shared_kernel::ERASED, "{name}");
            }
        }
        assert_eq!(opened["lines"], plain.payload["lines"], "{name}");
        let personal = personal_of(repository(), vault.clone(), &golden.row).await;
        assert_eq!(personal, shared_kernel::ERASED, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_goldens_load_from_sqlite() {
    let store = support::fresh_sqlite().await;
    let pool = store.pool().clone();
    let insert = move |golden: GoldenEvent| {
        let pool = pool.clone();
        Box::pin(async move {
            golden::insert_into_sqlite(&pool, &golden, &golden.aggregate_id, 1).await;
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    let repositories = store.clone();
    sealed_rows_open_and_read_erased_without_their_key(
        Arc::new(store.clone()),
        Arc::new(store),
        move || repositories.event_repository(),
        &insert,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_goldens_load_from_postgres() {
    let store = support::fresh_postgres().await;
    let pool = store.pool().clone();
    let insert = move |golden: GoldenEvent| {
        let pool = pool.clone();
        Box::pin(async move {
            golden::insert_into_postgres(&pool, &golden, &golden.aggregate_id, 1).await;
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    };
    let repositories = store.clone();
    sealed_rows_open_and_read_erased_without_their_key(
        Arc::new(store.clone()),
        Arc::new(store),
        move || repositories.event_repository(),
        &insert,
    )
    .await;
}
