//! Read-your-writes (ADR 0040): where a request's writes landed in the feed, and a bounded
//! wait for the read models to pass a position.
//!
//! The event store tells the appender the feed cursor of the last event it appended
//! ([`record`]); a caller that opened a [`recording`] scope (the REST layer does, per request)
//! learns the furthest position its writes reached and hands it to its client. A later read
//! that names that position waits in [`ReadProgress::wait_past`] until every read model has
//! projected past it, so a client never reads a view that misses its own write.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::feed::Cursor;
use crate::projection::ProjectionStore;
use crate::StoreError;

tokio::task_local! {
    static WRITTEN: Cell<Option<Cursor>>;
}

/// Runs `work`, and returns with its output the furthest feed position any event appended
/// while it ran (in this task) reached; `None` when it appended nothing.
pub async fn recording<F: Future>(work: F) -> (F::Output, Option<Cursor>) {
    WRITTEN
        .scope(Cell::new(None), async {
            let output = work.await;
            let written = WRITTEN.with(Cell::get);
            (output, written)
        })
        .await
}

/// Notes that events were appended up to `cursor`; does nothing outside a [`recording`].
pub fn record(cursor: Cursor) {
    let _ = WRITTEN.try_with(|written| {
        if written.get().is_none_or(|before| before < cursor) {
            written.set(Some(cursor));
        }
    });
}

/// How far the read models have projected, for readers that must see a position.
///
/// Projectors running in this process report each checkpoint they commit ([`Self::report`]);
/// a projection with no report at or past the position (this instance serves the API only,
/// or another instance's projector got there first) is looked up in the store, whose
/// checkpoints every instance shares.
pub struct ReadProgress {
    projections: Vec<&'static str>,
    /// Those whose progress only this process's runners may report (see [`Self::reported_only`]).
    reported_only: Vec<&'static str>,
    store: Arc<dyn ProjectionStore>,
    reached: Mutex<HashMap<&'static str, Cursor>>,
    moved: Notify,
    poll: Duration,
}

impl ReadProgress {
    /// Progress of the read models `projections` (their checkpoint names), kept in `store`.
    pub fn new(projections: Vec<&'static str>, store: Arc<dyn ProjectionStore>) -> Self {
        Self {
            projections,
            reported_only: Vec::new(),
            store,
            reached: Mutex::new(HashMap::new()),
            moved: Notify::new(),
            poll: Duration::from_millis(20),
        }
    }

    /// Projections whose documents this process serves from its [`DocumentCache`]
    /// (ADR 0044): their stored checkpoints are never taken as progress, since only the
    /// runners of this process forget what a commit changed before reporting it. Those
    /// runners report the checkpoints other instances commit too, once they have forgotten
    /// what those changed.
    ///
    /// [`DocumentCache`]: crate::DocumentCache
    #[must_use]
    pub fn reported_only(mut self, projections: Vec<&'static str>) -> Self {
        self.reported_only = projections;
        self
    }

    /// The read models it waits for.
    pub fn projections(&self) -> &[&'static str] {
        &self.projections
    }

    /// A projector in this process committed (or found) its checkpoint at `cursor`.
    pub fn report(&self, projection: &'static str, cursor: Cursor) {
        let mut reached = self.reached.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = reached.entry(projection).or_insert(Cursor::START);
        if *entry < cursor {
            *entry = cursor;
            drop(reached);
            self.moved.notify_waiters();
        }
    }

    /// Whether every read model has projected `position`, asking the store about those this
    /// process has not seen reach it.
    async fn passed(&self, position: Cursor) -> Result<bool, StoreError> {
        let behind: Vec<&'static str> = {
            let reached = self.reached.lock().unwrap_or_else(PoisonError::into_inner);
            self.projections
                .iter()
                .copied()
                .filter(|name| reached.get(name).is_none_or(|at| *at < position))
                .collect()
        };
        for name in behind {
            if self.reported_only.contains(&name) {
                return Ok(false);
            }
            let checkpoint = self.store.checkpoint(name).await?;
            self.report(name, checkpoint);
            if checkpoint < position {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Waits until every read model has projected `position`, for at most `bound`. Returns
    /// whether it has.
    pub async fn wait_past(&self, position: Cursor, bound: Duration) -> Result<bool, StoreError> {
        let until = Instant::now() + bound;
        loop {
            // Listen before looking, so that a report between the two still wakes us.
            let moved = self.moved.notified();
            let mut moved = std::pin::pin!(moved);
            moved.as_mut().enable();
            if self.passed(position).await? {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= until {
                return Ok(false);
            }
            // A report here wakes the waiter at once; the pause covers other instances.
            tokio::select! {
                () = moved => {}
                () = tokio::time::sleep(self.poll.min(until - now)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::{CommitOutcome, DocumentChange};
    use async_trait::async_trait;
    use serde_json::Value;

    fn at(position: i64) -> Cursor {
        Cursor { tx: 0, position }
    }

    #[tokio::test]
    async fn a_scope_learns_the_furthest_position_its_writes_reached() {
        let ((), written) = recording(async {
            record(at(7));
            record(at(3));
        })
        .await;
        assert_eq!(written, Some(at(7)));
        let ((), nothing) = recording(async {}).await;
        assert_eq!(nothing, None);
        // Outside a scope a write records nowhere, and nothing fails.
        record(at(9));
    }

    /// Checkpoints as the store has them.
    struct Checkpoints(Mutex<HashMap<String, Cursor>>);

    #[async_trait]
    impl ProjectionStore for Checkpoints {
        async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
            Ok(self
                .0
                .lock()
                .unwrap()
                .get(projector)
                .copied()
                .unwrap_or_default())
        }
        async fn load_document(&self, _: &str, _: &str) -> Result<Option<Value>, StoreError> {
            Ok(None)
        }
        async fn commit(
            &self,
            _: &str,
            _: Cursor,
            _: Cursor,
            _: Vec<DocumentChange>,
        ) -> Result<CommitOutcome, StoreError> {
            Ok(CommitOutcome::Committed)
        }
    }

    #[tokio::test]
    async fn a_read_waits_until_every_read_model_has_passed_its_position() {
        let store = Arc::new(Checkpoints(Mutex::new(HashMap::new())));
        let progress = Arc::new(ReadProgress::new(vec!["a", "b"], store.clone()));
        progress.report("a", at(10));
        store.0.lock().unwrap().insert("b".into(), at(4));
        // "b" is short of 5 in the store and nothing reports it: the wait runs out.
        let reached = progress.wait_past(at(5), Duration::from_millis(60)).await;
        assert!(!reached.unwrap());
        let waiting = tokio::spawn({
            let progress = progress.clone();
            async move { progress.wait_past(at(5), Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        progress.report("b", at(5));
        assert!(waiting.await.unwrap().unwrap());
        // Another instance's projector moved the stored checkpoint: seen by asking the store.
        progress.report("a", at(12));
        store.0.lock().unwrap().insert("b".into(), at(12));
        let reached = progress.wait_past(at(11), Duration::from_millis(500)).await;
        assert!(reached.unwrap());
    }

    #[tokio::test]
    async fn a_read_model_served_from_memory_has_passed_only_what_its_runner_reported() {
        let store = Arc::new(Checkpoints(Mutex::new(HashMap::new())));
        let progress = Arc::new(
            ReadProgress::new(vec!["a", "cached"], store.clone()).reported_only(vec!["cached"]),
        );
        store.0.lock().unwrap().insert("a".into(), at(8));
        store.0.lock().unwrap().insert("cached".into(), at(8));
        // The store says "cached" is past 5, but this process's runner has not forgotten what
        // got it there yet.
        let reached = progress.wait_past(at(5), Duration::from_millis(60)).await;
        assert!(!reached.unwrap());
        progress.report("cached", at(8));
        let reached = progress.wait_past(at(5), Duration::from_millis(60)).await;
        assert!(reached.unwrap());
    }
}
