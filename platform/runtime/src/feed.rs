//! The global feed: every event of every aggregate, in commit order, readable from a cursor.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, Weak};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::causation::EventMetadata;
use crate::codec::{self, CodecError};
use crate::StoreError;

/// A position in the global feed.
///
/// On PostgreSQL it is the pair (transaction id, global position): ordering by the pair, and
/// never passing a transaction that is still in flight, is what makes the feed gap-free (see
/// ADR 0005). On SQLite, whose single writer makes row order commit order, `tx` is always 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub tx: u64,
    pub position: i64,
}

impl Cursor {
    /// The cursor before the first event.
    pub const START: Cursor = Cursor { tx: 0, position: 0 };

    /// The cursor as an opaque token for consumers outside the process: 32 hex digits that
    /// sort, as text, in feed order.
    pub fn to_token(&self) -> String {
        format!("{:016x}{:016x}", self.tx, self.position.max(0))
    }

    /// Reads a token made by [`Cursor::to_token`].
    pub fn from_token(token: &str) -> Result<Cursor, BadCursor> {
        let bad = || BadCursor(token.chars().take(64).collect());
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let tx = u64::from_str_radix(&token[..16], 16).map_err(|_| bad())?;
        let position = i64::from_str_radix(&token[16..], 16).map_err(|_| bad())?;
        Ok(Cursor { tx, position })
    }
}

/// A cursor token that [`Cursor::to_token`] did not make.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a feed cursor")]
pub struct BadCursor(pub String);

/// One event as the feed delivers it, with its store-independent identity.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    pub cursor: Cursor,
    /// Stable across deliveries and stores: derived from (aggregate type, id, sequence).
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: u64,
    pub event_type: String,
    pub event_version: String,
    /// Shared, not copied, between the readers a [`SharedFeed`](crate::SharedFeed) serves.
    pub payload: Arc<Value>,
    pub metadata: Arc<Value>,
}

impl FeedEvent {
    /// Decodes the payload as an event of aggregate `A`, upcasting older versions exactly as
    /// the executor does, or `None` when the event belongs to another aggregate type.
    pub fn decode<A: cqrs_es::Aggregate>(&self) -> Option<Result<A::Event, CodecError>> {
        (self.aggregate_type == A::TYPE)
            .then(|| codec::decode::<A>(&self.event_type, &self.event_version, &self.payload))
    }

    /// What the event's metadata says about its flow, cause and time.
    pub fn metadata(&self) -> EventMetadata {
        EventMetadata::from_json(&self.metadata)
    }
}

const EVENT_NAMESPACE: Uuid = Uuid::from_u128(0x6d1f_3c1e_8a55_4b1c_9f3e_2c0d_4e7a_9b21);

/// The stable id of an event: a UUID v5 over (aggregate type, aggregate id, sequence), so
/// consumers deduplicate redeliveries without the store having to remember anything.
pub fn event_id(aggregate_type: &str, aggregate_id: &str, sequence: u64) -> Uuid {
    let name = format!("{aggregate_type}\u{1f}{aggregate_id}\u{1f}{sequence}");
    Uuid::new_v5(&EVENT_NAMESPACE, name.as_bytes())
}

/// Reads the global feed. Implemented by each storage adapter.
#[async_trait]
pub trait EventFeed: Send + Sync {
    /// Returns up to `limit` events strictly after `after`, in feed order.
    ///
    /// Promise: an event is returned only once every event that will ever sort before it is
    /// visible, so a reader that advances its cursor to the last event returned never skips
    /// one. Fails with [`StoreError`] on infrastructure trouble; a short or empty answer always
    /// means "nothing more yet", never "an error happened".
    async fn read_after(&self, after: Cursor, limit: usize) -> Result<Vec<FeedEvent>, StoreError>;
}

/// Wakes feed readers in this process as soon as something was appended; polling stays the
/// authority, this only cuts latency.
#[derive(Debug, Clone)]
pub struct FeedSignal {
    sender: watch::Sender<u64>,
}

impl Default for FeedSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl FeedSignal {
    pub fn new() -> Self {
        let (sender, _) = watch::channel(0);
        Self { sender }
    }

    pub fn notify(&self) {
        self.sender.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }
}

/// Wakes whoever in this process waits for one stream to change (a shopper long-polling its
/// checkout) when the executor appends to that stream. Like [`FeedSignal`] it only cuts
/// latency: a waiter still looks again on a timer, for appends made by another instance.
#[derive(Debug, Default)]
pub struct AppendWatch {
    waiters: std::sync::Mutex<HashMap<String, Weak<Notify>>>,
    /// Watched streams another instance appended to since their waiters last looked: what
    /// that instance wrote is not in this process's memory.
    elsewhere: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl AppendWatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts watching `aggregate_id`; the watch ends when the returned guard is dropped.
    pub fn watch(self: &Arc<Self>, aggregate_id: &str) -> Watching {
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        let notify = match waiters.get(aggregate_id).and_then(Weak::upgrade) {
            Some(notify) => notify,
            None => {
                let notify = Arc::new(Notify::new());
                waiters.insert(aggregate_id.to_owned(), Arc::downgrade(&notify));
                notify
            }
        };
        Watching {
            watch: self.clone(),
            aggregate_id: aggregate_id.to_owned(),
            notify: Some(notify),
        }
    }

    /// Something was appended to `aggregate_id`: wake its waiters.
    pub fn appended(&self, aggregate_id: &str) {
        let waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = waiters.get(aggregate_id).and_then(Weak::upgrade) {
            notify.notify_waiters();
        }
    }

    /// Another instance appended to `aggregate_id`: wake its waiters, and tell them that
    /// what was appended is only in the store ([`Watching::appended_elsewhere`]).
    pub fn appended_elsewhere(&self, aggregate_id: &str) {
        let waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = waiters.get(aggregate_id).and_then(Weak::upgrade) {
            self.elsewhere
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(aggregate_id.to_owned());
            notify.notify_waiters();
        }
    }

    /// How many streams are watched now.
    #[cfg(test)]
    fn watched(&self) -> usize {
        self.waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One waiter's watch on a stream (see [`AppendWatch::watch`]).
#[derive(Debug)]
pub struct Watching {
    watch: Arc<AppendWatch>,
    aggregate_id: String,
    notify: Option<Arc<Notify>>,
}

impl Watching {
    /// Resolves at the next append after it was enabled: create and `enable` it before
    /// reading the stream, so that an append during the read is not missed.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify
            .as_ref()
            .expect("present until dropped")
            .notified()
    }

    /// Whether another instance appended to the stream since this was last asked (the store
    /// must be read to see it); asking clears it for every waiter on the stream.
    pub fn appended_elsewhere(&self) -> bool {
        self.watch
            .elsewhere
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.aggregate_id)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        drop(self.notify.take());
        let mut waiters = self
            .watch
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let unused = waiters
            .get(&self.aggregate_id)
            .is_some_and(|notify| notify.strong_count() == 0);
        if unused {
            waiters.remove(&self.aggregate_id);
            self.watch
                .elsewhere
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.aggregate_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stable_and_distinct() {
        assert_eq!(event_id("cart", "a", 1), event_id("cart", "a", 1));
        assert_ne!(event_id("cart", "a", 1), event_id("cart", "a", 2));
        assert_ne!(event_id("cart", "a1", 1), event_id("cart", "a", 11));
    }

    #[test]
    fn cursor_tokens_round_trip_and_sort_like_cursors() {
        let a = Cursor {
            tx: 9,
            position: 700,
        };
        let b = Cursor {
            tx: 10,
            position: 3,
        };
        assert_eq!(Cursor::from_token(&a.to_token()), Ok(a));
        assert!(a.to_token() < b.to_token());
        assert_eq!(
            Cursor::from_token(&Cursor::START.to_token()),
            Ok(Cursor::START)
        );
        assert!(Cursor::from_token("12").is_err());
        assert!(Cursor::from_token(&"g".repeat(32)).is_err());
        assert!(Cursor::from_token(&"f".repeat(32)).is_err());
    }

    #[test]
    fn cursors_order_by_transaction_then_position() {
        let earlier_tx = Cursor {
            tx: 5,
            position: 90,
        };
        let later_tx = Cursor {
            tx: 6,
            position: 10,
        };
        assert!(earlier_tx < later_tx);
        assert!(Cursor::START < earlier_tx);
    }

    #[tokio::test]
    async fn an_append_wakes_the_waiters_of_its_stream_only() {
        use std::time::Duration;
        let watch = Arc::new(AppendWatch::new());
        let a = watch.watch("a");
        let b = watch.watch("b");
        {
            let mut woken_a = std::pin::pin!(a.changed());
            woken_a.as_mut().enable();
            let mut woken_b = std::pin::pin!(b.changed());
            woken_b.as_mut().enable();
            // Appended after `enable` but before anyone polls: still seen.
            watch.appended("a");
            tokio::time::timeout(Duration::from_secs(1), woken_a)
                .await
                .expect("the waiter of a is woken");
            assert!(
                tokio::time::timeout(Duration::from_millis(50), woken_b)
                    .await
                    .is_err(),
                "an append to a must not wake the waiter of b"
            );
        }
        assert_eq!(watch.watched(), 2);
        let second_a = watch.watch("a");
        drop(a);
        assert_eq!(
            watch.watched(),
            2,
            "a is still watched by its second waiter"
        );
        drop(second_a);
        drop(b);
        assert_eq!(watch.watched(), 0, "a finished watch leaves nothing behind");
    }
}
