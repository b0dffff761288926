//! The event repository: sqlite-es reads the streams, and this store appends them itself
//! (ADR 0040), so that it learns where the events landed in the feed.
//!
//! The append is one multi-row `INSERT` and one look-up of the last event's position, in one
//! transaction; the position is recorded for the request that caused it
//! ([`runtime::consistency`]), whose answer hands it to its client.

use cqrs_es::persist::{PersistenceError, SerializedEvent};
use runtime::{Appender, Cursor, OwnAppend};
use sqlx::SqlitePool;

/// SQLITE_CONSTRAINT_PRIMARYKEY: the stream identity is taken, a write conflict. Any other
/// constraint failing is not one.
const STREAM_KEY_TAKEN: &str = "1555";

/// sqlite-es's repository for reads, with this store's append.
pub type SqliteEventRepository = OwnAppend<sqlite_es::SqliteEventRepository, SqliteAppend>;

pub(crate) fn repository(pool: SqlitePool) -> SqliteEventRepository {
    OwnAppend::new(
        sqlite_es::SqliteEventRepository::new(pool.clone()),
        SqliteAppend { pool },
    )
}

/// Appends a command's events in one transaction, learning the last one's position.
pub struct SqliteAppend {
    pool: SqlitePool,
}

impl Appender for SqliteAppend {
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
