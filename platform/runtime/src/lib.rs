//! The event-sourcing runtime: what every bounded context needs to run on an event store,
//! and nothing specific to any one context.
//!
//! It owns command execution with versions and bounded conflict retries ([`commands`]), the
//! global feed port and cursor ([`feed`]), feed-driven projections whose documents commit
//! together with their checkpoint ([`projection`]), idempotency records ([`idempotency`]) and
//! readiness ([`health`]). Storage adapters implement the ports declared here; the composition
//! root wires them. See governance/adr/0005-read-a-global-feed-ordered-by-commit.md.

pub mod append;
pub mod causation;
pub mod codec;
pub mod commands;
pub mod consistency;
pub mod deadlines;
pub mod document_cache;
pub mod error;
pub mod feed;
pub mod health;
pub mod history;
pub mod idempotency;
pub mod lease;
pub mod ledger;
pub mod personal;
pub mod projection;
pub mod published;
pub mod rebuild;
pub mod shared_feed;
pub mod telemetry;
pub mod webhooks;

pub use append::{Appender, OwnAppend};
pub use causation::{Cause, EventMetadata};
pub use codec::CodecError;
pub use commands::{
    CommandError, CommandExecutor, CommandMetadata, CommandSpan, EventSourcedExecutor, Executed,
    ExecutedEach, Loaded,
};
pub use consistency::ReadProgress;
pub use deadlines::{Deadline, Deadlines, SparseDeadlines};
pub use document_cache::DocumentCache;
pub use error::StoreError;
pub use feed::{
    event_id, AppendWatch, BadCursor, Cursor, EventFeed, FeedEvent, FeedSignal, Watching,
};
pub use health::HealthCheck;
pub use history::{Recorded, StoredStreams, StreamHistory};
pub use idempotency::{IdempotencyClaim, IdempotencyStore, StoredResponse};
pub use lease::{Lease, Leases, LocalLeases};
pub use ledger::{LedgerEntry, LedgerKey, ProviderLedger};
pub use personal::{OpeningFeed, PersonalDataKeys, PersonalEvent, Vault};
pub use projection::{
    CommitOutcome, DocumentChange, ListQuery, Projection, ProjectionStore, ProjectorRunner,
    ReadModels, TrackedCheckpoint, WorkingSet,
};
pub use published::{
    ContractSchema, EventContracts, PublishError, PublishedEvent, PublishedFeed, PublishedPage,
    StreamRef, TypeFilter, UnknownType,
};
pub use rebuild::{Rebuilds, ShadowProjection};
pub use shared_feed::SharedFeed;
pub use telemetry::{metrics, CommandOutcome, ConsumerLag, PoolState, StoreGauges};
pub use webhooks::{
    AttemptOutcome, AttemptRecorded, DeliveryAttempt, DeliveryState, EndpointPatch, EndpointStatus,
    NewDelivery, QueuedDelivery, WebhookDelivery, WebhookEndpoint, WebhookPage, WebhookStore,
};
