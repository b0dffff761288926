//! The `commerce` binary, killed with SIGKILL and started again, has lost nothing it
//! acknowledged: the cart and its lines are still there, and the demo catalog is not seeded
//! twice. Runs on the embedded store and on PostgreSQL.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start(data_dir: &Path, database_url: Option<&str>) -> Server {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_commerce"));
    command
        .arg("serve")
        .env("COMMERCE_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("COMMERCE_DATA_DIR", data_dir)
        .env("COMMERCE_DEMO_CATALOG", "true")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let child = command.spawn().expect("the binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/health/ready")).send().await {
            if response.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

fn kill_9(mut server: Server) {
    server.child.kill().expect("SIGKILL sent");
    server.child.wait().expect("the process is gone");
}

async fn storefront_count(client: &reqwest::Client, base: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listing: Value = client
            .get(format!("{base}/v1/products?limit=100"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let count = listing["data"].as_array().unwrap().len();
        if count >= 4 || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn cart_survives_sigkill(database_url: Option<String>) {
    let data_dir = std::env::temp_dir().join(format!("commerce-kill-{}", uuid::Uuid::new_v4()));
    let client = reqwest::Client::new();

    let server = start(&data_dir, database_url.as_deref()).await;
    assert_eq!(
        storefront_count(&client, &server.base).await,
        4,
        "demo catalog"
    );
    let cart: Value = client
        .post(format!("{}/v1/carts", server.base))
        .json(&json!({"currency": "EUR"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cart_id = cart["id"].as_str().unwrap().to_owned();
    for (sku, quantity) in [("TEE-BLACK-M", 2), ("BEANIE-GREY", 1)] {
        let response = client
            .post(format!("{}/v1/carts/{cart_id}/items", server.base))
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let before: Value = client
        .get(format!("{}/v1/carts/{cart_id}", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    kill_9(server);

    let server = start(&data_dir, database_url.as_deref()).await;
    let after: Value = client
        .get(format!("{}/v1/carts/{cart_id}", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_eq!(after["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        after["subtotal"],
        json!({"amount": "67.90", "currency": "EUR"})
    );
    assert_eq!(
        storefront_count(&client, &server.base).await,
        4,
        "seeded once only"
    );
    kill_9(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn cart_survives_sigkill_on_the_embedded_store() {
    cart_survives_sigkill(None).await;
}

#[tokio::test]
async fn cart_survives_sigkill_on_postgres() {
    cart_survives_sigkill(Some(acceptance::support::fresh_postgres_with_url().await.1)).await;
}
