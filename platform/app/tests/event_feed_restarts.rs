//! Following the published feed never loses or reorders an event, whatever happens to the
//! server (ADR 0015).
//!
//! A subscriber reads `GET /v1/events` from the beginning with long-polls while the load
//! generator runs checkouts against the real `commerce` binary on PostgreSQL; the server is
//! restarted twice under it, once gracefully (SIGTERM) and once with SIGKILL. Afterwards what
//! the subscriber received, deduplicated by event id, must be exactly the published events
//! committed to the `events` table, each stream in sequence order.

use std::collections::{BTreeMap, HashSet};
mod server;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::{Cursor, PublishedFeed, TypeFilter};
use serde_json::Value;
use server::{free_port, kill_9, Server};
use tokio::sync::watch;

/// Starts the binary on `port`; restarts reuse the port, so clients keep their address.
async fn start(data_dir: &Path, database_url: &str, port: u16) -> Server {
    let mut command = server::command(data_dir, port);
    command
        .env("COMMERCE_DEMO_CATALOG", "true")
        .env("DATABASE_URL", database_url);
    server::start(command, port).await
}

/// The demo catalogue reaches the storefront read model a moment after start.
async fn wait_for_the_storefront(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listing: Value = client
            .get(format!("{base}/v1/products?limit=100"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if listing["data"].as_array().is_some_and(|d| d.len() >= 4) {
            return;
        }
        assert!(Instant::now() < deadline, "the demo catalogue never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn terminate(mut server: Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let status = server.child.wait().expect("the process exits");
    assert!(
        status.success(),
        "graceful shutdown exits cleanly: {status}"
    );
}

/// What the subscriber holds: every event it received, in order, and where it stands.
#[derive(Default)]
struct Received {
    events: Vec<Value>,
    cursor: String,
}

/// Follows the feed through connection failures (the server restarting) until `stop` turns
/// true and nothing newer is left.
async fn subscribe(
    base: String,
    key: String,
    received: Arc<Mutex<Received>>,
    mut stop: watch::Receiver<bool>,
) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    loop {
        let stopping = *stop.borrow_and_update();
        let url = {
            let cursor = received.lock().unwrap().cursor.clone();
            let wait = if stopping { 0 } else { 2 };
            format!("{base}/v1/events?limit=500&wait={wait}&after={cursor}")
        };
        let page: Option<Value> = match client.get(url).bearer_auth(&key).send().await {
            Ok(response) if response.status() == 200 => response.json().await.ok(),
            _ => None,
        };
        let Some(page) = page else {
            // The server is restarting: try again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let events = page["data"].as_array().cloned().unwrap_or_default();
        let caught_up = events.is_empty();
        {
            let mut received = received.lock().unwrap();
            received.events.extend(events);
            received.cursor = page["next_cursor"].as_str().unwrap().to_owned();
        }
        if stopping && caught_up {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_feed_subscriber_gets_every_published_event_once_in_order_through_restarts() {
    let database_url = acceptance::support::fresh_postgres_with_url().await.1;
    let data_dir =
        std::env::temp_dir().join(format!("commerce-feed-restarts-{}", uuid::Uuid::new_v4()));
    let port = free_port();
    let key = server::api_key(&data_dir, Some(&database_url)).1;
    let server = start(&data_dir, &database_url, port).await;
    let base = server.base.clone();
    wait_for_the_storefront(&base).await;
    let received = Arc::new(Mutex::new(Received::default()));
    let (stop, stopped) = watch::channel(false);
    let subscriber = tokio::spawn(subscribe(
        base.clone(),
        key.clone(),
        Arc::clone(&received),
        stopped,
    ));
    let load = tokio::spawn(loadgen::run(loadgen::Args {
        base_url: vec![base.clone()],
        api_key: Some(key.clone()),
        shoppers: 6,
        duration_secs: 8,
        checkouts: None,
        warmup_secs: 0,
        token: "tok_visa".to_owned(),
        restock: Some(10_000),
        seed: 1,
        rate: None,
        // Refunds too, so that the second saga's events cross the restarts as well.
        refund_percent: 25,
        checkout_wait_secs: 10,
    }));

    tokio::time::sleep(Duration::from_secs(2)).await;
    terminate(server);
    let server = start(&data_dir, &database_url, port).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    kill_9(server);
    let server = start(&data_dir, &database_url, port).await;
    let audit = load.await.unwrap();
    // Informative only: shoppers whose requests died with the server count as errors.
    eprintln!("load generator audit passed: {audit:?}");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(60), subscriber)
        .await
        .expect("the subscriber catches up")
        .unwrap();
    kill_9(server);

    // What was committed, read from the events table through the same contracts.
    let store = postgres_store::PostgresStore::connect(&database_url)
        .await
        .unwrap();
    // Opened as the server opens them: orders and checkouts carry sealed personal data.
    let store = Arc::new(store);
    let vault = Arc::new(runtime::Vault::new(
        store.clone(),
        application::personal_data::personal_events(),
    ));
    let feed = Arc::new(runtime::OpeningFeed::new(store, vault));
    let published = PublishedFeed::new(feed, Arc::new(contracts::PublishedLanguage));
    let mut expected = Vec::new();
    let mut after = Cursor::START;
    loop {
        let page = published
            .read_after(after, 1000, &TypeFilter::all())
            .await
            .unwrap();
        if page.next == after {
            break;
        }
        after = page.next;
        expected.extend(page.events);
    }

    let received = std::mem::take(&mut received.lock().unwrap().events);
    let mut seen = HashSet::new();
    let deduplicated: Vec<&Value> = received
        .iter()
        .filter(|event| seen.insert(event["id"].as_str().unwrap().to_owned()))
        .collect();
    let expected_ids: Vec<String> = expected.iter().map(|e| e.id.to_string()).collect();
    let received_ids: Vec<String> = deduplicated
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        expected
            .iter()
            .any(|e| e.event_type == "checkout.checkout_completed"),
        "the load completed checkouts"
    );
    assert!(
        expected
            .iter()
            .any(|e| e.event_type == "orders.refund_requested"),
        "the load requested refunds"
    );
    assert_eq!(
        received_ids.len(),
        expected_ids.len(),
        "received {} distinct events, {} were committed",
        received_ids.len(),
        expected_ids.len()
    );
    assert_eq!(received_ids, expected_ids, "the same events in feed order");
    let mut last_sequence: BTreeMap<(String, String), u64> = BTreeMap::new();
    for event in &deduplicated {
        let stream = (
            event["stream"]["type"].as_str().unwrap().to_owned(),
            event["stream"]["id"].as_str().unwrap().to_owned(),
        );
        let sequence = event["sequence"].as_u64().unwrap();
        let previous = last_sequence.insert(stream.clone(), sequence).unwrap_or(0);
        assert!(
            sequence > previous,
            "{stream:?}: {sequence} after {previous}"
        );
    }

    // And the table itself agrees on how many events were published.
    let pool = sqlx_pool(&database_url).await;
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT aggregate_type, event_type FROM events")
            .fetch_all(&pool)
            .await
            .unwrap();
    let publishable = stored
        .iter()
        .filter(|(aggregate_type, event_type)| is_published(aggregate_type, event_type))
        .count();
    assert_eq!(publishable, expected.len());
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The stored `(aggregate type, event type)` pairs that have a public contract.
fn is_published(aggregate_type: &str, event_type: &str) -> bool {
    match aggregate_type {
        "product" | "payment" | "order" | "stock_item" => {
            !(aggregate_type == "payment" && event_type == "PaymentAuthorizationUnknown")
        }
        "cart" => !matches!(event_type, "CheckoutBegan" | "CheckoutReleased"),
        "checkout" => matches!(
            event_type,
            "CheckoutStarted" | "CheckoutCompleted" | "CheckoutFailed"
        ),
        _ => false,
    }
}

async fn sqlx_pool(url: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}
