//! A projection's shadow, for rebuilding it while the live one serves (ADR 0049).
//!
//! The shadow is an unlogged table of its own, `rebuild_<projector>`, shaped like
//! `read_documents`; the switch replaces the projection's views in `read_documents` with its
//! rows in the one transaction that sets the checkpoint. From [`lock_live`] to the switch's
//! commit the rebuild holds the projection's checkpoint row (`FOR UPDATE`): a projector batch
//! moves that row before it writes a document, so it waits, then finds the checkpoint moved
//! and writes nothing. Readers go on reading the old documents until the commit (MVCC).
//! Before that lock the switch waits for every transaction older than its own to end, so that
//! from then on no feed reader sees an event the shadow will not have read.
//!
//! [`lock_live`]: runtime::ShadowProjection::lock_live

use async_trait::async_trait;
use runtime::{
    CommitOutcome, Cursor, DocumentChange, Projection, ProjectionStore, Rebuilds, ShadowProjection,
    StoreError,
};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};

use crate::{store_error, PostgresStore};

/// How long the switch waits for the transactions older than its own to end.
const OLDER_TRANSACTIONS_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The shadow of one projection's views.
pub struct PostgresShadow {
    pool: PgPool,
    projector: &'static str,
    views: &'static [&'static str],
    table: String,
    checkpoint: std::sync::Mutex<Cursor>,
    /// The switching transaction, once the live lock is taken; every shadow write goes
    /// through it from then on (another connection could not write while it holds the lock).
    switching: tokio::sync::Mutex<Option<Transaction<'static, Postgres>>>,
}

#[async_trait]
impl Rebuilds for PostgresStore {
    type Shadow = PostgresShadow;

    async fn shadow(&self, projection: &dyn Projection) -> Result<PostgresShadow, StoreError> {
        let table = runtime::rebuild::shadow_table(projection.name())?;
        // A leftover of a crashed rebuild is dropped: the shadow starts from the feed's start.
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        sqlx::query(&format!(
            "CREATE UNLOGGED TABLE {table} (view text NOT NULL, id text COLLATE \"C\" NOT NULL, \
             body json NOT NULL, PRIMARY KEY (view, id))"
        ))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(PostgresShadow {
            pool: self.pool.clone(),
            projector: projection.name(),
            views: projection.views(),
            table,
            checkpoint: std::sync::Mutex::new(Cursor::START),
            switching: tokio::sync::Mutex::new(None),
        })
    }
}

impl PostgresShadow {
    fn at(&self) -> Cursor {
        *self
            .checkpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn views(&self) -> Vec<String> {
        self.views.iter().map(|view| (*view).to_owned()).collect()
    }
}

#[async_trait]
impl ProjectionStore for PostgresShadow {
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
        let sql = format!(
            "SELECT body FROM {} WHERE view = $1 AND id = $2",
            self.table
        );
        let query = sqlx::query_scalar::<_, Value>(&sql).bind(view).bind(id);
        let mut switching = self.switching.lock().await;
        match switching.as_mut() {
            Some(tx) => query.fetch_optional(&mut **tx).await,
            None => query.fetch_optional(&self.pool).await,
        }
        .map_err(store_error)
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
            None => own.insert(self.pool.begin().await.map_err(store_error)?),
        };
        let upsert = format!(
            "INSERT INTO {} (view, id, body) VALUES ($1, $2, $3::jsonb::json) \
             ON CONFLICT (view, id) DO UPDATE SET body = excluded.body",
            self.table
        );
        let delete = format!("DELETE FROM {} WHERE view = $1 AND id = $2", self.table);
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
                Some(body) => sqlx::query(&upsert).bind(view).bind(id).bind(Json(body)),
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
impl ShadowProjection for PostgresShadow {
    async fn lock_live(&self) -> Result<Cursor, StoreError> {
        let mut switching = self.switching.lock().await;
        if switching.is_some() {
            return Err(StoreError::new("the live projection is locked already"));
        }
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // This transaction's xid holds the feed (`tx_id < xmin`, see `feed.rs`): until it
        // commits, nobody reads an event of a newer transaction. Once every older one has
        // ended, the feed shows everyone all it will show before the switch, so a running
        // projector cannot read an event the shadow will not have read, and load the old
        // documents for it. Waited for before taking any lock: an older transaction blocked
        // on one this one holds would never end.
        let own: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
            .fetch_one(&mut *tx)
            .await
            .map_err(store_error)?;
        let deadline = tokio::time::Instant::now() + OLDER_TRANSACTIONS_WAIT;
        loop {
            let ended: bool = sqlx::query_scalar(
                "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::text::xid8",
            )
            .bind(&own)
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)?;
            if ended {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::new(format_args!(
                    "transactions older than the switch of {} did not end within {:?}",
                    self.projector, OLDER_TRANSACTIONS_WAIT
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // A projection that never committed gets its row at the start (which reads as no row),
        // so that there is a row to lock; its first batch then finds it and moves it.
        sqlx::query(
            "INSERT INTO projection_checkpoints (projector, tx, position, updated_at) \
             VALUES ($1, 0, 0, now()) ON CONFLICT (projector) DO NOTHING",
        )
        .bind(self.projector)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        // Waits for a projector batch that holds it (a newer transaction, which read no event
        // of a transaction newer than this one); holds off every later one until the switch.
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
        sqlx::query("DELETE FROM read_documents WHERE view = ANY($1)")
            .bind(self.views())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        sqlx::query(&format!(
            "INSERT INTO read_documents (view, id, body, updated_at) \
             SELECT view, id, body, now() FROM {}",
            self.table
        ))
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query(
            "UPDATE projection_checkpoints SET tx = $1, position = $2, updated_at = now() \
             WHERE projector = $3",
        )
        .bind(i64::try_from(to.tx).map_err(store_error)?)
        .bind(to.position)
        .bind(self.projector)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (projector, tx, position, updated_at) \
             VALUES ($1, 0, 1, now()) ON CONFLICT (projector) DO UPDATE \
             SET position = projection_checkpoints.position + 1, updated_at = now()",
        )
        .bind(runtime::rebuild::switch_marker(self.projector))
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
    tx: &mut Transaction<'static, Postgres>,
    projector: &str,
) -> Result<Cursor, StoreError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT tx, position FROM projection_checkpoints WHERE projector = $1 FOR UPDATE",
    )
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
