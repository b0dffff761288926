//! Idempotency keys. Every step is a single autocommit statement; the claim stays atomic
//! because each write is conditional on the row it inspected.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use runtime::{IdempotencyClaim, IdempotencyStore, StoreError, StoredResponse};

use crate::{store_error, timestamp, SqliteStore};

/// Rounds of insert-or-inspect before a key that keeps changing under us is called in flight.
const CLAIM_ROUNDS: usize = 4;

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let now_text = timestamp(now);
        let stale_before = timestamp(now - stale_after);
        for _ in 0..CLAIM_ROUNDS {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys \
                     (key, fingerprint, state, response, created_at, updated_at, holder) \
                 VALUES (?, ?, 'in_flight', NULL, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(fingerprint)
            .bind(&now_text)
            .bind(&now_text)
            .bind(self.instance.to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            if inserted.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Acquired);
            }

            let existing: Option<(String, String, Option<String>, String, Option<String>)> =
                sqlx::query_as(
                    "SELECT fingerprint, state, response, updated_at, holder \
                     FROM idempotency_keys WHERE key = ?",
                )
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
            // Released between our insert and our read: try to insert again.
            let Some((stored_fingerprint, state, response, updated_at, holder)) = existing else {
                continue;
            };
            if stored_fingerprint != fingerprint {
                return Ok(IdempotencyClaim::Mismatch);
            }
            if state == "completed" {
                let response = response.ok_or_else(|| {
                    StoreError::new(format_args!(
                        "idempotency key {key} completed without response"
                    ))
                })?;
                return serde_json::from_str::<StoredResponse>(&response)
                    .map(IdempotencyClaim::Replay)
                    .map_err(|e| {
                        StoreError::new(format_args!("stored response of key {key}: {e}"))
                    });
            }
            // One process serves the file: a claim another opening made is an earlier run's,
            // and that run is gone. Taken over at once, or once stale.
            let me = self.instance.to_string();
            let holder_dead = holder.is_some_and(|holder| holder != me);
            if updated_at >= stale_before && !holder_dead {
                return Ok(IdempotencyClaim::InFlight);
            }
            // Only one of several racing claimants moves the row off the updated_at it saw;
            // the others inspect the row again.
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET updated_at = ?, holder = ? \
                 WHERE key = ? AND state = 'in_flight' AND updated_at = ?",
            )
            .bind(&now_text)
            .bind(&me)
            .bind(key)
            .bind(&updated_at)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            if taken.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Acquired);
            }
        }
        Ok(IdempotencyClaim::InFlight)
    }

    async fn complete(
        &self,
        key: &str,
        response: &StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let response = serde_json::to_string(response).map_err(store_error)?;
        let updated = sqlx::query(
            "UPDATE idempotency_keys SET state = 'completed', response = ?, updated_at = ? \
             WHERE key = ? AND state = 'in_flight'",
        )
        .bind(response)
        .bind(timestamp(now))
        .bind(key)
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        if updated.rows_affected() == 0 {
            tracing::warn!(key, "completing an idempotency key that is not in flight");
        }
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE key = ? AND state = 'in_flight'")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(store_error)
    }

    async fn purge_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE updated_at < ?")
            .bind(timestamp(before))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(store_error)
    }
}
