//! API keys in the `api_keys` table (ADR 0023).

use accounts::{ApiKey, ApiKeys, CredentialStoreError, Grants};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{timestamp, SqliteStore};

fn unavailable(error: impl std::fmt::Display) -> CredentialStoreError {
    CredentialStoreError(format!("sqlite: {error}"))
}

type Row = (String, String, String, String, String, Option<String>);

fn time(text: &str) -> Result<DateTime<Utc>, CredentialStoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(unavailable)
}

fn key_of(
    (id, name, prefix, scopes, created_at, revoked_at): Row,
) -> Result<ApiKey, CredentialStoreError> {
    Ok(ApiKey {
        id: Uuid::parse_str(&id).map_err(unavailable)?,
        name,
        prefix,
        grants: Grants::parse(&scopes).map_err(unavailable)?,
        created_at: time(&created_at)?,
        revoked_at: revoked_at.as_deref().map(time).transpose()?,
    })
}

const COLUMNS: &str = "id, name, prefix, scopes, created_at, revoked_at";

#[async_trait]
impl ApiKeys for SqliteStore {
    async fn insert_key(
        &self,
        key: &ApiKey,
        secret_hash: &str,
    ) -> Result<(), CredentialStoreError> {
        sqlx::query(
            "INSERT INTO api_keys (id, name, prefix, secret_hash, scopes, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.to_string())
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(secret_hash)
        .bind(key.grants.to_string())
        .bind(timestamp(key.created_at))
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn active_key(&self, secret_hash: &str) -> Result<Option<ApiKey>, CredentialStoreError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(key_of).transpose()
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, CredentialStoreError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM api_keys ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter().map(key_of).collect()
    }

    async fn revoke_key(&self, id: Uuid, at: DateTime<Utc>) -> Result<bool, CredentialStoreError> {
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(timestamp(at))
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() == 1)
            .map_err(unavailable)
    }
}

#[async_trait]
impl accounts::ServerSecrets for SqliteStore {
    async fn kept_secret(
        &self,
        name: &str,
        candidate: &str,
    ) -> Result<String, CredentialStoreError> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.pool)
        .await
        .map_err(unavailable)?;
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)
    }
}
