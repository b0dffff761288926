//! Webhooks: the storage port behind delivering published events to external HTTP
//! subscribers, and the plain types it speaks.
//!
//! An administrator registers an *endpoint*: a URL, the published types it wants (exact
//! names or `context.*`) and a signing secret. A leased dispatcher reads the published feed
//! from its own checkpoint and turns each matching event into one *delivery* per enabled
//! endpoint; a sender works through each endpoint's queue of deliveries, recording every
//! *attempt*. The `webhooks` adapter holds that logic; this module only says what the store
//! must keep and promise, so both storage adapters can implement it.
//!
//! Promises every implementation keeps:
//!
//! - **Exactly once into the queue.** [`WebhookStore::enqueue`] writes a batch of deliveries
//!   and moves the dispatcher's checkpoint in one transaction, guarded by the checkpoint the
//!   batch was read from, so a crash or a second dispatcher never queues an event twice or
//!   skips one.
//! - **A queue per endpoint, in feed order.** Deliveries of one endpoint are ordered by when
//!   they were queued; [`WebhookStore::next_deliveries`] offers only the oldest pending
//!   delivery of each enabled endpoint, so the next one waits until the one before it
//!   succeeded or was given up.
//! - **Every attempt is kept** with its delivery, and recording one is conditional on the
//!   attempt number the sender started from, so two senders racing through a lease handover
//!   never record the same attempt twice.
//! - **Giving up disables.** A delivery given up marks its endpoint disabled, with the reason,
//!   in the same transaction.
//!
//! Every method fails only with [`StoreError`] on infrastructure trouble; "not found" is an
//! `Option` or a `bool`, never an error.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::feed::Cursor;
use crate::projection::CommitOutcome;
use crate::published::TypeFilter;
use crate::StoreError;

/// Whether an endpoint is sent anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointStatus {
    Enabled,
    /// Nothing is queued for it and nothing is sent to it until it is enabled again; what was
    /// already queued waits.
    Disabled {
        reason: String,
        since: DateTime<Utc>,
    },
}

/// An external HTTP subscriber.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: Uuid,
    /// An absolute `http` or `https` URL.
    pub url: String,
    pub description: String,
    /// Exact published types (`orders.order_placed`) or contexts (`orders.*`); never empty.
    pub event_types: Vec<String>,
    /// The signing secret as shown to the subscriber once: `whsec_<base64 of the key bytes>`.
    pub secret: String,
    pub status: EndpointStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    pub fn is_enabled(&self) -> bool {
        self.status == EndpointStatus::Enabled
    }

    /// The published types this endpoint asked for.
    pub fn filter(&self) -> TypeFilter {
        TypeFilter::of(self.event_types.iter().cloned())
    }
}

// The secret stays out of logs and panic messages.
impl fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("description", &self.description)
            .field("event_types", &self.event_types)
            .field("secret", &"<redacted>")
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A partial change of an endpoint; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub status: Option<EndpointStatus>,
}

/// One page of a newest-first listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookPage {
    /// 1 to 100; the REST adapter validates it.
    pub limit: usize,
    /// The id of the last item of the previous page; an unknown id gives an empty page.
    pub starting_after: Option<Uuid>,
}

/// A delivery to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    /// The `webhook-id` header: the same for every attempt and every redelivery of this event
    /// to this endpoint, so receivers deduplicate by it.
    pub message_id: String,
    pub event_id: Uuid,
    pub event_type: String,
    /// The exact body to send (and sign): the published envelope as JSON text.
    pub payload: String,
    /// Queued at, and due at: the first attempt is immediate.
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its turn or for its next attempt.
    Pending,
    Succeeded,
    /// Given up after its schedule ran out.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// From 1.
    pub number: u32,
    pub attempted_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The HTTP status, when the endpoint answered at all.
    pub response_status: Option<u16>,
    /// Why the attempt failed without an answer (timeout, refused connection), or what was
    /// wrong with the answer.
    pub error: Option<String>,
}

/// A delivery with its attempts, for the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub message_id: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: String,
    pub state: DeliveryState,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The delivery this one copies, for a manual redelivery.
    pub redelivery_of: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Oldest first.
    pub attempts: Vec<DeliveryAttempt>,
}

/// The head of one enabled endpoint's queue, with what the sender needs to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct QueuedDelivery {
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    pub url: String,
    pub secret: String,
    pub message_id: String,
    pub payload: String,
    /// How many attempts were recorded so far.
    pub attempts_made: u32,
    pub due_at: DateTime<Utc>,
}

/// What recording an attempt did.
#[derive(Debug, Clone)]
pub enum AttemptRecorded {
    /// Written. After a success, `next` is the endpoint's oldest pending delivery now (due or
    /// not), unless the endpoint is disabled or has none. After a retry or giving up it is
    /// `None`: the delivery just recorded stays the head until it is due again, or the
    /// endpoint is disabled.
    Recorded { next: Option<QueuedDelivery> },
    /// Not the current attempt of a pending delivery: nothing was written.
    NotCurrent,
}

impl AttemptRecorded {
    pub fn was_recorded(&self) -> bool {
        matches!(self, AttemptRecorded::Recorded { .. })
    }
}

impl fmt::Debug for QueuedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedDelivery")
            .field("delivery_id", &self.delivery_id)
            .field("endpoint_id", &self.endpoint_id)
            .field("url", &self.url)
            .field("message_id", &self.message_id)
            .field("attempts_made", &self.attempts_made)
            .field("due_at", &self.due_at)
            .finish_non_exhaustive()
    }
}

/// What an attempt leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Succeeded,
    /// Failed; try again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed and the schedule ran out: the delivery fails and its endpoint is disabled with
    /// this reason.
    GaveUp {
        reason: String,
    },
}

/// Where endpoints, their delivery queues and the delivery log are kept: the same database
/// as the events, so the dispatcher's checkpoint commits with the deliveries it queued.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new endpoint; false (changing nothing) when one with its id exists, which is
    /// how a retried creation with a deterministic id finds the first one.
    async fn create_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<bool, StoreError>;

    async fn endpoint(&self, id: Uuid) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Endpoints, newest first.
    async fn list_endpoints(&self, page: WebhookPage) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Applies `patch` and returns the endpoint as it now is; `None` when there is no such
    /// endpoint.
    async fn update_endpoint(
        &self,
        id: Uuid,
        patch: &EndpointPatch,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Deletes the endpoint with its queue and log; false when there was none.
    async fn delete_endpoint(&self, id: Uuid) -> Result<bool, StoreError>;

    /// Every enabled endpoint, for the dispatcher.
    async fn enabled_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// The cursor after the last feed batch the dispatcher queued ([`Cursor::START`] at
    /// first).
    async fn dispatcher_checkpoint(&self) -> Result<Cursor, StoreError>;

    /// Queues `deliveries` and moves the dispatcher's checkpoint from `from` to `to` in one
    /// transaction. If the checkpoint is no longer at `from`, writes nothing and says so. A
    /// delivery for an endpoint deleted meanwhile is dropped.
    async fn enqueue(
        &self,
        from: Cursor,
        to: Cursor,
        deliveries: &[NewDelivery],
    ) -> Result<CommitOutcome, StoreError>;

    /// The oldest pending delivery of each enabled endpoint that has one, due or not: at most
    /// one per endpoint, which is what keeps each endpoint's deliveries in order.
    async fn next_deliveries(&self) -> Result<Vec<QueuedDelivery>, StoreError>;

    /// Records `attempt` of a pending delivery and applies its outcome; on
    /// [`AttemptOutcome::GaveUp`] the endpoint is disabled with the reason in the same
    /// transaction (if it still is enabled). Writes nothing and answers
    /// [`AttemptRecorded::NotCurrent`] unless the delivery is pending with exactly
    /// `attempt.number - 1` attempts recorded (another sender recorded it, or the endpoint was
    /// deleted). Once recorded, reads in the same transaction the endpoint's next pending
    /// delivery (what [`WebhookStore::next_deliveries`] would say for it), so that a sender
    /// can go on without asking again.
    async fn record_attempt(
        &self,
        delivery_id: Uuid,
        attempt: &DeliveryAttempt,
        outcome: &AttemptOutcome,
    ) -> Result<AttemptRecorded, StoreError>;

    /// An endpoint's deliveries with their attempts, newest first.
    async fn deliveries(
        &self,
        endpoint_id: Uuid,
        page: WebhookPage,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;

    /// Queues a copy of the endpoint's delivery `delivery_id` under the id `new_id`, due at
    /// `now`, behind everything already queued for the endpoint; it keeps the message id, so
    /// receivers see the same `webhook-id`. `None` when the endpoint has no such delivery.
    async fn redeliver(
        &self,
        endpoint_id: Uuid,
        delivery_id: Uuid,
        new_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookDelivery>, StoreError>;

    /// Stops queueing and sending to the endpoint, recording why.
    async fn disable_endpoint(
        &self,
        id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let patch = EndpointPatch {
            status: Some(EndpointStatus::Disabled {
                reason: reason.to_owned(),
                since: now,
            }),
            ..EndpointPatch::default()
        };
        self.update_endpoint(id, &patch, now).await
    }

    /// Resumes the endpoint: what waited in its queue is sent, in order.
    async fn enable_endpoint(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let patch = EndpointPatch {
            status: Some(EndpointStatus::Enabled),
            ..EndpointPatch::default()
        };
        self.update_endpoint(id, &patch, now).await
    }
}

/// The feed checkpoint the webhook dispatcher keeps.
pub const DISPATCHER_CHECKPOINT: &str = "webhooks.dispatcher";
