//! Data keys of the people whose personal data events carry sealed (ADR 0026).

use std::collections::HashMap;

use async_trait::async_trait;
use runtime::personal::{DataKey, PersonalDataKeys};
use runtime::StoreError;

use crate::PostgresStore;

fn unavailable(error: sqlx::Error) -> StoreError {
    StoreError::new(format_args!("postgres personal data keys: {error}"))
}

#[async_trait]
impl PersonalDataKeys for PostgresStore {
    async fn key_for_sealing(
        &self,
        subject: &str,
        candidate: &DataKey,
    ) -> Result<DataKey, StoreError> {
        // One statement: the key stored first wins (the no-op update locks and returns it).
        let stored: Vec<u8> = sqlx::query_scalar(
            "INSERT INTO personal_data_keys (subject, data_key) VALUES ($1, $2) \
             ON CONFLICT (subject) DO UPDATE SET subject = EXCLUDED.subject \
             RETURNING data_key",
        )
        .bind(subject)
        .bind(&candidate.0[..])
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)?;
        DataKey::from_slice(&stored)
    }

    async fn keys(&self, subjects: &[String]) -> Result<HashMap<String, DataKey>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
            "SELECT subject, data_key FROM personal_data_keys WHERE subject = ANY($1)",
        )
        .bind(subjects)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|(subject, key)| Ok((subject, DataKey::from_slice(&key)?)))
            .collect()
    }

    async fn erase_keys(&self, subjects: &[String]) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM personal_data_keys WHERE subject = ANY($1)")
            .bind(subjects)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(unavailable)
    }
}
