//! Durable timers in the `deadlines` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use runtime::{Deadline, Deadlines, StoreError};

use crate::{store_error, PostgresStore};

#[async_trait]
impl Deadlines for PostgresStore {
    async fn schedule(&self, key: &str, due_at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deadlines (key, due_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at",
        )
        .bind(key)
        .bind(due_at)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Deadline>, StoreError> {
        let rows: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT key, due_at FROM deadlines WHERE due_at <= $1 ORDER BY due_at, key LIMIT $2",
        )
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|(key, due_at)| Deadline { key, due_at })
            .collect())
    }

    async fn clear(&self, deadline: &Deadline) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM deadlines WHERE key = $1 AND due_at = $2")
            .bind(&deadline.key)
            .bind(deadline.due_at)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn cancel(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM deadlines WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
