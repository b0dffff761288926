//! How far each feed consumer is behind, and the pool's state, for `GET /metrics`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runtime::telemetry::seconds_since;
use runtime::{ConsumerLag, PoolState, StoreError, StoreGauges};

use crate::{store_error, PostgresStore};

/// Counting stops here: a consumer this far behind is reported as this far behind.
const COUNT_AT_MOST: i64 = 1_000_000;

const BEHIND: &str = "\
    WITH checkpoint AS ( \
        SELECT COALESCE((SELECT tx::text FROM projection_checkpoints WHERE projector = $1), '0')::xid8 AS tx, \
               COALESCE((SELECT position FROM projection_checkpoints WHERE projector = $1), 0) AS position \
    ) \
    SELECT (SELECT count(*) FROM (SELECT 1 FROM events e, checkpoint c \
                                  WHERE (e.tx_id, e.global_position) > (c.tx, c.position) \
                                  LIMIT $2) behind) AS behind, \
           (SELECT e.metadata->>'occurred_at' FROM events e, checkpoint c \
            WHERE (e.tx_id, e.global_position) > (c.tx, c.position) \
            ORDER BY e.tx_id, e.global_position LIMIT 1) AS oldest";

#[async_trait]
impl StoreGauges for PostgresStore {
    async fn consumer_lags(
        &self,
        consumers: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<ConsumerLag>, StoreError> {
        let mut lags = Vec::with_capacity(consumers.len());
        for consumer in consumers {
            let (behind, oldest): (i64, Option<String>) = sqlx::query_as(BEHIND)
                .bind(consumer)
                .bind(COUNT_AT_MOST)
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
            lags.push(ConsumerLag {
                consumer: consumer.clone(),
                events_behind: u64::try_from(behind).unwrap_or(0),
                seconds_behind: seconds_since(oldest.as_deref(), now),
            });
        }
        Ok(lags)
    }

    fn pool_state(&self) -> PoolState {
        PoolState {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn probe_acquire(&self) -> Result<std::time::Duration, StoreError> {
        let started = std::time::Instant::now();
        let connection = self.pool.acquire().await.map_err(store_error)?;
        drop(connection);
        Ok(started.elapsed())
    }
}
