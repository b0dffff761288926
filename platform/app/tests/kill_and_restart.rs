//! The `commerce` binary, killed with SIGKILL and started again, has lost nothing it
//! acknowledged: the cart and its lines are still there, and the demo catalog is not seeded
//! twice. Runs on the embedded store and on PostgreSQL.

mod server;

use std::path::Path;
use std::time::{Duration, Instant};

use server::{kill_9, Server};

use serde_json::{json, Value};

async fn start(data_dir: &Path, database_url: Option<&str>) -> Server {
    let port = server::free_port();
    let mut command = server::command(data_dir, port);
    command.env("COMMERCE_DEMO_CATALOG", "true");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    server::start(command, port).await
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
    let client = server::client(&server::api_key(&data_dir, database_url.as_deref()).1);

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
    let cart_token = cart["cart_token"].as_str().unwrap().to_owned();
    for (sku, quantity) in [("TEE-BLACK-M", 2), ("BEANIE-GREY", 1)] {
        let response = client
            .post(format!("{}/v1/carts/{cart_id}/items", server.base))
            .header("x-cart-token", &cart_token)
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let before: Value = client
        .get(format!("{}/v1/carts/{cart_id}", server.base))
        .header("x-cart-token", &cart_token)
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
        .header("x-cart-token", &cart_token)
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
