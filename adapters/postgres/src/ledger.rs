//! The sandbox provider's ledger in the shared database (ADR 0041).

use async_trait::async_trait;
use runtime::{LedgerEntry, LedgerKey, ProviderLedger, StoreError};
use sqlx::{Postgres, Transaction};

use crate::{store_error, PostgresStore};

/// The records of one request, locked by the open transaction until it ends.
struct LockedRecords {
    transaction: Transaction<'static, Postgres>,
    records: Vec<(LedgerKey, String)>,
}

#[async_trait]
impl LedgerEntry for LockedRecords {
    fn records(&self) -> &[(LedgerKey, String)] {
        &self.records
    }

    async fn commit(
        mut self: Box<Self>,
        writes: Vec<(LedgerKey, String)>,
    ) -> Result<(), StoreError> {
        if !writes.is_empty() {
            let kinds: Vec<&str> = writes.iter().map(|(key, _)| key.kind).collect();
            let names: Vec<&str> = writes.iter().map(|(key, _)| key.key.as_str()).collect();
            let records: Vec<&str> = writes.iter().map(|(_, record)| record.as_str()).collect();
            sqlx::query(
                "INSERT INTO sandbox_ledger (kind, key, record) \
                 SELECT kind, key, record::jsonb \
                 FROM unnest($1::text[], $2::text[], $3::text[]) AS written (kind, key, record) \
                 ON CONFLICT (kind, key) DO UPDATE SET record = excluded.record",
            )
            .bind(&kinds)
            .bind(&names)
            .bind(&records)
            .execute(&mut *self.transaction)
            .await
            .map_err(store_error)?;
        }
        self.transaction.commit().await.map_err(store_error)
    }
}

#[async_trait]
impl ProviderLedger for PostgresStore {
    async fn open(&self, keys: &[LedgerKey]) -> Result<Box<dyn LedgerEntry>, StoreError> {
        let mut sorted = keys.to_vec();
        sorted.sort();
        sorted.dedup();
        let mut transaction = self.pool.begin().await.map_err(store_error)?;
        // Transaction-scoped: released at commit or rollback, and by the database when the
        // session dies. Taken in one statement, in the order of the locks' own numbers, so two
        // requests never wait on each other in a circle (not even when two names share a
        // number). A record that does not exist yet is locked too, unlike with a row lock.
        let names: Vec<String> = sorted
            .iter()
            .map(|key| format!("commerce.sandbox.{}.{}", key.kind, key.key))
            .collect();
        sqlx::query(
            "SELECT pg_advisory_xact_lock(lock) FROM \
             (SELECT DISTINCT hashtextextended(name, 0) AS lock FROM unnest($1::text[]) AS name \
              ORDER BY lock) AS locks",
        )
        .bind(&names)
        .execute(&mut *transaction)
        .await
        .map_err(store_error)?;
        // Read in a statement of its own, after the locks: under READ COMMITTED it takes a
        // snapshot that holds what the previous holder of a lock committed. A read in the
        // locking statement would see the snapshot from before it waited.
        let kinds: Vec<&str> = sorted.iter().map(|key| key.kind).collect();
        let names: Vec<&str> = sorted.iter().map(|key| key.key.as_str()).collect();
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT l.kind, l.key, l.record::text FROM sandbox_ledger l \
             JOIN unnest($1::text[], $2::text[]) AS asked (kind, key) \
               ON l.kind = asked.kind AND l.key = asked.key",
        )
        .bind(&kinds)
        .bind(&names)
        .fetch_all(&mut *transaction)
        .await
        .map_err(store_error)?;
        let records = rows
            .into_iter()
            .filter_map(|(kind, key, record)| {
                // Only kinds that were asked for come back; map them to the caller's names.
                let kind = sorted.iter().find(|asked| asked.kind == kind)?.kind;
                Some((LedgerKey::new(kind, key), record))
            })
            .collect();
        Ok(Box::new(LockedRecords {
            transaction,
            records,
        }))
    }
}
