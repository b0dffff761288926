//! The global feed in (transaction id, global position) order.

use async_trait::async_trait;
use runtime::{event_id, Cursor, EventFeed, FeedEvent, StoreError};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::{store_error, PostgresStore};

/// Runs as a plain pool query, outside any transaction that holds an xid: a reader's own xid
/// would hold the snapshot's xmin back and stall the feed behind itself.
///
/// `tx_id < xmin` admits only transactions that have finished. Every transaction still
/// running has an xid >= xmin, so nothing it appends can sort before an event returned here.
/// Because xmin covers the whole cluster, any long transaction holding an xid (in any
/// database) delays the feed until it ends; it never makes the feed skip.
const READ_AFTER: &str = "\
    SELECT tx_id::text AS tx, global_position, aggregate_type, aggregate_id, sequence, \
           event_type, event_version, payload, metadata \
    FROM events \
    WHERE (tx_id, global_position) > ($1::text::xid8, $2) \
      AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
    ORDER BY tx_id, global_position \
    LIMIT $3";

#[async_trait]
impl EventFeed for PostgresStore {
    async fn read_after(&self, after: Cursor, limit: usize) -> Result<Vec<FeedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(READ_AFTER)
            .bind(after.tx.to_string())
            .bind(after.position)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(feed_event).collect()
    }
}

fn feed_event(row: &PgRow) -> Result<FeedEvent, StoreError> {
    let tx: &str = row.try_get("tx").map_err(store_error)?;
    let tx: u64 = tx.parse().map_err(store_error)?;
    let position: i64 = row.try_get("global_position").map_err(store_error)?;
    let aggregate_type: String = row.try_get("aggregate_type").map_err(store_error)?;
    let aggregate_id: String = row.try_get("aggregate_id").map_err(store_error)?;
    let sequence: i64 = row.try_get("sequence").map_err(store_error)?;
    let sequence = u64::try_from(sequence).map_err(store_error)?;
    let payload: Value = row.try_get("payload").map_err(store_error)?;
    let metadata: Value = row.try_get("metadata").map_err(store_error)?;
    Ok(FeedEvent {
        cursor: Cursor { tx, position },
        event_id: event_id(&aggregate_type, &aggregate_id, sequence),
        event_type: row.try_get("event_type").map_err(store_error)?,
        event_version: row.try_get("event_version").map_err(store_error)?,
        aggregate_type,
        aggregate_id,
        sequence,
        payload: payload.into(),
        metadata: metadata.into(),
    })
}
