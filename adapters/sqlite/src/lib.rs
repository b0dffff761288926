//! The embedded SQLite storage adapter: the default store, with no server to install.
//!
//! One database file holds the sqlite-es event store, the global feed over it, read-model
//! documents with their projection checkpoints, idempotency keys, and webhook endpoints with
//! their delivery queues. [`SqliteStore`] implements every runtime storage port;
//! [`SqliteStore::event_repository`] hands the event store to `runtime::EventSourcedExecutor`.
//!
//! SQLite has one writer at a time, so the order in which events get their position (an
//! AUTOINCREMENT key in `event_positions`, assigned by a trigger in the inserting transaction)
//! is the order in which they commit; the cursor's `tx` is always 0 (see ADR 0005).
//! Migrations are embedded and run on connect.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use runtime::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// The event repository: sqlite-es's reads with this store's append.
pub use events::SqliteEventRepository;
pub use rebuild::SqliteShadow;

mod api_keys;
mod customers;
mod deadlines;
mod events;
mod feed;
mod gauges;
mod idempotency;
mod order_numbers;
mod personal_keys;
mod profiles;
mod projection;
mod rebuild;
mod shipping_zones;
mod tokens;
mod webhooks;

const MAX_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite store. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// One process serves the file, so a lease is an in-process lock (ADR 0015).
    leases: runtime::LocalLeases,
    /// This opening of the file, as the holder of the idempotency claims it makes: one
    /// process serves the file, so a claim any other opening made belongs to a process that
    /// is gone.
    instance: uuid::Uuid,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database at `url`, which is either
    /// an `sqlite://path/to/file.db` URL or a plain file path, and runs the migrations.
    ///
    /// Connections use WAL journaling, `synchronous=FULL` (a committed event survives a power
    /// loss) and wait up to 5 s for the write lock before failing with `SQLITE_BUSY`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(store_error)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        create_parent_dir(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(store_error)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::new(format_args!("migrating the SQLite database: {e}")))?;
        Ok(Self {
            pool,
            leases: runtime::LocalLeases::default(),
            instance: uuid::Uuid::now_v7(),
        })
    }

    /// The connection pool, for adapters that keep further tables in the same database.
    pub fn pool(&self) -> &SqlitePool {
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

    /// The event repository over this database (snapshots off): sqlite-es reads, and this
    /// store appends and learns where the events landed (ADR 0040).
    pub fn event_repository(&self) -> SqliteEventRepository {
        events::repository(self.pool.clone())
    }

    /// How many migrations this build embeds: a store holding fewer is migrated when opened.
    pub fn embedded_migrations() -> usize {
        sqlx::migrate!("./migrations").migrations.len()
    }

    /// Looks at the database file at `path` without creating, migrating or writing anything:
    /// SQLite's version and, when the file exists, the migrations it holds (count, latest).
    /// `Ok((version, None))` when there is no file yet.
    pub async fn probe(path: &Path) -> Result<(String, Option<(i64, i64)>), StoreError> {
        use sqlx::Connection;
        let mut memory = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .map_err(store_error)?;
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&mut memory)
            .await
            .map_err(store_error)?;
        if !path.exists() {
            return Ok((version, None));
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut connection = sqlx::SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::new(format_args!("opening {}: {e}", path.display())))?;
        let has_migrations: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations')",
        )
        .fetch_one(&mut connection)
        .await
        .map_err(|e| StoreError::new(format_args!("reading {}: {e}", path.display())))?;
        if !has_migrations {
            return Ok((version, Some((0, 0))));
        }
        let applied =
            sqlx::query_as("SELECT count(*), coalesce(max(version), 0) FROM _sqlx_migrations")
                .fetch_one(&mut connection)
                .await
                .map_err(|e| StoreError::new(format_args!("reading {}: {e}", path.display())))?;
        Ok((version, Some(applied)))
    }

    /// Writes a consistent copy of the database at `from` to `to`, a file that must not
    /// exist, while a server may be using it: `VACUUM INTO` reads in one transaction, which in
    /// WAL mode never blocks a writer, and writes a compact, self-contained database (no WAL
    /// beside it). The connection is read-only: a backup never migrates or changes the store.
    pub async fn backup(from: &Path, to: &Path) -> Result<(), StoreError> {
        use sqlx::Connection;
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::new(format_args!("{} is not UTF-8", to.display())))?;
        let options = SqliteConnectOptions::new()
            .filename(from)
            .read_only(true)
            .busy_timeout(BUSY_TIMEOUT);
        let mut connection = sqlx::SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::new(format_args!("opening {}: {e}", from.display())))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut connection)
            .await
            .map_err(|e| StoreError::new(format_args!("backing up into {target}: {e}")))?;
        let _ = connection.close().await;
        Ok(())
    }

    /// How many events the database file at `path` holds, read without writing anything.
    pub async fn count_events(path: &Path) -> Result<i64, StoreError> {
        use sqlx::Connection;
        let options = SqliteConnectOptions::new().filename(path).read_only(true);
        let mut connection = sqlx::SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StoreError::new(format_args!("opening {}: {e}", path.display())))?;
        let count = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut connection)
            .await
            .map_err(|e| {
                StoreError::new(format_args!(
                    "counting the events of {}: {e}",
                    path.display()
                ))
            })?;
        let _ = connection.close().await;
        Ok(count)
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
impl runtime::HealthCheck for SqliteStore {
    async fn ready(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(store_error)
    }
}

#[async_trait::async_trait]
impl runtime::Leases for SqliteStore {
    async fn try_acquire(&self, name: &str) -> Result<Option<Box<dyn runtime::Lease>>, StoreError> {
        self.leases.try_acquire(name).await
    }
}

fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::new(format_args!("creating directory {}: {e}", dir.display()))
        }),
        _ => Ok(()),
    }
}

fn store_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format_args!("sqlite: {error}"))
}

/// Timestamps are stored as fixed-width UTC text, so that comparing the text compares times.
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}
