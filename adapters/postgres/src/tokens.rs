//! Payment method tokens in the `payment_method_tokens` table (ADR 0016).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payments::{PaymentMethodTokens, TokenStoreError};
use shared_kernel::PaymentId;

use crate::PostgresStore;

fn unavailable(error: sqlx::Error) -> TokenStoreError {
    TokenStoreError(format!("postgres: {error}"))
}

#[async_trait]
impl PaymentMethodTokens for PostgresStore {
    async fn keep(&self, payment_id: PaymentId, token: &str) -> Result<(), TokenStoreError> {
        sqlx::query(
            "INSERT INTO payment_method_tokens (payment_id, token) VALUES ($1, $2) \
             ON CONFLICT (payment_id) DO UPDATE SET token = excluded.token, kept_at = now()",
        )
        .bind(payment_id.as_uuid())
        .bind(token)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn token(&self, payment_id: PaymentId) -> Result<Option<String>, TokenStoreError> {
        sqlx::query_scalar("SELECT token FROM payment_method_tokens WHERE payment_id = $1")
            .bind(payment_id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)
    }

    async fn forget(&self, payment_id: PaymentId) -> Result<(), TokenStoreError> {
        sqlx::query("DELETE FROM payment_method_tokens WHERE payment_id = $1")
            .bind(payment_id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn forget_kept_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TokenStoreError> {
        sqlx::query("DELETE FROM payment_method_tokens WHERE kept_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(unavailable)
    }
}
