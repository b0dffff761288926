//! `commerce backup` and `commerce restore` on both stores (issue 13, ADR 0050): a backup
//! taken while shoppers check out restores into an empty store, where the server serves what
//! was backed up and a new load-generator run passes its audit.

mod server;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use server::{api_key, command, free_port, run_store_command as commerce, start};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("commerce-{name}-{}", uuid::Uuid::new_v4()))
}

fn load(base: &str, key: &str, secs: u64) -> loadgen::Args {
    loadgen::Args {
        base_url: vec![base.to_owned()],
        api_key: Some(key.to_owned()),
        shoppers: 4,
        duration_secs: secs,
        checkouts: None,
        warmup_secs: 0,
        token: "tok_visa".to_owned(),
        restock: Some(10_000),
        seed: 7,
        rate: None,
        // Refunds too: what they put back is in the backup, and the audit counts it.
        refund_percent: 20,
        checkout_wait_secs: 20,
    }
}

async fn wait_for_the_storefront(base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listing: Value = client
            .get(format!("{base}/v1/products?limit=100"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if listing["data"].as_array().is_some_and(|d| d.len() >= 4) {
            return;
        }
        assert!(Instant::now() < deadline, "the demo catalogue never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ids of the orders placed in the store, from its feed (`commerce events tail`).
fn placed_orders(data_dir: &Path, database_url: Option<&str>) -> Vec<String> {
    let tail = commerce(
        &["events", "tail", "--types", "orders.order_placed"],
        data_dir,
        database_url,
    );
    assert!(tail.status.success());
    String::from_utf8_lossy(&tail.stdout)
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["stream"]["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Checkouts started and not yet settled (completed, failed or handed to staff), from the feed.
fn unsettled_checkouts(data_dir: &Path, database_url: Option<&str>) -> usize {
    let tail = commerce(
        &["events", "tail", "--types", "checkout.*"],
        data_dir,
        database_url,
    );
    assert!(tail.status.success());
    let mut started = std::collections::BTreeSet::new();
    let mut settled = std::collections::BTreeSet::new();
    for line in String::from_utf8_lossy(&tail.stdout).lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        let checkout = event["stream"]["id"].as_str().unwrap().to_owned();
        match event["type"].as_str().unwrap() {
            "checkout.checkout_started" => started.insert(checkout),
            _ => settled.insert(checkout),
        };
    }
    started.difference(&settled).count()
}

/// Answers the backup's directory.
async fn back_up_under_load_then_restore(
    source: (&Path, Option<&str>),
    target: (&Path, Option<&str>),
) -> PathBuf {
    let (source_dir, source_url) = source;
    let (target_dir, target_url) = target;
    let backup = temp("backup");

    // A shop taking orders, backed up in the middle of a load-generator run.
    let key = api_key(source_dir, source_url).1;
    let port = free_port();
    let mut serve = command(source_dir, port);
    if let Some(url) = source_url {
        serve.env("DATABASE_URL", url);
    }
    let server = start(serve, port).await;
    let base = server.base.clone();
    wait_for_the_storefront(&base).await;
    let shoppers = tokio::spawn(loadgen::run(load(&base, &key, 6)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Every order placed before the backup starts is in any consistent copy of the store.
    let placed_before_the_backup = placed_orders(source_dir, source_url);
    let backed_up = {
        let (dir, url, backup) = (
            source_dir.to_owned(),
            source_url.map(str::to_owned),
            backup.clone(),
        );
        tokio::task::spawn_blocking(move || {
            commerce(&["backup", backup.to_str().unwrap()], &dir, url.as_deref())
        })
        .await
        .unwrap()
    };
    let said = String::from_utf8_lossy(&backed_up.stdout).into_owned();
    assert!(
        backed_up.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    assert!(said.starts_with("backed up "), "{said}");
    assert!(
        !shoppers.is_finished(),
        "the backup was not taken under load"
    );
    assert_eq!(
        shoppers.await.unwrap(),
        Ok(true),
        "the audit before the backup"
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let backed_up_events = manifest["events"].as_i64().unwrap();
    assert!(backed_up_events > 100, "{manifest}");
    drop(server);

    // A backup never overwrites: the same directory again is refused.
    let again = commerce(
        &["backup", backup.to_str().unwrap()],
        source_dir,
        source_url,
    );
    assert!(!again.status.success());
    assert_eq!(String::from_utf8_lossy(&again.stderr).lines().count(), 1);

    // Restored into an empty store: the events the backup counted, all of them.
    let restored = commerce(
        &["restore", backup.to_str().unwrap()],
        target_dir,
        target_url,
    );
    let said = String::from_utf8_lossy(&restored.stdout).into_owned();
    assert!(
        restored.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(
        said.starts_with(&format!("restored {backed_up_events} events from ")),
        "{said}"
    );

    // Into a store that is no longer empty: refused, one line, nothing changed.
    let refused = commerce(
        &["restore", backup.to_str().unwrap()],
        target_dir,
        target_url,
    );
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("restore goes into an empty"), "{stderr}");

    // The restored shop serves what was backed up, under the same API key, and takes new
    // orders: the load generator's audit passes on it.
    let port = free_port();
    let mut serve = command(target_dir, port);
    if let Some(url) = target_url {
        serve.env("DATABASE_URL", url);
    }
    let before = placed_orders(target_dir, target_url);
    assert!(
        before.len() >= placed_before_the_backup.len() && !placed_before_the_backup.is_empty(),
        "{} orders placed before the backup, {} came back",
        placed_before_the_backup.len(),
        before.len()
    );
    assert_eq!(
        before[..placed_before_the_backup.len()],
        placed_before_the_backup[..]
    );
    let server = start(serve, port).await;
    let base = server.base.clone();
    wait_for_the_storefront(&base).await;
    // Checkouts that were in flight when the backup was taken go on where they stood: the
    // restored shop settles them before new shoppers come (whose audit counts only theirs).
    let in_flight = unsettled_checkouts(target_dir, target_url);
    eprintln!("{in_flight} checkouts were in flight in the backup");
    let deadline = Instant::now() + Duration::from_secs(60);
    while unsettled_checkouts(target_dir, target_url) > 0 {
        assert!(
            Instant::now() < deadline,
            "the restored checkouts never settled"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let staff = server::client(&key);
    for id in &before {
        let order = staff
            .get(format!("{base}/v1/orders/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(order.status(), 200, "order {id}");
    }
    assert_eq!(
        loadgen::run(load(&base, &key, 3)).await,
        Ok(true),
        "the audit after the restore"
    );
    drop(server);
    // Every read model rebuilds from the restored events, orders and refunds included.
    let rebuilt = commerce(&["projections", "rebuild", "--all"], target_dir, target_url);
    assert!(
        rebuilt.status.success(),
        "{}{}",
        String::from_utf8_lossy(&rebuilt.stdout),
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    let after = placed_orders(target_dir, target_url);
    assert!(after.len() > before.len());
    assert_eq!(after[..before.len()], before[..]);
    backup
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_into_an_empty_embedded_store() {
    let (source, target) = (temp("source"), temp("target"));
    let backup = back_up_under_load_then_restore((&source, None), (&target, None)).await;
    let _ = std::fs::remove_dir_all(&backup);
    // The sandbox gateway's journal came along: the payments it authorized are known there.
    assert!(target.join("sandbox-gateway.jsonl").exists());
    let _ = std::fs::remove_dir_all(&source);
    let _ = std::fs::remove_dir_all(&target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_into_an_empty_postgres_database() {
    let source_url = acceptance::support::fresh_postgres_with_url().await.1;
    let target_url = acceptance::support::fresh_postgres_url().await;
    let (source, target) = (temp("source"), temp("target"));
    let backup =
        back_up_under_load_then_restore((&source, Some(&source_url)), (&target, Some(&target_url)))
            .await;
    // The feed orders events by the transaction that wrote them: a server whose transaction
    // ids are behind the backup's would hide the restored events and sort new ones first, so
    // it is refused, and nothing is restored.
    let manifest_path = backup.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    assert!(manifest["newest_tx"].as_u64().unwrap() > 0, "{manifest}");
    manifest["newest_tx"] = Value::from(u64::MAX / 4);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let empty_url = acceptance::support::fresh_postgres_url().await;
    let refused = commerce(
        &["restore", backup.to_str().unwrap()],
        &target,
        Some(&empty_url),
    );
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("transaction ids"), "{stderr}");
    let tables: i64 = {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&empty_url).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            .fetch_one(&mut connection)
            .await
            .unwrap()
    };
    assert_eq!(tables, 0, "a refused restore left tables behind");
    let _ = std::fs::remove_dir_all(&backup);
    let _ = std::fs::remove_dir_all(&source);
    let _ = std::fs::remove_dir_all(&target);
}

#[test]
fn a_restore_from_what_is_not_a_backup_is_one_line() {
    let (not_a_backup, target) = (temp("nothing"), temp("target"));
    std::fs::create_dir_all(&not_a_backup).unwrap();
    let refused = commerce(&["restore", not_a_backup.to_str().unwrap()], &target, None);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is not a backup"), "{stderr}");
    assert!(!target.join("commerce.db").exists());
    let _ = std::fs::remove_dir_all(&not_a_backup);
}
