//! An event repository whose reads are a library's (postgres-es, sqlite-es) and whose append
//! is the store adapter's own, which learns where the events landed in the feed (ADR 0040).

use std::future::Future;

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use serde_json::Value;

use crate::feed::Cursor;

/// A store adapter's append.
pub trait Appender: Send + Sync {
    /// Appends `events` (one command's, one stream's, numbered in order) atomically, and
    /// answers the feed cursor of the last one. A sequence the stream already holds is
    /// `OptimisticLockError`; no other failure is.
    fn append(
        &self,
        events: &[SerializedEvent],
    ) -> impl Future<Output = Result<Cursor, PersistenceError>> + Send;
}

/// `reads` for everything but the append, which `appender` does and records for the request
/// that caused it ([`crate::consistency::record`]).
pub struct OwnAppend<R, P> {
    reads: R,
    appender: P,
}

impl<R, P> OwnAppend<R, P> {
    pub fn new(reads: R, appender: P) -> Self {
        Self { reads, appender }
    }
}

impl<R: PersistedEventRepository, P: Appender> PersistedEventRepository for OwnAppend<R, P> {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads
            .get_last_events::<A>(aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reads.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        // Snapshots are off (ADR 0003); were they on, the library writes them with the events.
        if snapshot_update.is_some() {
            return self.reads.persist::<A>(events, snapshot_update).await;
        }
        if events.is_empty() {
            return Ok(());
        }
        let cursor = self.appender.append(events).await?;
        crate::consistency::record(cursor);
        Ok(())
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_all_events::<A>().await
    }
}
