//! The dispatcher: reads the published feed from its own checkpoint and queues one delivery
//! per event and enabled endpoint that asked for its type.
//!
//! A batch of deliveries commits together with the checkpoint that moved past its events
//! ([`WebhookStore::enqueue`]), so a crash loses the whole batch (it is read again) or keeps
//! all of it, and a second dispatcher that read the same batch writes nothing. The dispatcher
//! is a feed consumer like any projector: command handling never waits for it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use runtime::{
    CommitOutcome, NewDelivery, PublishError, PublishedEvent, PublishedFeed, StoreError,
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
    /// Whether the checkpoint moved (false: caught up, or another dispatcher moved it first).
    pub moved: bool,
    pub queued: usize,
}

pub struct Dispatcher {
    feed: PublishedFeed,
    store: Arc<dyn WebhookStore>,
    batch_size: usize,
    idle_poll: Duration,
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
        }
    }

    /// Queues the deliveries for the next batch of published events.
    pub async fn dispatch_once(&self) -> Result<Dispatched, DispatchError> {
        let from = self.store.dispatcher_checkpoint().await?;
        let page = self
            .feed
            .read_after(from, self.batch_size, &TypeFilter::all())
            .await?;
        if page.next == from {
            return Ok(Dispatched {
                moved: false,
                queued: 0,
            });
        }
        // Read per batch, so a new, changed or disabled endpoint counts from the next batch on.
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
        let now = Utc::now();
        let mut deliveries = Vec::new();
        for event in &page.events {
            let mut payload = None;
            for (endpoint, filter) in &endpoints {
                if !filter.matches(&event.event_type) || !existed_at(endpoint, event) {
                    continue;
                }
                let payload = match &payload {
                    Some(payload) => payload,
                    None => payload.insert(encode(event)?),
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
        match self.store.enqueue(from, page.next, &deliveries).await? {
            CommitOutcome::Committed => Ok(Dispatched {
                moved: true,
                queued: deliveries.len(),
            }),
            CommitOutcome::CheckpointMoved => Ok(Dispatched {
                moved: false,
                queued: 0,
            }),
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
            let pause = match self.dispatch_once().await {
                Ok(Dispatched {
                    moved: true,
                    queued: n,
                }) => {
                    failures = 0;
                    if n > 0 {
                        queued.notify_one();
                    }
                    continue;
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
