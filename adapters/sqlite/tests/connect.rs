//! Opening the embedded database: the file and its directory appear on first use, and every
//! pooled connection is configured for durability and for waiting on the write lock.

use sqlite_store::SqliteStore;

fn scratch_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sqlite-store-{}", uuid::Uuid::new_v4().simple()))
}

#[tokio::test]
async fn connect_creates_the_file_and_its_directory_from_a_url() {
    let file = scratch_dir().join("nested").join("commerce.db");

    let store = SqliteStore::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();

    assert!(file.exists());
    assert!(!store.has_events().await.unwrap());
}

#[tokio::test]
async fn connections_use_wal_full_sync_and_a_busy_timeout() {
    let file = scratch_dir().join("commerce.db");
    let store = SqliteStore::connect(file.to_str().unwrap()).await.unwrap();

    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();

    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "FULL");
    assert_eq!(busy_timeout, 5000);
}

#[tokio::test]
async fn reconnecting_keeps_the_data_and_skips_applied_migrations() {
    let file = scratch_dir().join("commerce.db");
    let path = file.to_str().unwrap();
    let first = SqliteStore::connect(path).await.unwrap();
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
         event_version, payload, metadata) VALUES ('t', 'a', 1, 'E', '1', '{}', '{}')",
    )
    .execute(first.pool())
    .await
    .unwrap();
    first.pool().close().await;

    let second = SqliteStore::connect(path).await.unwrap();

    assert!(second.has_events().await.unwrap());
}
