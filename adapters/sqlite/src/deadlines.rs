//! Durable timers in the `deadlines` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runtime::{Deadline, Deadlines, StoreError};

use crate::{store_error, timestamp, SqliteStore};

#[async_trait]
impl Deadlines for SqliteStore {
    async fn schedule(&self, key: &str, due_at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deadlines (key, due_at) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at",
        )
        .bind(key)
        .bind(timestamp(due_at))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Deadline>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, due_at FROM deadlines WHERE due_at <= ? ORDER BY due_at, key LIMIT ?",
        )
        .bind(timestamp(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.into_iter()
            .map(|(key, due_at)| {
                let due_at = DateTime::parse_from_rfc3339(&due_at)
                    .map_err(store_error)?
                    .with_timezone(&Utc);
                Ok(Deadline { key, due_at })
            })
            .collect()
    }

    async fn clear(&self, deadline: &Deadline) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM deadlines WHERE key = ? AND due_at = ?")
            .bind(&deadline.key)
            .bind(timestamp(deadline.due_at))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn cancel(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM deadlines WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
