//! The dispatcher: reads the published feed from its own checkpoint and queues one delivery
//! per event and enabled endpoint that asked for its type.
//!
//! A batch of deliveries commits together with the checkpoint that moved past its events
//! ([`WebhookStore::enqueue`]), so a crash loses the whole batch (it is read again) or keeps
//! all of it, and a second dispatcher that read the same batch writes nothing. Batches that
//! queue nothing move the checkpoint at most once a second: scanning them again after a crash
//! queues nothing either. Only the events some endpoint asked for are decoded. The dispatcher
//! is a feed consumer like any projector: command handling never waits for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use runtime::{
    CommitOutcome, Cursor, NewDelivery, PublishError, PublishedEvent, PublishedFeed, StoreError,
    TypeFilter, WebhookEndpoint, WebhookStore,
};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("published event {event_id} could not be written as JSON")]
    Encode {
        event_id: Uuid,
        #[source]
        source: serde_json::Error,
    },
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    /// Whether the dispatcher moved past any event (false: caught up, or another dispatcher
    /// moved the checkpoint first).
    pub moved: bool,
    pub queued: usize,
    /// Whether the batch was full, so that more is probably waiting.
    pub full: bool,
}

/// How far the dispatcher has looked, and how far its checkpoint says.
#[derive(Debug, Clone, Copy)]
struct Position {
    stored: Cursor,
    scanned: Cursor,
    stored_at: Instant,
}

/// A batch that queues nothing moves the checkpoint at most this often: a crash then scans
/// those events again, which queues nothing again, so writing per batch would only load the
/// database. A batch that queues deliveries always commits with its checkpoint.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How long a dispatcher that just handled a partial batch lets appends accumulate, so that
/// under load one round (a feed read, the endpoints, a commit) serves many events.
const COALESCE: Duration = Duration::from_millis(50);

pub struct Dispatcher {
    feed: PublishedFeed,
    store: Arc<dyn WebhookStore>,
    batch_size: usize,
    idle_poll: Duration,
    position: tokio::sync::Mutex<Option<Position>>,
}

impl Dispatcher {
    pub fn new(
        feed: PublishedFeed,
        store: Arc<dyn WebhookStore>,
        batch_size: usize,
        idle_poll: Duration,
    ) -> Self {
        Self {
            feed,
            store,
            batch_size: batch_size.max(1),
            idle_poll,
            position: tokio::sync::Mutex::new(None),
        }
    }

    /// Queues the deliveries for the next batch of published events.
    pub async fn dispatch_once(&self) -> Result<Dispatched, DispatchError> {
        let mut guard = self.position.lock().await;
        let mut position = match *guard {
            Some(position) => position,
            None => {
                let stored = self.store.dispatcher_checkpoint().await?;
                Position {
                    stored,
                    scanned: stored,
                    stored_at: Instant::now(),
                }
            }
        };
        let batch = self.feed.scan(position.scanned, self.batch_size).await?;
        let Some(last) = batch.last() else {
            if position.scanned != position.stored
                && position.stored_at.elapsed() >= CHECKPOINT_EVERY
            {
                return self
                    .commit(&mut guard, position, position.scanned, &[])
                    .await;
            }
            *guard = Some(position);
            return Ok(Dispatched {
                moved: false,
                queued: 0,
                full: false,
            });
        };
        let next = last.cursor;
        let full = batch.len() >= self.batch_size;
        // Read after the feed, so that an endpoint registered before an event happened is
        // known here; a new, changed or disabled endpoint counts from the next batch on.
        let endpoints: Vec<(WebhookEndpoint, TypeFilter)> = self
            .store
            .enabled_endpoints()
            .await?
            .into_iter()
            .map(|endpoint| {
                let filter = endpoint.filter();
                (endpoint, filter)
            })
            .collect();
        let wanted = TypeFilter::of(
            endpoints
                .iter()
                .flat_map(|(endpoint, _)| endpoint.event_types.iter().cloned()),
        );
        let now = Utc::now();
        let mut deliveries = Vec::new();
        for stored in &batch {
            if endpoints.is_empty() {
                break;
            }
            let Some(event) = self.feed.publish(stored, &wanted)? else {
                continue;
            };
            let mut payload = None;
            for (endpoint, filter) in &endpoints {
                if !filter.matches(&event.event_type) || !existed_at(endpoint, &event) {
                    continue;
                }
                let payload = match &payload {
                    Some(payload) => payload,
                    None => payload.insert(encode(&event)?),
                };
                deliveries.push(NewDelivery {
                    id: Uuid::now_v7(),
                    endpoint_id: endpoint.id,
                    message_id: event.id.to_string(),
                    event_id: event.id,
                    event_type: event.event_type.clone(),
                    payload: payload.clone(),
                    created_at: now,
                });
            }
        }
        if deliveries.is_empty() && position.stored_at.elapsed() < CHECKPOINT_EVERY {
            position.scanned = next;
            *guard = Some(position);
            return Ok(Dispatched {
                moved: true,
                queued: 0,
                full,
            });
        }
        let mut dispatched = self.commit(&mut guard, position, next, &deliveries).await?;
        dispatched.full = full;
        Ok(dispatched)
    }

    /// Queues `deliveries` and moves the checkpoint to `to` in one transaction.
    async fn commit(
        &self,
        guard: &mut Option<Position>,
        position: Position,
        to: Cursor,
        deliveries: &[NewDelivery],
    ) -> Result<Dispatched, DispatchError> {
        match self.store.enqueue(position.stored, to, deliveries).await? {
            CommitOutcome::Committed => {
                *guard = Some(Position {
                    stored: to,
                    scanned: to,
                    stored_at: Instant::now(),
                });
                Ok(Dispatched {
                    moved: true,
                    queued: deliveries.len(),
                    full: false,
                })
            }
            // Another dispatcher moved it (a lease changing hands): read it again.
            CommitOutcome::CheckpointMoved => {
                *guard = None;
                Ok(Dispatched {
                    moved: false,
                    queued: 0,
                    full: false,
                })
            }
        }
    }

    /// Dispatches until `stop` turns true, waking on `feed_signal` (an append in this process)
    /// or every idle poll; tells `queued` whenever it queued something.
    pub async fn run(
        self,
        mut feed_signal: watch::Receiver<u64>,
        queued: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut failures: u32 = 0;
        loop {
            if *stop.borrow() {
                break;
            }
            feed_signal.borrow_and_update();
            let pause = match self.dispatch_once().await {
                Ok(dispatched) if dispatched.moved => {
                    failures = 0;
                    if dispatched.queued > 0 {
                        queued.notify_one();
                    }
                    if dispatched.full {
                        continue;
                    }
                    COALESCE
                }
                Ok(_) => {
                    failures = 0;
                    self.idle_poll
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, failures, "webhook dispatch failed");
                    Duration::from_millis(100 * u64::from(failures.min(50)))
                }
            };
            if pause == COALESCE {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => continue,
                    stopped = stop.changed() => {
                        if stopped.is_err() {
                            break;
                        }
                        continue;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                woken = feed_signal.changed() => {
                    // With no one left to wake it, fall back to polling alone.
                    if woken.is_err() {
                        tokio::time::sleep(pause).await;
                    }
                }
                stopped = stop.changed() => {
                    if stopped.is_err() {
                        break;
                    }
                }
            }
        }
        // What was scanned but not recorded is scanned again by the next dispatcher; it
        // queued nothing, so nothing is lost.
        tracing::info!("webhook dispatcher stopped");
    }
}

/// An endpoint is sent what happens after it was registered, not the history before it,
/// however far behind the dispatcher runs.
fn existed_at(endpoint: &WebhookEndpoint, event: &PublishedEvent) -> bool {
    event
        .occurred_at
        .is_none_or(|occurred| occurred >= endpoint.created_at)
}

fn encode(event: &PublishedEvent) -> Result<String, DispatchError> {
    serde_json::to_string(event).map_err(|source| DispatchError::Encode {
        event_id: event.id,
        source,
    })
}
