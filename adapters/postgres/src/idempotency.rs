//! Idempotency keys. Every step is a single autocommit statement; the claim stays atomic
//! because each write is conditional on the row it inspected.
//!
//! Each claim names its holder, the instance that made it. An instance holds a session-level
//! advisory lock for as long as it lives, so a claim whose holder's lock is free belongs to a
//! dead instance and is taken over at once; the staleness timeout remains for a holder that is
//! alive but stuck, and for claims made before holders were recorded.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use runtime::{IdempotencyClaim, IdempotencyStore, StoreError, StoredResponse};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{store_error, PostgresStore};

/// Rounds of insert-or-inspect before a key that keeps changing under us is called in flight.
const CLAIM_ROUNDS: usize = 4;

type KeyRow = (
    String,
    String,
    Option<Json<StoredResponse>>,
    DateTime<Utc>,
    Option<Uuid>,
);

/// The advisory lock key an instance holds for its whole life: the first 8 bytes of its id.
pub(crate) fn liveness_key(instance: Uuid) -> i64 {
    let bytes = instance.as_bytes();
    i64::from_be_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

impl PostgresStore {
    /// Whether the instance `holder` still holds its liveness lock. Taking the lock for the
    /// length of one statement succeeds only if no live session has it.
    async fn alive(&self, holder: Uuid) -> Result<bool, StoreError> {
        let free: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(liveness_key(holder))
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(!free)
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        stale_after: Duration,
    ) -> Result<IdempotencyClaim, StoreError> {
        let stale_before = now - stale_after;
        for _ in 0..CLAIM_ROUNDS {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys \
                     (key, fingerprint, state, response, created_at, updated_at, holder) \
                 VALUES ($1, $2, 'in_flight', NULL, $3, $3, $4) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .bind(self.instance)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
            if inserted.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Acquired);
            }

            let existing: Option<KeyRow> = sqlx::query_as(
                "SELECT fingerprint, state, response, updated_at, holder \
                 FROM idempotency_keys WHERE key = $1",
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
                let Json(response) = response.ok_or_else(|| {
                    StoreError::new(format_args!(
                        "idempotency key {key} completed without response"
                    ))
                })?;
                return Ok(IdempotencyClaim::Replay(response));
            }
            // A claim is taken over once it is stale, or at once when its holder is no longer
            // alive: that instance's session, and with it its advisory lock, is gone.
            let holder_dead = match holder {
                Some(holder) if holder != self.instance => !self.alive(holder).await?,
                _ => false,
            };
            if updated_at >= stale_before && !holder_dead {
                return Ok(IdempotencyClaim::InFlight);
            }
            // Only one of several racing claimants moves the row off the updated_at it saw;
            // the others inspect the row again.
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET updated_at = $1, holder = $4 \
                 WHERE key = $2 AND state = 'in_flight' AND updated_at = $3",
            )
            .bind(now)
            .bind(key)
            .bind(updated_at)
            .bind(self.instance)
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
        let updated = sqlx::query(
            "UPDATE idempotency_keys \
             SET state = 'completed', response = $1::jsonb::json, updated_at = $2 \
             WHERE key = $3 AND state = 'in_flight'",
        )
        .bind(Json(response))
        .bind(now)
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
        sqlx::query("DELETE FROM idempotency_keys WHERE key = $1 AND state = 'in_flight'")
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(store_error)
    }

    async fn purge_older_than(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE updated_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(store_error)
    }
}
