//! `commerce projections rebuild <name>|--all` against the real binary on both stores, beside
//! a running server (issue 13, ADR 0049): a rebuild gives the read models they had, the
//! server's projector goes on from the switched checkpoint, a rebuild killed midway leaves
//! the live projection serving and untouched, and running it again completes it.

mod server;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server::{store_command, Server};

/// A store under test: its data directory, its PostgreSQL URL if any, and a direct look at it.
struct Store {
    data_dir: PathBuf,
    url: Option<String>,
    db: Db,
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Store {
    async fn new(postgres: bool) -> Self {
        let data_dir =
            std::env::temp_dir().join(format!("commerce-rebuild-{}", uuid::Uuid::new_v4()));
        let url = if postgres {
            Some(acceptance::support::fresh_postgres_with_url().await.1)
        } else {
            None
        };
        // The schema, before anything looks at it.
        let migrated = commerce(&["migrate"], &data_dir, url.as_deref(), None);
        assert!(migrated.status.success(), "{migrated:?}");
        let db = match &url {
            Some(url) => Db::Postgres(sqlx::PgPool::connect(url).await.expect("postgres")),
            None => Db::Sqlite(
                sqlx::SqlitePool::connect(&format!(
                    "sqlite://{}",
                    data_dir.join("commerce.db").display()
                ))
                .await
                .expect("sqlite"),
            ),
        };
        Self { data_dir, url, db }
    }

    fn run(&self, args: &[&str]) -> Output {
        commerce(args, &self.data_dir, self.url.as_deref(), None)
    }

    fn run_killed_at(&self, args: &[&str], boundary: &str) -> Output {
        commerce(args, &self.data_dir, self.url.as_deref(), Some(boundary))
    }

    async fn serve(&self) -> Server {
        let port = server::free_port();
        let mut command = server::command(&self.data_dir, port);
        command.env("COMMERCE_DEMO_CATALOG", "true");
        if let Some(url) = &self.url {
            command.env("DATABASE_URL", url);
        }
        server::start(command, port).await
    }

    fn client(&self) -> reqwest::Client {
        server::client(&server::api_key(&self.data_dir, self.url.as_deref()).1)
    }

    /// Every read-model document as (view, id, body), in order.
    async fn documents(&self) -> Vec<(String, String, String)> {
        let mut rows: Vec<(String, String, String)> = match &self.db {
            Db::Sqlite(pool) => sqlx::query_as("SELECT view, id, body FROM read_documents")
                .fetch_all(pool)
                .await
                .expect("documents"),
            Db::Postgres(pool) => sqlx::query_as("SELECT view, id, body::text FROM read_documents")
                .fetch_all(pool)
                .await
                .expect("documents"),
        };
        rows.sort();
        rows
    }

    /// Whether a shadow table of `projector` is there.
    async fn has_shadow(&self, projector: &str) -> bool {
        let table = format!("rebuild_{projector}");
        let count: i64 = match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = ?")
                    .bind(&table)
                    .fetch_one(pool)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE tablename = $1")
                    .bind(&table)
                    .fetch_one(pool)
                    .await
            }
        }
        .expect("a count");
        count == 1
    }

    /// `projections list` as (name, checkpoint, events behind).
    fn projections(&self) -> Vec<(String, String, u64)> {
        let listed = self.run(&["projections", "list"]);
        let stdout = String::from_utf8_lossy(&listed.stdout).into_owned();
        assert!(listed.status.success(), "{listed:?}");
        stdout
            .lines()
            .skip(1)
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

    /// Waits until every projection has stored a checkpoint at the feed's head.
    async fn caught_up(&self) -> Vec<(String, String, u64)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let listed = self.projections();
            if listed.iter().all(|(_, _, behind)| *behind == 0) {
                return listed;
            }
            assert!(Instant::now() < deadline, "never caught up: {listed:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn commerce(
    args: &[&str],
    data_dir: &Path,
    database_url: Option<&str>,
    kill_at: Option<&str>,
) -> Output {
    let mut command = store_command(args, data_dir, database_url);
    if let Some(boundary) = kill_at {
        command.env("COMMERCE_FAULT_KILL_AT", boundary);
    }
    command.output().expect("the binary runs")
}

/// A published product with stock, as a staff tool creates it: its id.
async fn add_product(client: &reqwest::Client, base: &str, sku: &str) -> String {
    let created = client
        .post(format!("{base}/v1/admin/products"))
        .json(&json!({"title": format!("Lamp {sku}"), "publish": true,
                      "variants": [{"sku": sku, "prices": [{"amount": "30.00", "currency": "EUR"}]}]}))
        .send()
        .await
        .expect("created");
    assert!(created.status().is_success(), "{}", created.status());
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let received = client
        .post(format!("{base}/v1/admin/inventory/{sku}/receipts"))
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .expect("received");
    assert!(received.status().is_success(), "{}", received.status());
    id
}

/// The storefront as a shopper reads it: the listing, and every product by its id (which a
/// server may answer from memory).
async fn storefront(client: &reqwest::Client, base: &str) -> Vec<Value> {
    let listing: Value = client
        .get(format!("{base}/v1/products?limit=100"))
        .send()
        .await
        .expect("listed")
        .json()
        .await
        .expect("json");
    let mut products = listing["data"].as_array().expect("data").clone();
    for product in products.clone() {
        let id = product["id"].as_str().expect("an id");
        let one: Value = client
            .get(format!("{base}/v1/products/{id}"))
            .send()
            .await
            .expect("read")
            .json()
            .await
            .expect("json");
        products.push(one);
    }
    products
}

fn checkpoint_of(listed: &[(String, String, u64)], name: &str) -> String {
    listed
        .iter()
        .find(|(projection, _, _)| projection == name)
        .map(|(_, checkpoint, _)| checkpoint.clone())
        .expect("listed")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn a_rebuild_gives_the_read_models_they_had(postgres: bool) {
    let store = Store::new(postgres).await;
    let client = store.client();
    let server = store.serve().await;
    add_product(&client, &server.base, "REBUILD-1").await;
    let listed = store.caught_up().await;
    let documents = store.documents().await;
    let shown = storefront(&client, &server.base).await;
    assert!(shown.len() >= 10, "{shown:?}");

    let said = succeeded(&store.run(&[
        "projections",
        "rebuild",
        "product_catalog",
        "--batch-size",
        "3",
    ]));
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.starts_with("rebuilt product_catalog: "), "{said}");
    assert!(!store.has_shadow("product_catalog").await);
    assert_eq!(store.documents().await, documents);
    assert_eq!(storefront(&client, &server.base).await, shown);
    // Switched to where the live one was: nothing appended since.
    let after = store.caught_up().await;
    assert_eq!(
        checkpoint_of(&after, "product_catalog"),
        checkpoint_of(&listed, "product_catalog")
    );

    let said = succeeded(&store.run(&["projections", "rebuild", "--all"]));
    let rebuilt: Vec<&str> = said
        .lines()
        .map(|line| line.split(':').next().unwrap_or_default())
        .collect();
    let names: Vec<String> = listed
        .iter()
        .map(|(name, _, _)| format!("rebuilt {name}"))
        .collect();
    assert_eq!(rebuilt, names, "{said}");
    assert_eq!(store.documents().await, documents);
    assert_eq!(storefront(&client, &server.base).await, shown);
    assert_eq!(store.caught_up().await, after);

    // The server's projectors go on from the switched checkpoints.
    let id = add_product(&client, &server.base, "REBUILD-2").await;
    store.caught_up().await;
    let read = client
        .get(format!("{}/v1/products/{id}", server.base))
        .send()
        .await
        .expect("read");
    assert_eq!(read.status(), 200);

    // An unknown name: one line naming the known ones, and a failure.
    let unknown = store.run(&["projections", "rebuild", "products"]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"products\"") && stderr.contains("product_catalog, orders"),
        "{stderr}"
    );
    drop(server);
    store.remove();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_gives_the_read_models_they_had_on_sqlite() {
    a_rebuild_gives_the_read_models_they_had(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_gives_the_read_models_they_had_on_postgres() {
    a_rebuild_gives_the_read_models_they_had(true).await;
}

/// Writes go on through the server during a rebuild of every projection, one event per shadow
/// batch; afterwards the read models are what a quiet rebuild of the same feed gives, and
/// every product written shows.
async fn a_rebuild_beside_a_server_taking_writes_keeps_the_read_models_right(postgres: bool) {
    let store = Store::new(postgres).await;
    let client = store.client();
    let server = store.serve().await;
    store.caught_up().await;
    let writes = {
        let (client, base) = (client.clone(), server.base.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..12 {
                ids.push(add_product(&client, &base, &format!("BUSY-{n}")).await);
            }
            ids
        })
    };
    let rebuild = {
        let (data_dir, url) = (store.data_dir.clone(), store.url.clone());
        tokio::task::spawn_blocking(move || {
            commerce(
                &["projections", "rebuild", "--all", "--batch-size", "1"],
                &data_dir,
                url.as_deref(),
                None,
            )
        })
    };
    let ids = writes.await.expect("the writes");
    succeeded(&rebuild.await.expect("the rebuild"));
    store.caught_up().await;
    let served = store.documents().await;
    let shown = storefront(&client, &server.base).await;
    for id in &ids {
        assert!(
            shown.iter().any(|product| product["id"] == id.as_str()),
            "{id}"
        );
    }
    // The same feed, rebuilt with nothing else going on.
    succeeded(&store.run(&["projections", "rebuild", "--all"]));
    assert_eq!(store.documents().await, served);
    assert_eq!(storefront(&client, &server.base).await, shown);
    drop(server);
    store.remove();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_beside_a_server_taking_writes_keeps_the_read_models_right_on_sqlite() {
    a_rebuild_beside_a_server_taking_writes_keeps_the_read_models_right(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_beside_a_server_taking_writes_keeps_the_read_models_right_on_postgres() {
    a_rebuild_beside_a_server_taking_writes_keeps_the_read_models_right(true).await;
}

/// Killed (SIGKILL) after its second shadow batch, and again while it holds the live lock
/// before switching: each time the server still serves the old projection, untouched, with
/// its checkpoint, and goes on projecting writes; the rebuild run again completes.
#[cfg(feature = "fault-injection")]
async fn a_rebuild_killed_midway_leaves_the_old_projection_serving(postgres: bool) {
    use std::os::unix::process::ExitStatusExt;

    let store = Store::new(postgres).await;
    let client = store.client();
    let server = store.serve().await;
    let mut sku = 0;
    for boundary in [
        "rebuild:product_catalog:batch:2",
        "rebuild:product_catalog:switch",
    ] {
        sku += 1;
        add_product(&client, &server.base, &format!("CRASH-{sku}")).await;
        let listed = store.caught_up().await;
        let documents = store.documents().await;
        let shown = storefront(&client, &server.base).await;

        let killed = store.run_killed_at(
            &[
                "projections",
                "rebuild",
                "product_catalog",
                "--batch-size",
                "2",
            ],
            boundary,
        );
        assert_eq!(killed.status.signal(), Some(9), "{boundary}: {killed:?}");
        assert!(store.has_shadow("product_catalog").await, "{boundary}");
        // The old projection, untouched, serves; its checkpoint did not move.
        assert_eq!(store.documents().await, documents, "{boundary}");
        assert_eq!(storefront(&client, &server.base).await, shown, "{boundary}");
        assert_eq!(store.caught_up().await, listed, "{boundary}");
        // And the server goes on projecting into it.
        sku += 1;
        let id = add_product(&client, &server.base, &format!("CRASH-{sku}")).await;
        store.caught_up().await;
        let read = client
            .get(format!("{}/v1/products/{id}", server.base))
            .send()
            .await
            .expect("read");
        assert_eq!(read.status(), 200, "{boundary}");
    }

    // Run again: the leftover shadow is dropped, the rebuild completes and is served.
    let listed = store.caught_up().await;
    let documents = store.documents().await;
    let shown = storefront(&client, &server.base).await;
    let said = succeeded(&store.run(&["projections", "rebuild", "product_catalog"]));
    assert!(said.starts_with("rebuilt product_catalog: "), "{said}");
    assert!(!store.has_shadow("product_catalog").await);
    assert_eq!(store.documents().await, documents);
    assert_eq!(storefront(&client, &server.base).await, shown);
    assert_eq!(store.caught_up().await, listed);
    drop(server);
    store.remove();
}

#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_killed_midway_leaves_the_old_projection_serving_on_sqlite() {
    a_rebuild_killed_midway_leaves_the_old_projection_serving(false).await;
}

#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_killed_midway_leaves_the_old_projection_serving_on_postgres() {
    a_rebuild_killed_midway_leaves_the_old_projection_serving(true).await;
}

/// A running server keeps hot storefront documents in memory (ADR 0044). When the rebuilt
/// read model differs from the one it replaced (here a document altered behind the
/// projector's back, as a projection's older version could have left it), the server must
/// stop serving the one it kept and serve the rebuilt one.
async fn a_running_server_serves_the_rebuilt_documents_not_the_ones_it_kept(postgres: bool) {
    let store = Store::new(postgres).await;
    let client = store.client();
    let server = store.serve().await;
    store.caught_up().await;
    let listing: Value = client
        .get(format!("{}/v1/products?limit=100", server.base))
        .send()
        .await
        .expect("listed")
        .json()
        .await
        .expect("json");
    let id = listing["data"][0]["id"].as_str().expect("an id").to_owned();
    let title = |product: &Value| product["title"].as_str().unwrap_or_default().to_owned();
    let rebuilt_title = title(&listing["data"][0]);
    store.alter_title(&id, "Altered behind the projector").await;
    let read = || async {
        client
            .get(format!("{}/v1/products/{id}", server.base))
            .send()
            .await
            .expect("read")
            .json::<Value>()
            .await
            .expect("json")
    };
    // The server now holds the altered document in memory.
    assert_eq!(title(&read().await), "Altered behind the projector");

    succeeded(&store.run(&["projections", "rebuild", "product_catalog"]));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let served = title(&read().await);
        if served == rebuilt_title {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still serving {served:?} after the rebuild"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server);
    store.remove();
}

impl Store {
    /// Changes a storefront document's title in the store itself, as no event did.
    async fn alter_title(&self, id: &str, title: &str) {
        let altered = match &self.db {
            Db::Sqlite(pool) => sqlx::query(
                "UPDATE read_documents SET body = json_set(body, '$.title', ?) \
                 WHERE view = 'storefront_products' AND id = ?",
            )
            .bind(title)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
            Db::Postgres(pool) => sqlx::query(
                "UPDATE read_documents SET body = jsonb_set(body::jsonb, '{title}', to_jsonb($1::text))::json \
                 WHERE view = 'storefront_products' AND id = $2",
            )
            .bind(title)
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
        };
        assert_eq!(altered.expect("altered"), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_serves_the_rebuilt_documents_not_the_ones_it_kept_on_sqlite() {
    a_running_server_serves_the_rebuilt_documents_not_the_ones_it_kept(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_serves_the_rebuilt_documents_not_the_ones_it_kept_on_postgres() {
    a_running_server_serves_the_rebuilt_documents_not_the_ones_it_kept(true).await;
}

/// Two rebuilds at once would share a shadow table: while one runs (held at its first batch),
/// a second is refused in one line and changes nothing; once the first is gone (killed, so
/// its lock goes with it), the second runs.
#[cfg(feature = "fault-injection")]
async fn a_second_rebuild_is_refused_while_one_runs(postgres: bool) {
    use std::io::BufRead;
    let store = Store::new(postgres).await;
    let server = store.serve().await;
    let rows = store.caught_up().await;
    drop(server);
    let mut first = store_command(
        &["projections", "rebuild", "--all", "--batch-size", "1"],
        &store.data_dir,
        store.url.as_deref(),
    )
    .env("COMMERCE_FAULT_PAUSE_AT", "rebuild:product_catalog:batch:1")
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("the binary runs");
    let stderr = std::io::BufReader::new(first.stderr.take().unwrap());
    let paused = stderr
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("fault-injection: paused at"));
    assert!(paused, "the first rebuild never reached its first batch");

    let second = store.run(&["projections", "rebuild", "product_catalog"]);
    let said = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(!second.status.success(), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("another rebuild is running"), "{said}");

    first.kill().unwrap();
    first.wait().unwrap();
    succeeded(&store.run(&["projections", "rebuild", "--all"]));
    assert_eq!(store.projections(), rows);
    store.remove();
}

#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_rebuild_is_refused_while_one_runs_on_sqlite() {
    a_second_rebuild_is_refused_while_one_runs(false).await;
}

#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_rebuild_is_refused_while_one_runs_on_postgres() {
    a_second_rebuild_is_refused_while_one_runs(true).await;
}
