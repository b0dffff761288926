//! Published events: what internal services may rely on (ADR 0015).
//!
//! A stream stores what its context needs; other services see only the public contracts that
//! each context maps its stored events to ([`EventContracts`], implemented by the
//! `contracts` crate). A [`PublishedEvent`] is one such event in the envelope every delivery
//! uses alike: the HTTP feed and its Server-Sent Events, the NATS JetStream relay and
//! webhooks. [`PublishedFeed`] reads them in feed order from any cursor.
//!
//! Guarantees, for every delivery: events come in the global feed's order (so each stream's
//! events in sequence order); nothing committed is ever skipped; a consumer may start from
//! the beginning of history; delivery is at least once, so consumers deduplicate by `id`.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::feed::{Cursor, EventFeed, FeedEvent};
use crate::StoreError;

/// Which aggregate instance an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRef {
    /// The aggregate type, e.g. `order`.
    #[serde(rename = "type")]
    pub aggregate_type: String,
    pub id: String,
}

/// One published event, in the envelope every delivery uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedEvent {
    /// Stable across deliveries: derived from (stream, sequence). Deduplicate by it.
    pub id: Uuid,
    /// The public name, unique across the system: `<context>.<event>`, e.g. `orders.order_placed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The contract version of `data`. A consumer that meets a version it does not know must
    /// stop rather than skip the event.
    pub version: u32,
    pub stream: StreamRef,
    /// Position within the stream, from 1, without gaps among all of the stream's events
    /// (published or not).
    pub sequence: u64,
    /// Where this event sits in the global feed: pass it back as `after` to resume behind it.
    pub cursor: String,
    /// When the event was recorded; absent on events older than the metadata that records it.
    pub occurred_at: Option<DateTime<Utc>>,
    /// The flow the event belongs to (the request that started a checkout, say).
    pub correlation_id: Option<Uuid>,
    /// The request or event that caused this one.
    pub causation_id: Option<Uuid>,
    pub data: Value,
}

impl PublishedEvent {
    /// The envelope fields taken from the stored event; the contract supplies the rest.
    pub fn from_feed(event: &FeedEvent, event_type: &str, version: u32, data: Value) -> Self {
        let metadata = event.metadata();
        Self {
            id: event.event_id,
            event_type: event_type.to_owned(),
            version,
            stream: StreamRef {
                aggregate_type: event.aggregate_type.clone(),
                id: event.aggregate_id.clone(),
            },
            sequence: event.sequence,
            cursor: event.cursor.to_token(),
            occurred_at: metadata.occurred_at,
            correlation_id: metadata.correlation_id,
            causation_id: metadata.causation_id,
            data,
        }
    }
}

/// A published type and the JSON Schema of its `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractSchema {
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    /// The context that publishes it (`orders`).
    pub context: String,
    pub description: String,
    pub schema: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A stored event that should be published could not be read: the reader stops here
    /// rather than skip it.
    #[error("event {event_id} ({aggregate_type}.{event_type}) cannot be published: {reason}")]
    Undecodable {
        event_id: Uuid,
        aggregate_type: String,
        event_type: String,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Maps stored events to their public contracts.
pub trait EventContracts: Send + Sync {
    /// The public form of `event`, or `None` when its context keeps it internal. Fails only
    /// when the stored event cannot be decoded, which readers treat as a reason to stop.
    fn publish(&self, event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError>;

    /// The public type a stored event of `event_type` in an `aggregate_type` stream is
    /// published as, or `None` when it stays internal; known without decoding the event, so
    /// that readers of a few types skip the rest cheaply. Must agree with [`publish`].
    ///
    /// [`publish`]: EventContracts::publish
    fn public_type(&self, aggregate_type: &str, event_type: &str) -> Option<&'static str>;

    /// Every published type, each version, with its schema.
    fn schemas(&self) -> Vec<ContractSchema>;

    /// The JSON Schema of the envelope ([`PublishedEvent`]).
    fn envelope_schema(&self) -> Value;
}

/// Which published types a reader wants; empty means all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeFilter {
    types: BTreeSet<String>,
}

impl TypeFilter {
    pub fn all() -> Self {
        Self::default()
    }

    /// Exact type names (`orders.order_placed`) or a context with a wildcard (`orders.*`).
    pub fn of<I: IntoIterator<Item = S>, S: Into<String>>(types: I) -> Self {
        Self {
            types: types.into_iter().map(Into::into).collect(),
        }
    }

    /// Like [`TypeFilter::of`], but each name must be a published type or `<context>.*` of
    /// a context that publishes: a typo is refused rather than filtering everything out.
    /// Blank names are ignored; none at all is every type.
    pub fn of_published<'a>(
        wanted: impl IntoIterator<Item = &'a str>,
        published: &[ContractSchema],
    ) -> Result<Self, UnknownType> {
        let mut types = BTreeSet::new();
        for wanted in wanted.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
            let exists = match wanted.strip_suffix(".*") {
                Some(context) => published.iter().any(|c| c.context == context),
                None => published.iter().any(|c| c.event_type == wanted),
            };
            if !exists {
                return Err(UnknownType(wanted.chars().take(100).collect()));
            }
            types.insert(wanted.to_owned());
        }
        Ok(Self { types })
    }

    pub fn matches(&self, event_type: &str) -> bool {
        self.types.is_empty()
            || self
                .types
                .iter()
                .any(|wanted| match wanted.strip_suffix('*') {
                    Some(prefix) => event_type.starts_with(prefix),
                    None => wanted == event_type,
                })
    }
}

/// A name given as a type filter that is neither a published type nor a publishing context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a published type or context")]
pub struct UnknownType(pub String);

/// One read of the published feed.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedPage {
    /// The matching published events, in feed order.
    pub events: Vec<PublishedEvent>,
    /// Where the next read starts: after the last event *scanned*, which may be past the last
    /// one returned (internal events and other types are skipped, never re-read).
    pub next: Cursor,
}

/// Reads published events from the global feed.
#[derive(Clone)]
pub struct PublishedFeed {
    feed: Arc<dyn EventFeed>,
    contracts: Arc<dyn EventContracts>,
}

/// How many stored events one read scans at most, published or not.
const SCAN_LIMIT: usize = 1000;

impl PublishedFeed {
    pub fn new(feed: Arc<dyn EventFeed>, contracts: Arc<dyn EventContracts>) -> Self {
        Self { feed, contracts }
    }

    pub fn contracts(&self) -> &Arc<dyn EventContracts> {
        &self.contracts
    }

    /// Up to `limit` stored events strictly after `after`, published or not, for a reader
    /// that decides what it wants only after reading (see [`PublishedFeed::publish`]).
    pub async fn scan(&self, after: Cursor, limit: usize) -> Result<Vec<FeedEvent>, PublishError> {
        Ok(self.feed.read_after(after, limit.max(1)).await?)
    }

    /// The public form of `event` if it is published as a type `filter` matches. Events of
    /// other types are not decoded at all.
    pub fn publish(
        &self,
        event: &FeedEvent,
        filter: &TypeFilter,
    ) -> Result<Option<PublishedEvent>, PublishError> {
        let wanted = self
            .contracts
            .public_type(&event.aggregate_type, &event.event_type)
            .is_some_and(|public| filter.matches(public));
        if !wanted {
            return Ok(None);
        }
        self.contracts.publish(event)
    }

    /// Up to `limit` published events matching `filter`, strictly after `after`.
    ///
    /// An event that cannot be published is an error for the whole read, so a consumer never
    /// moves past it; the events before it in the same scan are not returned either (the
    /// next read returns them again and stops at the same place).
    pub async fn read_after(
        &self,
        after: Cursor,
        limit: usize,
        filter: &TypeFilter,
    ) -> Result<PublishedPage, PublishError> {
        let mut events = Vec::new();
        let mut next = after;
        let limit = limit.max(1);
        loop {
            let batch = self.scan(next, SCAN_LIMIT).await?;
            let scanned_all = batch.len() < SCAN_LIMIT;
            for event in &batch {
                if let Some(published) = self.publish(event, filter)? {
                    events.push(published);
                }
                next = event.cursor;
                if events.len() >= limit {
                    return Ok(PublishedPage { events, next });
                }
            }
            if scanned_all || !events.is_empty() {
                return Ok(PublishedPage { events, next });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_matches_exact_types_and_context_wildcards() {
        let filter = TypeFilter::of(["orders.order_placed", "inventory.*"]);
        assert!(filter.matches("orders.order_placed"));
        assert!(!filter.matches("orders.order_paid"));
        assert!(filter.matches("inventory.stock_received"));
        assert!(TypeFilter::all().matches("anything.at_all"));
    }
}
