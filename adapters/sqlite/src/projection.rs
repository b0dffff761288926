//! Projection checkpoints and read-model documents.

use async_trait::async_trait;
use chrono::Utc;
use runtime::{
    CommitOutcome, Cursor, DocumentChange, ListQuery, ProjectionStore, ReadModels, StoreError,
};
use serde_json::Value;
use sqlx::{Sqlite, Transaction};

use crate::{store_error, timestamp, SqliteStore};

#[async_trait]
impl ProjectionStore for SqliteStore {
    async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT tx, position FROM projection_checkpoints WHERE projector = ?")
                .bind(projector)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        match row {
            None => Ok(Cursor::START),
            Some((tx, position)) => Ok(Cursor {
                tx: u64::try_from(tx).map_err(store_error)?,
                position,
            }),
        }
    }

    async fn load_document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.document(view, id).await
    }

    async fn commit(
        &self,
        projector: &str,
        from: Cursor,
        to: Cursor,
        changes: Vec<DocumentChange>,
    ) -> Result<CommitOutcome, StoreError> {
        // IMMEDIATE takes the write lock now (waiting up to the busy timeout); a deferred
        // transaction that reads first would fail its upgrade to a writer with SQLITE_BUSY.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        let now = timestamp(Utc::now());
        if !move_checkpoint(&mut tx, projector, from, to, &now).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(CommitOutcome::CheckpointMoved);
        }
        for change in changes {
            apply(&mut tx, change, &now).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(CommitOutcome::Committed)
    }
}

/// Compare-and-set of the checkpoint row; false when it is no longer at `from`.
pub(crate) async fn move_checkpoint(
    tx: &mut Transaction<'_, Sqlite>,
    projector: &str,
    from: Cursor,
    to: Cursor,
    now: &str,
) -> Result<bool, StoreError> {
    let to_tx = i64::try_from(to.tx).map_err(store_error)?;
    if from == Cursor::START {
        let inserted = sqlx::query(
            "INSERT INTO projection_checkpoints (projector, tx, position, updated_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (projector) DO NOTHING",
        )
        .bind(projector)
        .bind(to_tx)
        .bind(to.position)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
        if inserted.rows_affected() == 1 {
            return Ok(true);
        }
    }
    let updated = sqlx::query(
        "UPDATE projection_checkpoints SET tx = ?, position = ?, updated_at = ? \
         WHERE projector = ? AND tx = ? AND position = ?",
    )
    .bind(to_tx)
    .bind(to.position)
    .bind(now)
    .bind(projector)
    .bind(i64::try_from(from.tx).map_err(store_error)?)
    .bind(from.position)
    .execute(&mut **tx)
    .await
    .map_err(store_error)?;
    Ok(updated.rows_affected() == 1)
}

async fn apply(
    tx: &mut Transaction<'_, Sqlite>,
    change: DocumentChange,
    now: &str,
) -> Result<(), StoreError> {
    match change {
        DocumentChange::Upsert { view, id, body } => {
            sqlx::query(
                "INSERT INTO read_documents (view, id, body, updated_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (view, id) DO UPDATE \
                 SET body = excluded.body, updated_at = excluded.updated_at",
            )
            .bind(view)
            .bind(id)
            .bind(body.to_string())
            .bind(now)
            .execute(&mut **tx)
            .await
        }
        DocumentChange::Delete { view, id } => {
            sqlx::query("DELETE FROM read_documents WHERE view = ? AND id = ?")
                .bind(view)
                .bind(id)
                .execute(&mut **tx)
                .await
        }
    }
    .map(drop)
    .map_err(store_error)
}

impl SqliteStore {
    async fn document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM read_documents WHERE view = ? AND id = ?")
                .bind(view)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_error)?;
        body.map(|body| parse_body(view, id, &body)).transpose()
    }
}

#[async_trait]
impl ReadModels for SqliteStore {
    async fn get(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        self.document(view, id).await
    }

    async fn get_many(
        &self,
        view: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT id, body FROM read_documents WHERE view = ? AND id IN ({placeholders})"
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&sql).bind(view);
        for id in ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_error)?;
        rows.into_iter()
            .map(|(id, body)| {
                let body = parse_body(view, &id, &body)?;
                Ok((id, body))
            })
            .collect()
    }

    async fn list(&self, query: ListQuery<'_>) -> Result<Vec<(String, Value)>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let (after, order) = if query.descending {
            ("id < ?", "DESC")
        } else {
            ("id > ?", "ASC")
        };
        let sql = format!(
            "SELECT id, body FROM read_documents \
             WHERE view = ? AND id >= ? AND (? IS NULL OR id < ?) AND (? IS NULL OR {after}) \
             ORDER BY id {order} LIMIT ?"
        );
        let end = query.prefix_end();
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(query.view)
            .bind(query.prefix)
            .bind(end.as_deref())
            .bind(end.as_deref())
            .bind(query.starting_after)
            .bind(query.starting_after)
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(id, body)| {
                let body = parse_body(query.view, &id, &body)?;
                Ok((id, body))
            })
            .collect()
    }
}

fn parse_body(view: &str, id: &str, body: &str) -> Result<Value, StoreError> {
    serde_json::from_str(body)
        .map_err(|e| StoreError::new(format_args!("document {view}/{id} is not JSON: {e}")))
}
