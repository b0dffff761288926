//! Leases as session advisory locks, each on a connection of its own (ADR 0015).

use async_trait::async_trait;
use runtime::{Lease, Leases, StoreError};
use sqlx::{Connection, PgConnection};

use crate::{store_error, PostgresStore};

/// Holds `pg_advisory_lock` on its own session: the database releases the lock when the
/// session ends, however its holder died.
struct AdvisoryLease {
    connection: Option<PgConnection>,
}

#[async_trait]
impl Lease for AdvisoryLease {
    async fn is_held(&mut self) -> bool {
        let Some(connection) = self.connection.as_mut() else {
            return false;
        };
        if connection.ping().await.is_ok() {
            return true;
        }
        // The session, and the lock with it, is gone; never try this connection again.
        self.connection = None;
        false
    }
}

#[async_trait]
impl Leases for PostgresStore {
    async fn try_acquire(&self, name: &str) -> Result<Option<Box<dyn Lease>>, StoreError> {
        // A connection taken out of the pool for good: the lock lives and dies with it.
        let mut connection = self.pool.acquire().await.map_err(store_error)?.detach();
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                .bind(format!("commerce.lease.{name}"))
                .fetch_one(&mut connection)
                .await
                .map_err(store_error)?;
        if !taken {
            let _ = connection.close().await;
            return Ok(None);
        }
        Ok(Some(Box::new(AdvisoryLease {
            connection: Some(connection),
        })))
    }
}
