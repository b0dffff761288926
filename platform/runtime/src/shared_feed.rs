//! One read of the feed for every reader in the process.
//!
//! Projectors, the saga runner, the published feed behind the HTTP feed and SSE, the NATS
//! relay and the webhook dispatcher all follow the same feed, mostly at its head. Read
//! directly, every append made each of them query the database for the same few events.
//! [`SharedFeed`] keeps the latest events in memory and serves every reader positioned within
//! them, going to the database at most every [`MIN_REFRESH`] while appends are being signalled,
//! and at least every [`MAX_STALE`] otherwise, so that polling stays the authority.
//!
//! It can serve nothing the inner feed would not: its tail only ever grows by what the inner
//! feed returned after the tail's last cursor, which the inner feed promises is gap-free
//! (ADR 0005), so the events after any cursor within the tail are exactly the inner feed's. A
//! reader behind the tail reads the inner feed directly; a reader ahead of it (a cursor from
//! an event this process has not read yet) starts the tail again at its cursor.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::feed::{Cursor, EventFeed, FeedEvent};
use crate::StoreError;

/// While appends are signalled, the tail is refreshed at most this often: every reader woken
/// within it shares one database read.
pub const MIN_REFRESH: Duration = Duration::from_millis(5);
/// Without a signal (another instance appended and no notification came), the tail is
/// refreshed when it is this old.
pub const MAX_STALE: Duration = Duration::from_millis(100);
/// How many events the tail keeps; readers further behind read the database.
const CAPACITY: usize = 4096;
/// How many events one refresh reads at most.
const REFRESH_BATCH: usize = 1000;

struct Tail {
    /// The tail holds every event after `base`, up to `head`.
    base: Option<Cursor>,
    head: Cursor,
    events: VecDeque<FeedEvent>,
    refreshed_at: Option<Instant>,
    /// The signal's value at the last refresh.
    seen: u64,
}

/// An [`EventFeed`] that shares reads of the feed's head between readers (see the module).
pub struct SharedFeed {
    inner: Arc<dyn EventFeed>,
    signal: watch::Receiver<u64>,
    tail: tokio::sync::Mutex<Tail>,
    capacity: usize,
}

impl SharedFeed {
    /// Shares `inner`, refreshing early when `signal` (from [`FeedSignal`]) says something was
    /// appended.
    ///
    /// [`FeedSignal`]: crate::FeedSignal
    pub fn new(inner: Arc<dyn EventFeed>, signal: watch::Receiver<u64>) -> Self {
        Self::with_capacity(inner, signal, CAPACITY)
    }

    fn with_capacity(
        inner: Arc<dyn EventFeed>,
        signal: watch::Receiver<u64>,
        capacity: usize,
    ) -> Self {
        Self {
            inner,
            signal,
            tail: tokio::sync::Mutex::new(Tail {
                base: None,
                head: Cursor::START,
                events: VecDeque::new(),
                refreshed_at: None,
                seen: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    async fn refresh(&self, tail: &mut Tail, seen: u64) -> Result<(), StoreError> {
        let batch = self.inner.read_after(tail.head, REFRESH_BATCH).await?;
        for event in batch {
            tail.head = event.cursor;
            tail.events.push_back(event);
        }
        while tail.events.len() > self.capacity {
            if let Some(dropped) = tail.events.pop_front() {
                tail.base = Some(dropped.cursor);
            }
        }
        tail.refreshed_at = Some(Instant::now());
        tail.seen = seen;
        Ok(())
    }
}

#[async_trait]
impl EventFeed for SharedFeed {
    async fn read_after(&self, after: Cursor, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut tail = self.tail.lock().await;
        if tail.base.is_some_and(|base| after < base) {
            // Behind the tail: this reader is catching up; the database serves it.
            drop(tail);
            return self.inner.read_after(after, limit).await;
        }
        if tail.base.is_none() || after > tail.head {
            // Nothing read yet, or a reader ahead of the tail: start the tail at its cursor.
            tail.base = Some(after);
            tail.head = after;
            tail.events.clear();
            tail.refreshed_at = None;
        }
        let seen = *self.signal.borrow();
        let due = match tail.refreshed_at {
            None => true,
            Some(at) => {
                let age = at.elapsed();
                age >= MAX_STALE || (seen != tail.seen && age >= MIN_REFRESH)
            }
        };
        if due {
            self.refresh(&mut tail, seen).await?;
            if tail.base.is_some_and(|base| after < base) {
                // The refresh dropped the events just after this reader to stay in bounds.
                drop(tail);
                return self.inner.read_after(after, limit).await;
            }
        }
        let start = tail.events.partition_point(|event| event.cursor <= after);
        Ok(tail
            .events
            .iter()
            .skip(start)
            .take(limit)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    /// A feed in memory whose appends a test controls.
    #[derive(Default)]
    struct MemoryFeed {
        events: std::sync::Mutex<Vec<FeedEvent>>,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl MemoryFeed {
        fn append(&self, n: usize) {
            let mut events = self.events.lock().unwrap();
            for _ in 0..n {
                let position = events.len() as i64 + 1;
                events.push(FeedEvent {
                    cursor: Cursor { tx: 0, position },
                    event_id: Uuid::new_v4(),
                    aggregate_type: "t".into(),
                    aggregate_id: "a".into(),
                    sequence: position as u64,
                    event_type: "E".into(),
                    event_version: "2".into(),
                    payload: json!({}).into(),
                    metadata: json!({}).into(),
                });
            }
        }
    }

    #[async_trait]
    impl EventFeed for MemoryFeed {
        async fn read_after(
            &self,
            after: Cursor,
            limit: usize,
        ) -> Result<Vec<FeedEvent>, StoreError> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let events = self.events.lock().unwrap();
            Ok(events
                .iter()
                .filter(|e| e.cursor > after)
                .take(limit)
                .cloned()
                .collect())
        }
    }

    fn cursors(events: &[FeedEvent]) -> Vec<i64> {
        events.iter().map(|e| e.cursor.position).collect()
    }

    fn at(position: i64) -> Cursor {
        Cursor { tx: 0, position }
    }

    #[tokio::test(start_paused = true)]
    async fn readers_anywhere_get_exactly_what_the_inner_feed_returns() {
        let inner = Arc::new(MemoryFeed::default());
        let signal = crate::FeedSignal::new();
        let shared = SharedFeed::with_capacity(inner.clone(), signal.subscribe(), 50);
        // A deterministic walk: appends, signals, time passing and readers at many cursors
        // (behind the tail, within it, at and ahead of its head) with many limits.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            match next() % 5 {
                0 => {
                    inner.append((next() % 7) as usize);
                    signal.notify();
                }
                1 => tokio::time::advance(Duration::from_millis(next() % 120)).await,
                _ => {
                    let total = inner.events.lock().unwrap().len() as i64;
                    let after = at((next() as i64).rem_euclid(total + 3));
                    let limit = 1 + (next() % 30) as usize;
                    let shared_read = shared.read_after(after, limit).await.unwrap();
                    let direct = inner.read_after(after, limit).await.unwrap();
                    // The shared read may lag by what arrived since its last refresh, never
                    // skip or reorder: it is a prefix of the direct read.
                    let (s, d) = (cursors(&shared_read), cursors(&direct));
                    assert!(
                        d.starts_with(&s),
                        "after {after:?}: {s:?} is not a prefix of {d:?}"
                    );
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn readers_woken_together_share_one_database_read() {
        let inner = Arc::new(MemoryFeed::default());
        let signal = crate::FeedSignal::new();
        let shared = SharedFeed::new(inner.clone(), signal.subscribe());
        inner.append(3);
        assert_eq!(
            cursors(&shared.read_after(at(0), 10).await.unwrap()),
            [1, 2, 3]
        );
        tokio::time::advance(MIN_REFRESH).await;
        inner.append(2);
        signal.notify();
        let before = inner.reads.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..5 {
            assert_eq!(
                cursors(&shared.read_after(at(3), 10).await.unwrap()),
                [4, 5]
            );
        }
        let reads = inner.reads.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(reads, 1, "five readers, one read of the inner feed");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_signal_an_append_is_seen_once_the_tail_is_stale() {
        let inner = Arc::new(MemoryFeed::default());
        let signal = crate::FeedSignal::new();
        let shared = SharedFeed::new(inner.clone(), signal.subscribe());
        assert!(shared.read_after(at(0), 10).await.unwrap().is_empty());
        // Appended by another instance: no signal here.
        inner.append(1);
        assert!(shared.read_after(at(0), 10).await.unwrap().is_empty());
        tokio::time::advance(MAX_STALE).await;
        assert_eq!(cursors(&shared.read_after(at(0), 10).await.unwrap()), [1]);
    }
}
