//! Data keys of the people whose personal data events carry sealed (ADR 0026).

use std::collections::HashMap;

use async_trait::async_trait;
use runtime::personal::{DataKey, PersonalDataKeys};
use runtime::StoreError;

use crate::SqliteStore;

fn unavailable(error: sqlx::Error) -> StoreError {
    StoreError::new(format_args!("sqlite personal data keys: {error}"))
}

#[async_trait]
impl PersonalDataKeys for SqliteStore {
    async fn key_for_sealing(
        &self,
        subject: &str,
        candidate: &DataKey,
    ) -> Result<DataKey, StoreError> {
        // One statement: the key stored first wins, and this answers it either way.
        let stored: Vec<u8> = sqlx::query_scalar(
            "INSERT INTO personal_data_keys (subject, data_key) VALUES (?, ?) \
             ON CONFLICT (subject) DO UPDATE SET subject = excluded.subject \
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
        let mut found = HashMap::new();
        // Few subjects per read (the events of one stream or one feed page).
        for chunk in subjects.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT subject, data_key FROM personal_data_keys WHERE subject IN ({placeholders})"
            );
            let mut query = sqlx::query_as::<_, (String, Vec<u8>)>(&sql);
            for subject in chunk {
                query = query.bind(subject);
            }
            for (subject, key) in query.fetch_all(&self.pool).await.map_err(unavailable)? {
                found.insert(subject, DataKey::from_slice(&key)?);
            }
        }
        Ok(found)
    }

    async fn erase_keys(&self, subjects: &[String]) -> Result<u64, StoreError> {
        let mut erased = 0;
        for subject in subjects {
            erased += sqlx::query("DELETE FROM personal_data_keys WHERE subject = ?")
                .bind(subject)
                .execute(&self.pool)
                .await
                .map_err(unavailable)?
                .rows_affected();
        }
        Ok(erased)
    }
}
