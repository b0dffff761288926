//! The global feed over the events table, in `event_positions` (= commit) order.

use async_trait::async_trait;
use runtime::{event_id, Cursor, EventFeed, FeedEvent, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use crate::{store_error, SqliteStore};

#[async_trait]
impl EventFeed for SqliteStore {
    async fn read_after(&self, after: Cursor, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT p.position, e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, \
                    e.event_version, e.payload, e.metadata \
             FROM event_positions p \
             JOIN events e ON e.aggregate_type = p.aggregate_type \
                          AND e.aggregate_id = p.aggregate_id \
                          AND e.sequence = p.sequence \
             WHERE p.position > ? ORDER BY p.position LIMIT ?",
        )
        .bind(after.position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(feed_event).collect()
    }
}

fn feed_event(row: &SqliteRow) -> Result<FeedEvent, StoreError> {
    let position: i64 = row.try_get("position").map_err(store_error)?;
    let aggregate_type: String = row.try_get("aggregate_type").map_err(store_error)?;
    let aggregate_id: String = row.try_get("aggregate_id").map_err(store_error)?;
    let sequence: i64 = row.try_get("sequence").map_err(store_error)?;
    let sequence = u64::try_from(sequence).map_err(store_error)?;
    let payload: &str = row.try_get("payload").map_err(store_error)?;
    let metadata: &str = row.try_get("metadata").map_err(store_error)?;
    Ok(FeedEvent {
        cursor: Cursor { tx: 0, position },
        event_id: event_id(&aggregate_type, &aggregate_id, sequence),
        event_type: row.try_get("event_type").map_err(store_error)?,
        event_version: row.try_get("event_version").map_err(store_error)?,
        payload: serde_json::from_str::<serde_json::Value>(payload)
            .map_err(|e| malformed(position, e))?
            .into(),
        metadata: serde_json::from_str::<serde_json::Value>(metadata)
            .map_err(|e| malformed(position, e))?
            .into(),
        aggregate_type,
        aggregate_id,
        sequence,
    })
}

fn malformed(position: i64, error: serde_json::Error) -> StoreError {
    StoreError::new(format_args!(
        "event at feed position {position} is not JSON: {error}"
    ))
}
