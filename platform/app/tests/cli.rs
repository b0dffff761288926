//! The `commerce` CLI's store commands, against the real binary on both stores (issue 13):
//! `migrate` brings an empty store to the current schema, `projections list` shows every
//! projection with its checkpoint and lag, and a store that cannot be reached is one clear
//! line and a non-zero exit.

mod server;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use server::{command, free_port, run_store_command as commerce, start, store_command};

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

/// Whether the store `database_url` names (or else the embedded one in `data_dir`) was set up.
async fn store_exists(data_dir: &Path, database_url: Option<&str>) -> bool {
    let Some(url) = database_url else {
        return data_dir.join("commerce.db").exists();
    };
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .expect("the test database answers");
    let tables: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            .fetch_one(&mut connection)
            .await
            .expect("the tables counted");
    tables > 0
}

async fn migrate_then_list_the_projections(data_dir: &Path, database_url: Option<&str>) {
    // A command that reads a store refuses to run where there is none, and sets none up: an
    // empty store would answer as if it were the shop's.
    assert!(!store_exists(data_dir, database_url).await);
    let backup = data_dir.with_extension("backup");
    for args in [
        &["events", "tail"][..],
        &["projections", "rebuild", "--all"][..],
        &["backup", backup.to_str().unwrap()][..],
    ] {
        let refused = one_line_failure(&commerce(args, data_dir, database_url));
        assert!(refused.contains("no store"), "{args:?}: {refused}");
    }
    assert!(!backup.exists() && !backup.with_extension("backup.partial").exists());
    assert!(
        !store_exists(data_dir, database_url).await,
        "a store was set up"
    );

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
    assert!(store_exists(data_dir, database_url).await);

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
    // Empty: nothing has migrated it yet.
    let database_url = acceptance::support::fresh_postgres_url().await;
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

/// The lines `events tail` printed, each parsed.
fn tail(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> Vec<serde_json::Value> {
    let mut all = vec!["events", "tail"];
    all.extend_from_slice(args);
    let output = commerce(&all, data_dir, database_url);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// A command's failure: its one line on standard error, which must start with `error: `.
fn one_line_failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

async fn seed_then_tail_the_events(data_dir: &Path, database_url: Option<&str>) {
    let seeded = commerce(&["seed", "--demo"], data_dir, database_url);
    let said = String::from_utf8_lossy(&seeded.stdout).into_owned();
    assert!(
        seeded.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert_eq!(
        said.trim(),
        "seeded the demo catalog: 5 products, 7 SKUs in stock"
    );
    // Never twice, nor into a shop: the store is no longer empty.
    let again = one_line_failure(&commerce(&["seed", "--demo"], data_dir, database_url));
    assert!(again.contains("only into an empty store"), "{again}");

    // The whole feed, in order, as `/v1/events` serves it.
    let all = tail(&[], data_dir, database_url);
    let types: Vec<&str> = all.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "catalog.product_created")
            .count(),
        5,
        "{types:?}"
    );
    let cursors: Vec<&str> = all.iter().map(|e| e["cursor"].as_str().unwrap()).collect();
    assert!(
        cursors.windows(2).all(|pair| pair[0] < pair[1]),
        "{cursors:?}"
    );
    assert!(all
        .iter()
        .all(|e| e["id"].is_string() && e["data"].is_object()));

    // Only some types: a whole context, or exact names.
    let stock = tail(&["--types", "inventory.*"], data_dir, database_url);
    assert_eq!(stock.len(), 7, "{stock:?}");
    assert!(stock
        .iter()
        .all(|e| e["type"].as_str().unwrap().starts_with("inventory.")));
    let created = tail(
        &[
            "--types",
            "catalog.product_created,catalog.product_published",
        ],
        data_dir,
        database_url,
    );
    assert_eq!(created.len(), 9, "{created:?}");

    // Resumed behind a cursor: exactly what follows it.
    let resumed = tail(&["--from", cursors[2]], data_dir, database_url);
    assert_eq!(resumed, all[3..]);
    assert!(tail(&["--from", "end"], data_dir, database_url).is_empty());

    // Bad input: one line, and nothing printed.
    for args in [
        &["events", "tail", "--types", "catalog.nope"][..],
        &["events", "tail", "--from", "yesterday"][..],
    ] {
        let output = commerce(args, data_dir, database_url);
        let stderr = one_line_failure(&output);
        assert!(output.stdout.is_empty(), "{args:?}: {stderr}");
    }

    // Following: the feed so far, then what is appended while it waits (a cart a shopper
    // creates on a server over the same store).
    let mut follower = store_command(
        &["events", "tail", "--follow", "--types", "carts.*,catalog.*"],
        data_dir,
        database_url,
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("the binary runs");
    let lines = {
        let stdout = follower.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                if send.send(line.unwrap()).is_err() {
                    return;
                }
            }
        });
        lines
    };
    let catalog_events = all
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with("catalog."))
        .count();
    for _ in 0..catalog_events {
        lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the feed so far");
    }
    // At the end of the feed it waits instead of stopping.
    assert!(lines.recv_timeout(Duration::from_millis(500)).is_err());
    assert!(follower.try_wait().unwrap().is_none(), "it stopped");
    let port = free_port();
    let mut serve = command(data_dir, port);
    if let Some(url) = database_url {
        serve.env("DATABASE_URL", url);
    }
    let server = start(serve, port).await;
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/carts", server.base))
        .json(&serde_json::json!({"currency": "EUR"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("the new cart's event");
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["type"], "carts.cart_created", "{event}");
    assert_eq!(event["stream"]["id"], created["id"], "{event}");
    let _ = follower.kill();
    let _ = follower.wait();
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_and_events_tail_on_sqlite() {
    let data_dir = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    seed_then_tail_the_events(&data_dir, None).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_and_events_tail_on_postgres() {
    let database_url = acceptance::support::fresh_postgres_url().await;
    let data_dir = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    seed_then_tail_the_events(&data_dir, Some(&database_url)).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// `config check` with `env` set, on the store `database_url` names (or the embedded one).
fn config_check(data_dir: &Path, database_url: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut check = store_command(&["config", "check"], data_dir, database_url);
    check
        .env_remove("COMMERCE_TOKEN_SECRET")
        .env_remove("COMMERCE_JWT_SECRET");
    for (name, value) in env {
        check.env(name, value);
    }
    check.output().expect("the binary runs")
}

async fn config_check_on(data_dir: &Path, database_url: Option<&str>) {
    let nats = std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let secret = "a-token-secret-nobody-may-read-in-a-log";
    let checked = config_check(
        data_dir,
        database_url,
        &[("COMMERCE_TOKEN_SECRET", secret), ("NATS_URL", &nats)],
    );
    let stdout = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(
        checked.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // Each setting, its value and where it came from; the secret masked.
    assert!(stdout.starts_with("setting\tvalue\tsource\n"), "{stdout}");
    assert!(
        stdout.contains("\nlisten\t127.0.0.1:8080\tdefault\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\ntoken-secret\t********\tenv COMMERCE_TOKEN_SECRET\n"),
        "{stdout}"
    );
    assert!(stdout.contains("\njwt-secret\t-\tunset\n"), "{stdout}");
    assert!(!stdout.contains(secret), "{stdout}");
    assert!(
        stdout.contains(&format!("\nnats-url\t{nats}\tenv NATS_URL\n")),
        "{stdout}"
    );
    // The checks: the database and NATS answer.
    assert!(stdout.contains("\ndatabase\tok\t"), "{stdout}");
    assert!(stdout.contains("\nnats\tok\tNATS "), "{stdout}");
    assert!(stdout.contains("JetStream on"), "{stdout}");

    // What fails is the command's one error line.
    let short = one_line_failure(&config_check(
        data_dir,
        database_url,
        &[("COMMERCE_TOKEN_SECRET", "short")],
    ));
    assert!(
        short.contains("error: secrets: COMMERCE_TOKEN_SECRET must be"),
        "{short}"
    );
    let no_nats = one_line_failure(&config_check(
        data_dir,
        database_url,
        &[("NATS_URL", "nats://127.0.0.1:1")],
    ));
    assert!(
        no_nats.starts_with("error: nats: NATS at nats://127.0.0.1:1 does not answer"),
        "{no_nats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_on_sqlite() {
    let data_dir = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    // Before anything was created, and after.
    config_check_on(&data_dir, None).await;
    assert!(
        !data_dir.join("commerce.db").exists(),
        "a check created the store"
    );
    assert!(commerce(&["migrate"], &data_dir, None).status.success());
    config_check_on(&data_dir, None).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_on_postgres() {
    let database_url = acceptance::support::fresh_postgres_url().await;
    let data_dir = std::env::temp_dir().join(format!("commerce-cli-{}", uuid::Uuid::new_v4()));
    // A password in the URL is masked (the test server trusts, so any password does).
    let with_password = database_url.replacen("postgres@", "postgres:hunter2hunter2@", 1);
    assert_ne!(
        with_password, database_url,
        "the URL has no user to give a password"
    );
    let checked = config_check(&data_dir, Some(&with_password), &[]);
    let stdout = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(checked.status.success(), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(stdout.contains("postgres:****@"), "{stdout}");
    assert!(stdout.contains("\ndatabase\tok\tPostgreSQL "), "{stdout}");
    config_check_on(&data_dir, Some(&database_url)).await;
    // A database that does not exist does not answer.
    let missing = database_url.rsplit_once('/').unwrap().0.to_owned() + "/no_such_database";
    let failed = one_line_failure(&config_check(&data_dir, Some(&missing), &[]));
    assert!(failed.starts_with("error: database: "), "{failed}");
    assert!(failed.contains("connecting to PostgreSQL"), "{failed}");
    assert!(failed.contains("no_such_database"), "{failed}");
    let _ = std::fs::remove_dir_all(&data_dir);
}
