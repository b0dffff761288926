//! Idempotency records for mutating requests, with Stripe's semantics (ADR 0008).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A response as it was first sent, kept to be replayed for a repeated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// What a store says when a request with an idempotency key arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its earlier holder died): the caller runs the request and then
    /// calls [`IdempotencyStore::complete`] or [`IdempotencyStore::release`].
    Acquired,
    /// The same request already completed: send this response again.
    Replay(StoredResponse),
    /// The same key is held by a request that is still running.
    InFlight,
    /// The key was used for a different request (method, path or body differ).
    Mismatch,
}

/// Durable idempotency keys, in the same database as the events.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Atomically claims `key` for a request whose canonical form hashes to `fingerprint`.
    /// An in-flight claim is taken over at once when the store knows its holder is gone (a
    /// process that died: ADR 0021), and otherwise once it is older than `stale_after` (its
    /// holder is presumed stuck).
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<IdempotencyClaim, StoreError>;

    /// Records the response of a claimed key, making later repeats replay it.
    async fn complete(
        &self,
        key: &str,
        response: &StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Forgets a claimed key whose request failed for reasons worth retrying (a 5xx).
    async fn release(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes completed records older than `before`; returns how many went.
    async fn purge_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
