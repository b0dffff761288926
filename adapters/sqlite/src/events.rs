//! The event repository: sqlite-es reads the streams, and this store appends them itself
//! (ADR 0040), so that it learns where the events landed in the feed.
//!
//! The append is one multi-row `INSERT` and one look-up of the last event's position, in one
//! transaction; the position is recorded for the request that caused it
//! ([`runtime::consistency`]), whose answer hands it to its client.

use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use runtime::Cursor;
use serde_json::Value;
use sqlx::SqlitePool;

/// SQLITE_CONSTRAINT_PRIMARYKEY: the stream identity is taken, a write conflict. Any other
/// constraint failing is not one.
const STREAM_KEY_TAKEN: &str = "1555";

/// sqlite-es's repository for reads, with this store's append.
pub struct SqliteEventRepository {
    reads: sqlite_es::SqliteEventRepository,
    pool: SqlitePool,
}

impl SqliteEventRepository {
    pub(crate) fn new(pool: SqlitePool) -> Self {
        Self {
            reads: sqlite_es::SqliteEventRepository::new(pool.clone()),
            pool,
        }
    }

    /// Appends `events` (one stream's, numbered in order); the cursor of the last one.
    async fn append(&self, events: &[SerializedEvent]) -> Result<Cursor, PersistenceError> {
        let Some(last) = events.last() else {
            return Ok(Cursor::START);
        };
        let mut statement = String::from(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) VALUES ",
        );
        for index in 0..events.len() {
            if index > 0 {
                statement.push_str(", ");
            }
            statement.push_str("(?, ?, ?, ?, ?, ?, ?)");
        }
        let mut insert = sqlx::query(&statement);
        for event in events {
            insert = insert
                .bind(&event.aggregate_type)
                .bind(&event.aggregate_id)
                .bind(i64::try_from(event.sequence).map_err(unknown)?)
                .bind(&event.event_type)
                .bind(&event.event_version)
                .bind(serde_json::to_string(&event.payload).map_err(unknown)?)
                .bind(serde_json::to_string(&event.metadata).map_err(unknown)?);
        }
        let mut tx = self.pool.begin().await.map_err(append_error)?;
        insert.execute(&mut *tx).await.map_err(append_error)?;
        let position: i64 = sqlx::query_scalar(
            "SELECT position FROM event_positions \
             WHERE aggregate_type = ? AND aggregate_id = ? AND sequence = ?",
        )
        .bind(&last.aggregate_type)
        .bind(&last.aggregate_id)
        .bind(i64::try_from(last.sequence).map_err(unknown)?)
        .fetch_one(&mut *tx)
        .await
        .map_err(append_error)?;
        tx.commit().await.map_err(append_error)?;
        Ok(Cursor { tx: 0, position })
    }
}

fn unknown(error: impl std::error::Error + Send + Sync + 'static) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(error))
}

fn append_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::Database(database) if database.code().as_deref() == Some(STREAM_KEY_TAKEN) => {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => unknown(error),
    }
}

impl PersistedEventRepository for SqliteEventRepository {
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
        // Snapshots are off (ADR 0003); were they on, sqlite-es writes them with the events.
        if snapshot_update.is_some() {
            return self.reads.persist::<A>(events, snapshot_update).await;
        }
        if events.is_empty() {
            return Ok(());
        }
        let cursor = self.append(events).await?;
        runtime::consistency::record(cursor);
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
