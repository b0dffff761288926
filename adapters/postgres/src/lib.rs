//! The PostgreSQL storage adapter, for deployments where many app instances share a database.
//!
//! One database holds the postgres-es event store, the global feed over it, read-model
//! documents with their projection checkpoints, idempotency keys, and webhook endpoints with
//! their delivery queues. [`PostgresStore`] implements every runtime storage port;
//! [`PostgresStore::event_repository`] hands the event store to `runtime::EventSourcedExecutor`.
//!
//! The feed cursor is the pair (appending transaction id, global position), and the feed never
//! passes the oldest transaction still running, so an event that commits late is never skipped
//! (see ADR 0005). Migrations are embedded and run on connect.

use runtime::StoreError;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// The event repository: postgres-es's reads with this store's one-statement append.
pub use events::PostgresEventRepository;
pub use rebuild::PostgresShadow;

mod api_keys;
mod customers;
mod deadlines;
mod events;
mod feed;
mod gauges;
mod idempotency;
mod lease;
mod ledger;
mod notify;
mod order_numbers;
mod personal_keys;
mod profiles;
mod projection;
mod rebuild;
mod shipping_zones;
mod tokens;
mod webhooks;

const MAX_CONNECTIONS: u32 = 16;

/// What [`PostgresStore::in_exported_snapshot`] saw in its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotFacts {
    pub events: i64,
    /// The newest transaction id among the events (0: none). The feed orders by it, so a
    /// copy restored where transaction ids have not yet passed it would be hidden from every
    /// feed reader, and new events would sort before it.
    pub newest_tx: u64,
}

/// The PostgreSQL store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The server process ids of this store's pooled connections.
    own_backends: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<u32>>>,
    /// This instance, as the holder of the idempotency claims it makes.
    instance: uuid::Uuid,
    /// A connection of its own holding the instance's session-level advisory lock for as long
    /// as the store lives: when the process dies, the database drops the session and the lock
    /// with it, which tells other instances that this one's claims have no live holder.
    _liveness: std::sync::Arc<tokio::sync::Mutex<sqlx::PgConnection>>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/database`) and runs the
    /// migrations; instances starting together serialize on sqlx's migration lock.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let own_backends = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::<
            u32,
        >::new()));
        let recording = own_backends.clone();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // Each connection's server process, so that notifications this instance caused
            // can be told from other instances' (a reused process id of a closed connection
            // only makes a notification from elsewhere look like ours: the waiters' rechecks
            // still see it).
            .after_connect(move |connection, _| {
                let recording = recording.clone();
                Box::pin(async move {
                    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                        .fetch_one(&mut *connection)
                        .await?;
                    if let Ok(pid) = u32::try_from(pid) {
                        recording
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .insert(pid);
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(store_error)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::new(format_args!("migrating the PostgreSQL database: {e}")))?;
        let instance = uuid::Uuid::now_v7();
        let mut liveness = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .map_err(store_error)?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(idempotency::liveness_key(instance))
            .execute(&mut liveness)
            .await
            .map_err(store_error)?;
        Ok(Self {
            pool,
            own_backends,
            instance,
            _liveness: std::sync::Arc::new(tokio::sync::Mutex::new(liveness)),
        })
    }

    /// Whether the server process `pid` serves one of this store's connections.
    fn is_own_backend(&self, pid: u32) -> bool {
        self.own_backends
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&pid)
    }

    /// The connection pool, for adapters that keep further tables in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// How many of the embedded migrations the database holds, and the latest one's version
    /// (all of them once `connect` returned: it applies what is missing).
    pub async fn applied_migrations(&self) -> Result<(i64, i64), StoreError> {
        sqlx::query_as("SELECT count(*), coalesce(max(version), 0) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::new(format_args!("reading the applied migrations: {e}")))
    }

    /// The event repository over this database (snapshots off): postgres-es reads, and one
    /// statement per command appends and returns where its events landed (ADR 0040).
    pub fn event_repository(&self) -> PostgresEventRepository {
        events::repository(self.pool.clone())
    }

    /// How many migrations this build embeds: a store holding fewer is migrated when opened.
    pub fn embedded_migrations() -> usize {
        sqlx::migrate!("./migrations").migrations.len()
    }

    /// Connects to `url` without migrating or writing anything: the server's version, the
    /// migrations the database holds (count, latest; `None` when it has none of ours), and how
    /// many tables the current schema has.
    pub async fn probe(url: &str) -> Result<(String, Option<(i64, i64)>, i64), StoreError> {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| StoreError::new(format_args!("connecting to PostgreSQL: {e}")))?;
        let version: String = sqlx::query_scalar("SELECT current_setting('server_version')")
            .fetch_one(&mut connection)
            .await
            .map_err(store_error)?;
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
        )
        .fetch_one(&mut connection)
        .await
        .map_err(store_error)?;
        let has_migrations: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&mut connection)
                .await
                .map_err(store_error)?;
        let applied = if has_migrations {
            Some(
                sqlx::query_as("SELECT count(*), coalesce(max(version), 0) FROM _sqlx_migrations")
                    .fetch_one(&mut connection)
                    .await
                    .map_err(store_error)?,
            )
        } else {
            None
        };
        let _ = connection.close().await;
        Ok((version, applied, tables))
    }

    /// Opens a repeatable-read transaction on `url`, exports its snapshot, counts the events
    /// it sees (and the newest transaction id among them) and hands the snapshot's name to
    /// `work` (which runs `pg_dump --snapshot`, say) while the transaction holds it: whatever
    /// `work` reads is exactly what was counted. `work` may block: it runs in place on this
    /// worker thread, which the multi-threaded runtime replaces meanwhile.
    pub async fn in_exported_snapshot<T>(
        url: &str,
        work: impl FnOnce(&str) -> T,
    ) -> Result<(T, SnapshotFacts), StoreError> {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| StoreError::new(format_args!("connecting to PostgreSQL: {e}")))?;
        let mut transaction = connection.begin().await.map_err(store_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *transaction)
            .await
            .map_err(store_error)?;
        let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
            .fetch_one(&mut *transaction)
            .await
            .map_err(store_error)?;
        let (events, newest): (i64, String) =
            sqlx::query_as("SELECT count(*), coalesce(max(tx_id)::text, '0') FROM events")
                .fetch_one(&mut *transaction)
                .await
                .map_err(store_error)?;
        let newest_tx = newest.parse().map_err(store_error)?;
        let done = tokio::task::block_in_place(|| work(&snapshot));
        // Read only: whether its end is acknowledged changes nothing `work` did.
        let _ = transaction.commit().await;
        Ok((done, SnapshotFacts { events, newest_tx }))
    }

    /// The transaction id every transaction starting now will be past (the oldest still
    /// running, or the next to be given): the feed shows an event only below it (ADR 0005).
    pub async fn transaction_horizon(url: &str) -> Result<u64, StoreError> {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| StoreError::new(format_args!("connecting to PostgreSQL: {e}")))?;
        let horizon: String =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                .fetch_one(&mut connection)
                .await
                .map_err(store_error)?;
        let _ = connection.close().await;
        horizon.parse().map_err(store_error)
    }

    /// A session holding the advisory lock `key`, or `None` when another session holds it.
    /// The lock lasts as long as the returned connection: dropped, or its process killed,
    /// it is released.
    pub async fn exclusive_session(
        url: &str,
        key: i64,
    ) -> Result<Option<sqlx::PgConnection>, StoreError> {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| StoreError::new(format_args!("connecting to PostgreSQL: {e}")))?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut connection)
            .await
            .map_err(store_error)?;
        Ok(locked.then_some(connection))
    }

    /// How many events the store holds.
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)
    }

    /// Whether any event was ever appended (an empty store gets the demo catalog).
    pub async fn has_events(&self) -> Result<bool, StoreError> {
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM events)")
            .fetch_one(&self.pool)
            .await
            .map_err(store_error)
    }
}

#[async_trait::async_trait]
impl runtime::HealthCheck for PostgresStore {
    async fn ready(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(store_error)
    }
}

fn store_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format_args!("postgres: {error}"))
}
