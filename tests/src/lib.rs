//! Workspace-level acceptance, contract and architecture tests live in `tests/`; this library
//! holds what they share.

pub mod golden {
    //! The golden stored events under `tests/golden/events/<version>/`: one stored row per
    //! event type for every stored format there has been (ADR 0014).

    use std::path::{Path, PathBuf};

    use serde::{Deserialize, Serialize};
    use serde_json::Value;

    /// Every stored format, oldest first.
    pub const VERSIONS: [&str; 2] = ["v1", "v2"];
    /// The format written today.
    pub const CURRENT: &str = "v2";

    /// One stored row, exactly as the `events` table holds it.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct GoldenEvent {
        pub aggregate_type: String,
        pub aggregate_id: String,
        pub sequence: u64,
        pub event_type: String,
        pub event_version: String,
        pub payload: Value,
        pub metadata: Value,
    }

    pub fn dir(version: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("golden/events")
            .join(version)
    }

    pub fn path(version: &str, name: &str) -> PathBuf {
        dir(version).join(format!("{name}.json"))
    }

    pub fn read(path: &Path) -> GoldenEvent {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{}: cannot be read: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not a golden event file: {e}", path.display()))
    }

    /// The golden rows of one stored format, by name (`<aggregate_type>.<EventType>`), sorted.
    pub fn of_version(version: &str) -> Vec<(String, GoldenEvent)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir(version))
            .expect("the golden directory exists")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let name = path
                    .file_stem()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned();
                let golden = read(&path);
                (name, golden)
            })
            .collect()
    }

    /// Stores `row` as it is, bypassing every codec, in stream `aggregate_id` at `sequence`.
    pub async fn insert_into_sqlite(
        pool: &sqlx::SqlitePool,
        row: &GoldenEvent,
        aggregate_id: &str,
        sequence: u64,
    ) {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.aggregate_type)
        .bind(aggregate_id)
        .bind(sequence as i64)
        .bind(&row.event_type)
        .bind(&row.event_version)
        .bind(row.payload.to_string())
        .bind(row.metadata.to_string())
        .execute(pool)
        .await
        .unwrap();
    }

    /// [`insert_into_sqlite`], on PostgreSQL.
    pub async fn insert_into_postgres(
        pool: &sqlx::PgPool,
        row: &GoldenEvent,
        aggregate_id: &str,
        sequence: u64,
    ) {
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6::json, $7::json)",
        )
        .bind(&row.aggregate_type)
        .bind(aggregate_id)
        .bind(sequence as i64)
        .bind(&row.event_type)
        .bind(&row.event_version)
        .bind(row.payload.to_string())
        .bind(row.metadata.to_string())
        .execute(pool)
        .await
        .unwrap();
    }

    /// Every golden row of every stored format, named `<version>/<name>`.
    pub fn all() -> Vec<(String, GoldenEvent)> {
        VERSIONS
            .iter()
            .flat_map(|version| {
                of_version(version)
                    .into_iter()
                    .map(move |(name, golden)| (format!("{version}/{name}"), golden))
            })
            .collect()
    }
}

pub mod support {
    //! Fresh stores for tests: every call gets a database of its own, so tests never see each
    //! other's events and can run in parallel.
    //!
    //! PostgreSQL is required, never skipped: a suite that silently passes without its
    //! database proves nothing. Point `TEST_DATABASE_URL` at a server where the user may
    //! create databases (default `postgres://postgres@127.0.0.1:5432/postgres`).
    //!
    //! Test databases are named `commerce_test_<uuid v7>`; the UUID carries the creation time,
    //! so each new one first drops those left over from runs more than an hour old.

    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use postgres_store::PostgresStore;
    use runtime::{Cursor, EventFeed, FeedEvent};
    use sqlite_store::SqliteStore;
    use sqlx::{Connection, PgConnection};
    use uuid::Uuid;

    const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    const HOW_TO_START_POSTGRES: &str = "Start the local server with \
        `pg_ctlcluster --skip-systemctl-redirect 15 main start`, or set TEST_DATABASE_URL to a \
        server where the user may create databases.";

    const TEST_DATABASE_PREFIX: &str = "commerce_test_";

    /// Test databases older than this are leftovers of finished runs.
    const LEFTOVER_AFTER: Duration = Duration::from_secs(60 * 60);

    /// How long [`read_feed`] waits for events to become visible.
    const FEED_DEADLINE: Duration = Duration::from_secs(10);

    /// A migrated store on a new, empty PostgreSQL database.
    pub async fn fresh_postgres() -> PostgresStore {
        fresh_postgres_with_url().await.0
    }

    /// Like [`fresh_postgres`], also returning the new database's URL.
    pub async fn fresh_postgres_with_url() -> (PostgresStore, String) {
        let url = fresh_postgres_url().await;
        let store = PostgresStore::connect(&url)
            .await
            .unwrap_or_else(|error| panic!("connecting to test database {url}: {error}"));
        (store, url)
    }

    /// The URL of a new, empty PostgreSQL database (not migrated yet: the app migrates on
    /// start).
    pub async fn fresh_postgres_url() -> String {
        let server_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let mut admin = match PgConnection::connect(&server_url).await {
            Ok(admin) => admin,
            Err(error) => panic!(
                "PostgreSQL is required by the tests but {server_url} is unreachable: {error}.\n\
                 {HOW_TO_START_POSTGRES}"
            ),
        };
        drop_leftover_databases(&mut admin).await;
        let database = format!("{TEST_DATABASE_PREFIX}{}", Uuid::now_v7().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE {database}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("creating test database {database}: {error}"));
        // Closing is a courtesy; the database exists either way.
        let _ = admin.close().await;
        with_database(&server_url, &database)
    }

    /// A migrated store on a new SQLite file in a directory of its own under the temp dir.
    pub async fn fresh_sqlite() -> SqliteStore {
        fresh_sqlite_with_path().await.0
    }

    /// Like [`fresh_sqlite`], also returning the database file's path.
    pub async fn fresh_sqlite_with_path() -> (SqliteStore, PathBuf) {
        let path = std::env::temp_dir()
            .join(format!("commerce-test-{}", Uuid::new_v4().simple()))
            .join("commerce.db");
        let url = path.to_str().expect("the temp dir path is UTF-8");
        let store = SqliteStore::connect(url)
            .await
            .unwrap_or_else(|error| panic!("opening test database {url}: {error}"));
        (store, path)
    }

    /// Reads the feed after `after` until at least `expected` events are visible or a deadline
    /// passes, and returns what it read (the caller asserts on it).
    ///
    /// PostgreSQL withholds events while any older transaction in the cluster is running, and
    /// tests on other databases of the same server run concurrently, so a freshly appended
    /// event may take a moment to appear.
    pub async fn read_feed(feed: &dyn EventFeed, after: Cursor, expected: usize) -> Vec<FeedEvent> {
        let deadline = tokio::time::Instant::now() + FEED_DEADLINE;
        loop {
            let events = feed
                .read_after(after, expected.max(1000))
                .await
                .expect("reading the feed");
            if events.len() >= expected || tokio::time::Instant::now() >= deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Drops test databases created more than [`LEFTOVER_AFTER`] ago. Best effort: a database
    /// still in use, or dropped by a concurrent test first, is left alone.
    async fn drop_leftover_databases(admin: &mut PgConnection) {
        let Ok(names) = sqlx::query_scalar::<_, String>(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
        )
        .bind(TEST_DATABASE_PREFIX)
        .fetch_all(&mut *admin)
        .await
        else {
            return;
        };
        let now = SystemTime::now();
        for name in names {
            if database_created(&name).is_some_and(|created| {
                now.duration_since(created)
                    .is_ok_and(|age| age > LEFTOVER_AFTER)
            }) {
                let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut *admin)
                    .await;
            }
        }
    }

    /// When a test database was created, read from the UUID v7 in its name.
    fn database_created(name: &str) -> Option<SystemTime> {
        let uuid = Uuid::try_parse(name.strip_prefix(TEST_DATABASE_PREFIX)?).ok()?;
        let (seconds, nanos) = uuid.get_timestamp()?.to_unix();
        Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
    }

    /// `url` with its database (the path) replaced, keeping any query parameters.
    fn with_database(url: &str, database: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let authority = base.find("://").map_or(0, |i| i + 3);
        let path = base[authority..]
            .find('/')
            .map_or(base.len(), |i| authority + i);
        let mut result = format!("{}/{database}", &base[..path]);
        if let Some(query) = query {
            result.push('?');
            result.push_str(query);
        }
        result
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn reads_the_creation_time_of_a_test_database() {
            let name = format!("{TEST_DATABASE_PREFIX}{}", Uuid::now_v7().simple());
            let created = database_created(&name).unwrap();
            let age = SystemTime::now().duration_since(created).unwrap();
            assert!(age < Duration::from_secs(5));
            assert_eq!(database_created("commerce_test_not_a_uuid"), None);
            let v4 = format!("{TEST_DATABASE_PREFIX}{}", Uuid::new_v4().simple());
            assert_eq!(database_created(&v4), None);
        }

        #[test]
        fn replaces_the_database_of_a_url() {
            assert_eq!(
                with_database("postgres://postgres@127.0.0.1:5432/postgres", "db1"),
                "postgres://postgres@127.0.0.1:5432/db1"
            );
            assert_eq!(
                with_database("postgres://u:p@host/x?sslmode=disable", "db1"),
                "postgres://u:p@host/db1?sslmode=disable"
            );
            assert_eq!(
                with_database("postgres://host", "db1"),
                "postgres://host/db1"
            );
        }
    }
}
