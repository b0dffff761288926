//! Projection checkpoints and read-model documents.

use async_trait::async_trait;
use runtime::{
    CommitOutcome, Cursor, DocumentChange, ListQuery, ProjectionStore, ReadModels, StoreError,
};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};

use crate::{store_error, PostgresStore};

#[async_trait]
impl ProjectionStore for PostgresStore {
    async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT tx, position FROM projection_checkpoints WHERE projector = $1")
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
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        if !move_checkpoint(&mut tx, projector, from, to).await? {
            tx.rollback().await.map_err(store_error)?;
            return Ok(CommitOutcome::CheckpointMoved);
        }
        for change in changes {
            apply(&mut tx, change).await?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(CommitOutcome::Committed)
    }
}

/// Compare-and-set of the checkpoint row; false when it is no longer at `from`.
///
/// A concurrent committer from the same `from` blocks on the row (or on the primary key when
/// inserting) until the first one ends, then finds the row moved and changes nothing.
pub(crate) async fn move_checkpoint(
    tx: &mut Transaction<'_, Postgres>,
    projector: &str,
    from: Cursor,
    to: Cursor,
) -> Result<bool, StoreError> {
    let to_tx = i64::try_from(to.tx).map_err(store_error)?;
    if from == Cursor::START {
        let inserted = sqlx::query(
            "INSERT INTO projection_checkpoints (projector, tx, position, updated_at) \
             VALUES ($1, $2, $3, now()) ON CONFLICT (projector) DO NOTHING",
        )
        .bind(projector)
        .bind(to_tx)
        .bind(to.position)
        .execute(&mut **tx)
        .await
        .map_err(store_error)?;
        if inserted.rows_affected() == 1 {
            return Ok(true);
        }
    }
    let updated = sqlx::query(
        "UPDATE projection_checkpoints SET tx = $1, position = $2, updated_at = now() \
         WHERE projector = $3 AND tx = $4 AND position = $5",
    )
    .bind(to_tx)
    .bind(to.position)
    .bind(projector)
    .bind(i64::try_from(from.tx).map_err(store_error)?)
    .bind(from.position)
    .execute(&mut **tx)
    .await
    .map_err(store_error)?;
    Ok(updated.rows_affected() == 1)
}

async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    change: DocumentChange,
) -> Result<(), StoreError> {
    match change {
        DocumentChange::Upsert { view, id, body } => {
            sqlx::query(
                "INSERT INTO read_documents (view, id, body, updated_at) \
                 VALUES ($1, $2, $3::jsonb::json, now()) \
                 ON CONFLICT (view, id) DO UPDATE \
                 SET body = excluded.body, updated_at = excluded.updated_at",
            )
            .bind(view)
            .bind(id)
            .bind(Json(body))
            .execute(&mut **tx)
            .await
        }
        DocumentChange::Delete { view, id } => {
            sqlx::query("DELETE FROM read_documents WHERE view = $1 AND id = $2")
                .bind(view)
                .bind(id)
                .execute(&mut **tx)
                .await
        }
    }
    .map(drop)
    .map_err(store_error)
}

impl PostgresStore {
    async fn document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        sqlx::query_scalar("SELECT body FROM read_documents WHERE view = $1 AND id = $2")
            .bind(view)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)
    }
}

#[async_trait]
impl ReadModels for PostgresStore {
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
        sqlx::query_as("SELECT id, body FROM read_documents WHERE view = $1 AND id = ANY($2)")
            .bind(view)
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
    }

    async fn list(&self, query: ListQuery<'_>) -> Result<Vec<(String, Value)>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let (after, order) = if query.descending {
            ("id < $4", "DESC")
        } else {
            ("id > $4", "ASC")
        };
        let sql = format!(
            "SELECT id, body FROM read_documents \
             WHERE view = $1 AND id >= $2 AND ($3::text IS NULL OR id < $3) \
               AND ($4::text IS NULL OR {after}) \
             ORDER BY id {order} LIMIT $5"
        );
        sqlx::query_as(&sql)
            .bind(query.view)
            .bind(query.prefix)
            .bind(query.prefix_end())
            .bind(query.starting_after)
            .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)
    }
}
