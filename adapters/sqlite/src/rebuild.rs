//! A projection's shadow, for rebuilding it while the live one serves (ADR 0049).
//!
//! The shadow is a table of its own, `rebuild_<projector>`, shaped like `read_documents`;
//! the switch replaces the projection's views in `read_documents` with its rows in the one
//! transaction that sets the checkpoint. SQLite has one writer: from [`lock_live`] to the
//! switch's commit the rebuild holds the write lock, so no projector batch (nor any other
//! write) commits in between, and the feed head it reads under the lock is the real head.
//!
//! [`lock_live`]: runtime::ShadowProjection::lock_live

use async_trait::async_trait;
use chrono::Utc;
use runtime::{
    CommitOutcome, Cursor, DocumentChange, Projection, ProjectionStore, Rebuilds, ShadowProjection,
    StoreError,
};
use serde_json::Value;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::{store_error, timestamp, SqliteStore};

/// The shadow of one projection's views.
pub struct SqliteShadow {
    pool: SqlitePool,
    projector: &'static str,
    views: &'static [&'static str],
    table: String,
    checkpoint: std::sync::Mutex<Cursor>,
    /// The switching transaction, once the live lock is taken; every shadow write goes
    /// through it from then on (another connection could not write while it holds the lock).
    switching: tokio::sync::Mutex<Option<Transaction<'static, Sqlite>>>,
}

#[async_trait]
impl Rebuilds for SqliteStore {
    type Shadow = SqliteShadow;

    async fn shadow(&self, projection: &dyn Projection) -> Result<SqliteShadow, StoreError> {
        let table = runtime::rebuild::shadow_table(projection.name())?;
        // A leftover of a crashed rebuild is dropped: the shadow starts from the feed's start.
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        sqlx::query(&format!(
            "CREATE TABLE {table} (view text NOT NULL, id text NOT NULL, body text NOT NULL, \
             PRIMARY KEY (view, id)) STRICT"
        ))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(SqliteShadow {
            pool: self.pool.clone(),
            projector: projection.name(),
            views: projection.views(),
            table,
            checkpoint: std::sync::Mutex::new(Cursor::START),
            switching: tokio::sync::Mutex::new(None),
        })
    }
}

impl SqliteShadow {
    fn at(&self) -> Cursor {
        *self
            .checkpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn views_in(&self) -> String {
        vec!["?"; self.views.len()].join(", ")
    }
}

#[async_trait]
impl ProjectionStore for SqliteShadow {
    async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
        if projector != self.projector {
            return Err(StoreError::new(format_args!(
                "the shadow of {} has no checkpoint for {projector}",
                self.projector
            )));
        }
        Ok(self.at())
    }

    /// A shadow is never switched while it is built.
    async fn switches(&self, _projector: &str) -> Result<u64, StoreError> {
        Ok(0)
    }

    async fn load_document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE view = ? AND id = ?", self.table);
        let query = sqlx::query_scalar::<_, String>(&sql).bind(view).bind(id);
        let mut switching = self.switching.lock().await;
        let body = match switching.as_mut() {
            Some(tx) => query.fetch_optional(&mut **tx).await,
            None => query.fetch_optional(&self.pool).await,
        }
        .map_err(store_error)?;
        body.map(|body| {
            serde_json::from_str(&body)
                .map_err(|e| StoreError::new(format_args!("shadow document {view}/{id}: {e}")))
        })
        .transpose()
    }

    async fn commit(
        &self,
        projector: &str,
        from: Cursor,
        to: Cursor,
        changes: Vec<DocumentChange>,
    ) -> Result<CommitOutcome, StoreError> {
        if projector != self.projector || self.at() != from {
            return Ok(CommitOutcome::CheckpointMoved);
        }
        let mut switching = self.switching.lock().await;
        let mut own = None;
        let tx = match switching.as_mut() {
            Some(tx) => tx,
            None => own.insert(
                self.pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(store_error)?,
            ),
        };
        let upsert = format!(
            "INSERT INTO {} (view, id, body) VALUES (?, ?, ?) \
             ON CONFLICT (view, id) DO UPDATE SET body = excluded.body",
            self.table
        );
        let delete = format!("DELETE FROM {} WHERE view = ? AND id = ?", self.table);
        for change in changes {
            let (view, id, body) = match change {
                DocumentChange::Upsert { view, id, body } => (view, id, Some(body)),
                DocumentChange::Delete { view, id } => (view, id, None),
            };
            if !self.views.contains(&view.as_str()) {
                return Err(StoreError::new(format_args!(
                    "{} wrote view {view}, which it does not declare",
                    self.projector
                )));
            }
            let query = match body {
                Some(body) => sqlx::query(&upsert)
                    .bind(view)
                    .bind(id)
                    .bind(body.to_string()),
                None => sqlx::query(&delete).bind(view).bind(id),
            };
            query.execute(&mut **tx).await.map_err(store_error)?;
        }
        if let Some(tx) = own {
            tx.commit().await.map_err(store_error)?;
        }
        *self
            .checkpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = to;
        Ok(CommitOutcome::Committed)
    }
}

#[async_trait]
impl ShadowProjection for SqliteShadow {
    async fn lock_live(&self) -> Result<Cursor, StoreError> {
        let mut switching = self.switching.lock().await;
        if switching.is_some() {
            return Err(StoreError::new("the live projection is locked already"));
        }
        // IMMEDIATE takes the write lock now, waiting for a projector batch that holds it.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        let live = live_checkpoint(&mut tx, self.projector).await?;
        *switching = Some(tx);
        Ok(live)
    }

    async fn switch_in(&self) -> Result<Cursor, StoreError> {
        let mut switching = self.switching.lock().await;
        let Some(mut tx) = switching.take() else {
            return Err(StoreError::new("switching needs the live lock first"));
        };
        let to = self.at();
        let live = live_checkpoint(&mut tx, self.projector).await?;
        if live > to {
            return Err(StoreError::new(format_args!(
                "the live {} is past the shadow ({live:?} > {to:?}): not switched",
                self.projector
            )));
        }
        let now = timestamp(Utc::now());
        let sql = format!(
            "DELETE FROM read_documents WHERE view IN ({})",
            self.views_in()
        );
        let mut live_delete = sqlx::query(&sql);
        for view in self.views {
            live_delete = live_delete.bind(*view);
        }
        live_delete.execute(&mut *tx).await.map_err(store_error)?;
        sqlx::query(&format!(
            "INSERT INTO read_documents (view, id, body, updated_at) \
             SELECT view, id, body, ? FROM {}",
            self.table
        ))
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (projector, tx, position, updated_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (projector) DO UPDATE \
             SET tx = excluded.tx, position = excluded.position, updated_at = excluded.updated_at",
        )
        .bind(self.projector)
        .bind(i64::try_from(to.tx).map_err(store_error)?)
        .bind(to.position)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (projector, tx, position, updated_at) \
             VALUES (?, 0, 1, ?) ON CONFLICT (projector) DO UPDATE \
             SET position = position + 1, updated_at = excluded.updated_at",
        )
        .bind(runtime::rebuild::switch_marker(self.projector))
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query(&format!("DROP TABLE {}", self.table))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(to)
    }
}

async fn live_checkpoint(
    tx: &mut Transaction<'static, Sqlite>,
    projector: &str,
) -> Result<Cursor, StoreError> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT tx, position FROM projection_checkpoints WHERE projector = ?")
            .bind(projector)
            .fetch_optional(&mut **tx)
            .await
            .map_err(store_error)?;
    Ok(match row {
        None => Cursor::START,
        Some((tx, position)) => Cursor {
            tx: u64::try_from(tx).map_err(store_error)?,
            position,
        },
    })
}
