//! A warehouse service that picks every placed order once, in order, from the relay's stream.
//!
//! With NATS (JetStream enabled) running and the app started with `NATS_URL` set:
//!
//! ```text
//! cargo run -p nats_relay --example warehouse
//! ```
//!
//! `NATS_URL` defaults to `nats://127.0.0.1:4222`.

use std::collections::HashSet;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The envelope fields a consumer relies on; it may ignore the rest.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    version: u32,
    data: Value,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let jetstream = jetstream::new(async_nats::connect(url).await?);
    let stream = jetstream.get_stream("COMMERCE").await?;
    // Durable: JetStream remembers what the warehouse acknowledged, and a restarted warehouse
    // resumes there.
    let orders = stream
        .get_or_create_consumer(
            "warehouse",
            consumer::pull::Config {
                durable_name: Some("warehouse".into()),
                filter_subject: "commerce.orders.order_placed".into(),
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::Explicit,
                // One order in flight at a time, so a redelivery never overtakes a later one.
                max_ack_pending: 1,
                ..Default::default()
            },
        )
        .await?;

    // JetStream drops a republished event only within its duplicate window (a few minutes):
    // a relay that crashed after publishing but before recording it, and came back later,
    // stores the event again; a lost ack gets it redelivered. So the warehouse remembers what
    // it processed, by event id. A real service keeps these ids in its database, written in
    // the same transaction as the work they stand for.
    let mut processed = HashSet::new();
    let mut messages = orders.messages().await?;
    while let Some(message) = messages.next().await {
        let message = message?;
        let event: Envelope = serde_json::from_slice(&message.payload)?;
        if !processed.contains(&event.id) {
            match (event.event_type.as_str(), event.version) {
                ("orders.order_placed", 1) => pick(&event.data),
                // A version this release does not know: stop without acknowledging, rather
                // than skip the order. It is delivered again to the release that knows it.
                (event_type, version) => {
                    return Err(format!("{event_type} v{version} is unknown: upgrade").into());
                }
            }
            processed.insert(event.id);
        }
        message.ack().await?;
    }
    Ok(())
}

fn pick(order: &Value) {
    let order_id = order["order_id"].as_str().unwrap_or("?");
    for line in order["lines"].as_array().into_iter().flatten() {
        println!(
            "order {order_id}: pick {} x {}",
            line["quantity"], line["sku"]
        );
    }
}
