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

/// How long a store found with nothing due soon is left unasked, unless this process schedules
/// something sooner: the longest a deadline another instance schedules may wait past its time.
pub const QUIET_FOR: chrono::Duration = chrono::Duration::seconds(1);

/// [`Deadlines`] that asks the store for due timers only when one may be due.
///
/// The workers poll for due deadlines every 100 ms, and almost every poll finds none: an idle
/// server spent most of its transactions asking. Each poll here reads the timers due within
/// [`QUIET_FOR`] instead of only those due now; when none is due yet, it knows the earliest
/// one's time, or that there is none before `now + QUIET_FOR`, and answers "none" without
/// asking until then. A timer this process schedules meanwhile brings that time forward; one
/// another instance schedules is seen at the next ask, at most [`QUIET_FOR`] late.
pub struct SparseDeadlines {
    inner: std::sync::Arc<dyn Deadlines>,
    quiet: std::sync::Mutex<Quiet>,
}

#[derive(Default)]
struct Quiet {
    /// Nothing is due before this time, as far as this process knows.
    until: Option<DateTime<Utc>>,
    /// Moves with every schedule, so that an ask that raced one does not overwrite what the
    /// schedule taught.
    generation: u64,
}

impl SparseDeadlines {
    pub fn new(inner: std::sync::Arc<dyn Deadlines>) -> Self {
        Self {
            inner,
            quiet: std::sync::Mutex::new(Quiet::default()),
        }
    }

    fn quiet(&self) -> std::sync::MutexGuard<'_, Quiet> {
        self.quiet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Deadlines for SparseDeadlines {
    async fn schedule(&self, key: &str, due_at: DateTime<Utc>) -> Result<(), StoreError> {
        // Forward before the write: an ask racing it then sees the generation move.
        {
            let mut quiet = self.quiet();
            quiet.generation += 1;
            quiet.until = quiet.until.map(|until| until.min(due_at));
        }
        self.inner.schedule(key, due_at).await
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Deadline>, StoreError> {
        let generation = {
            let quiet = self.quiet();
            if quiet.until.is_some_and(|until| now < until) {
                return Ok(Vec::new());
            }
            quiet.generation
        };
        let soon = self.inner.due(now + QUIET_FOR, limit).await?;
        let (due, later): (Vec<Deadline>, Vec<Deadline>) = soon
            .into_iter()
            .partition(|deadline| deadline.due_at <= now);
        let mut quiet = self.quiet();
        if quiet.generation == generation {
            quiet.until = if due.is_empty() {
                Some(later.first().map_or(now + QUIET_FOR, |next| next.due_at))
            } else {
                None
            };
        }
        Ok(due)
    }

    async fn clear(&self, deadline: &Deadline) -> Result<(), StoreError> {
        self.inner.clear(deadline).await
    }

    async fn cancel(&self, key: &str) -> Result<(), StoreError> {
        self.inner.cancel(key).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Timers in memory, counting the asks.
    #[derive(Default)]
    struct Timers {
        due: Mutex<BTreeMap<String, DateTime<Utc>>>,
        asks: Mutex<u32>,
    }

    #[async_trait]
    impl Deadlines for Timers {
        async fn schedule(&self, key: &str, due_at: DateTime<Utc>) -> Result<(), StoreError> {
            self.due.lock().unwrap().insert(key.to_owned(), due_at);
            Ok(())
        }

        async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Deadline>, StoreError> {
            *self.asks.lock().unwrap() += 1;
            let mut due: Vec<Deadline> = self
                .due
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(key, at)| Deadline {
                    key: key.clone(),
                    due_at: *at,
                })
                .collect();
            due.sort_by_key(|deadline| deadline.due_at);
            due.truncate(limit);
            Ok(due)
        }

        async fn clear(&self, deadline: &Deadline) -> Result<(), StoreError> {
            self.cancel(&deadline.key).await
        }

        async fn cancel(&self, key: &str) -> Result<(), StoreError> {
            self.due.lock().unwrap().remove(key);
            Ok(())
        }
    }

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + millis).unwrap()
    }

    fn keys(deadlines: &[Deadline]) -> Vec<&str> {
        deadlines.iter().map(|d| d.key.as_str()).collect()
    }

    #[tokio::test]
    async fn a_quiet_store_is_asked_again_only_when_something_may_be_due() {
        let store = Arc::new(Timers::default());
        let sparse = SparseDeadlines::new(store.clone());
        store.schedule("later", at(600)).await.unwrap();
        assert!(sparse.due(at(0), 10).await.unwrap().is_empty());
        assert!(sparse.due(at(100), 10).await.unwrap().is_empty());
        assert!(sparse.due(at(599), 10).await.unwrap().is_empty());
        assert_eq!(
            *store.asks.lock().unwrap(),
            1,
            "asked while nothing could be due"
        );
        // The earliest timer it saw comes due: asked, and given.
        assert_eq!(keys(&sparse.due(at(600), 10).await.unwrap()), ["later"]);
        store.cancel("later").await.unwrap();
        // Nothing within a second: quiet for that second, then asked again.
        assert!(sparse.due(at(700), 10).await.unwrap().is_empty());
        assert!(sparse.due(at(1_699), 10).await.unwrap().is_empty());
        assert_eq!(*store.asks.lock().unwrap(), 3);
        assert!(sparse.due(at(1_700), 10).await.unwrap().is_empty());
        assert_eq!(*store.asks.lock().unwrap(), 4);
    }

    #[tokio::test]
    async fn a_timer_scheduled_here_is_never_waited_for_past_its_time() {
        let store = Arc::new(Timers::default());
        let sparse = SparseDeadlines::new(store.clone());
        assert!(sparse.due(at(0), 10).await.unwrap().is_empty());
        sparse.schedule("retry", at(200)).await.unwrap();
        assert!(sparse.due(at(199), 10).await.unwrap().is_empty());
        assert_eq!(keys(&sparse.due(at(200), 10).await.unwrap()), ["retry"]);
        // One another instance scheduled is seen at the next ask, within QUIET_FOR.
        store.cancel("retry").await.unwrap();
        assert!(sparse.due(at(300), 10).await.unwrap().is_empty());
        store.schedule("elsewhere", at(400)).await.unwrap();
        assert!(sparse.due(at(1_299), 10).await.unwrap().is_empty());
        assert_eq!(
            keys(&sparse.due(at(1_300), 10).await.unwrap()),
            ["elsewhere"]
        );
    }
}
