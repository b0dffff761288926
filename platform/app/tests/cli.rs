//! The `commerce` CLI's store commands, against the real binary on both stores (issue 13):
//! `migrate` brings an empty store to the current schema, `projections list` shows every
//! projection with its checkpoint and lag, and a store that cannot be reached is one clear
//! line and a non-zero exit.

mod server;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use server::{command, free_port, start};

fn commerce(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_commerce"));
    command
        .args(args)
        .env("COMMERCE_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.output().expect("the binary runs")
}

/// The rows of `projections list`: (name, checkpoint, events behind).
fn projections(data_dir: &Path, database_url: Option<&str>) -> Vec<(String, String, u64)> {
    let listed = commerce(&["projections", "list"], data_dir, database_url);
    let stdout = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.status.success(), "{stdout}");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("name\tcheckpoint\tevents_behind\tseconds_behind")
    );
    lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            (
                cells[0].to_owned(),
                cells[1].to_owned(),
                cells[2].parse().expect("a count"),
            )
        })
        .collect()
}

async fn migrate_then_list_the_projections(data_dir: &Path, database_url: Option<&str>) {
    let migrated = commerce(&["migrate"], data_dir, database_url);
    let said = String::from_utf8_lossy(&migrated.stdout).into_owned();
    assert!(migrated.status.success(), "{said}");
    let applied: u64 = said
        .strip_prefix("migrated: ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no count of migrations: {said}"));
    assert!(applied >= 10, "{said}");
    // Again: nothing left to apply, the same answer.
    let again = commerce(&["migrate"], data_dir, database_url);
    assert_eq!(String::from_utf8_lossy(&again.stdout), said);

    let start_of_feed = "0".repeat(32);
    let empty = projections(data_dir, database_url);
    let names: Vec<&str> = empty.iter().map(|(name, _, _)| name.as_str()).collect();
    assert!(names.contains(&"product_catalog") && names.contains(&"stock_levels"));
    assert!(empty
        .iter()
        .all(|(_, checkpoint, behind)| *checkpoint == start_of_feed && *behind == 0));

    // A server seeds the demo catalog and projects it; the list then shows the catalog's
    // checkpoint moved and nothing left behind.
    let port = free_port();
    let mut serve = command(data_dir, port);
    if let Some(url) = database_url {
        serve.env("DATABASE_URL", url);
    }
    let server = start(serve, port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = projections(data_dir, database_url);
        let catalog = listed
            .iter()
            .find(|(name, _, _)| name == "product_catalog")
            .expect("the catalog projection");
        if catalog.1 != start_of_feed && catalog.2 == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "never projected: {listed:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_projections_list_on_sqlite() {
    let data_dir = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    migrate_then_list_the_projections(&data_dir, None).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_projections_list_on_postgres() {
    let database_url = acceptance::support::fresh_postgres_with_url().await.1;
    let data_dir = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    migrate_then_list_the_projections(&data_dir, Some(&database_url)).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn a_store_that_cannot_be_opened_is_one_line_and_a_failure() {
    // A data directory that cannot be created: a file stands where its parent should be.
    let blocker = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    std::fs::write(&blocker, b"not a directory").expect("a file");
    for args in [&["migrate"][..], &["projections", "list"][..]] {
        let output = commerce(args, &blocker.join("data"), None);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(output.stdout.is_empty());
    }
    let _ = std::fs::remove_file(&blocker);
}
