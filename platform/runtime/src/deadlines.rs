//! Durable timers: work that must happen at or after a time even if every process restarts
//! in between (a payment authorization that never answered, a step to retry with backoff).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreError;

/// A timer identified by `key`; scheduling the same key again moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub key: String,
    pub due_at: DateTime<Utc>,
}

#[async_trait]
pub trait Deadlines: Send + Sync {
    /// Creates the timer, or moves it to `due_at` if it exists.
    async fn schedule(&self, key: &str, due_at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Timers due at or before `now`, earliest first, at most `limit`.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Deadline>, StoreError>;

    /// Removes the timer if it is still due at `due_at` (a timer moved meanwhile survives).
    async fn clear(&self, deadline: &Deadline) -> Result<(), StoreError>;

    /// Removes the timer whatever its time.
    async fn cancel(&self, key: &str) -> Result<(), StoreError>;
}
