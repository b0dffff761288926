//! `spawn_app()`: the real server on a random port over a fresh database, plus a client.

use std::time::{Duration, Instant};

use commerce::config::Settings;
use commerce::Running;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    /// Sends every request with a key holding every scope (`*`), issued when the app
    /// started, as a staff tool would.
    pub client: Client,
    /// The token of each cart made with [`TestApp::create_cart`], sent on that cart's calls
    /// as its storefront would (cart routes take no API key: ADR 0024).
    pub cart_tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
    pub running: Option<Running>,
    /// What it was started with: where its database is.
    pub settings: Settings,
}

/// Runs the same test body against SQLite and PostgreSQL, each on a fresh database.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::app::spawn_app($crate::app::Store::Sqlite).await;
                $body(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::app::spawn_app($crate::app::Store::Postgres).await;
                $body(&app).await;
                app.stop().await;
            }
        }
    };
}

pub async fn settings_for(store: Store) -> Settings {
    let dir = std::env::temp_dir().join(format!("commerce-test-{}", uuid::Uuid::new_v4()));
    let url = match store {
        Store::Sqlite => None,
        Store::Postgres => Some(acceptance::support::fresh_postgres_with_url().await.1),
    };
    Settings::for_tests(url, dir)
}

pub async fn spawn_app(store: Store) -> TestApp {
    spawn_with(settings_for(store).await).await
}

pub async fn spawn_with(settings: Settings) -> TestApp {
    let running = commerce::start(settings.clone())
        .await
        .expect("the app starts");
    let admin_key = application::api_keys::issue(
        running.wired.api.api_keys.as_ref(),
        &shared_kernel::SystemClock,
        "acceptance tests",
        accounts::Grants::Everything,
    )
    .await
    .expect("an API key is issued")
    .secret;
    TestApp {
        base: format!("http://{}", running.addr),
        client: client_with_key(Some(&admin_key)),
        cart_tokens: Default::default(),
        running: Some(running),
        settings,
    }
}

/// A client that sends `key` as its bearer credential on every request, or none.
pub fn client_with_key(key: Option<&str>) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(key) = key {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).expect("a header"),
        );
    }
    Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

impl TestApp {
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Stops this instance and starts another on the same store that serves the API only
    /// (`run_workers` off: no projector, saga or delivery runs there), keeping the cart tokens.
    pub async fn restart_api_only(self) -> TestApp {
        let tokens = self.cart_tokens.lock().unwrap().clone();
        let mut settings = self.settings.clone();
        settings.run_workers = false;
        self.stop().await;
        let api = spawn_with(settings).await;
        *api.cart_tokens.lock().unwrap() = tokens;
        api
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match self.cart_token_for(path) {
            Some(token) => request.header("x-cart-token", token),
            None => request,
        }
    }

    /// The kept token of the cart `path` addresses (`/v1/carts/{id}...`).
    pub fn cart_token_for(&self, path: &str) -> Option<String> {
        let id = path.strip_prefix("/v1/carts/")?.split(['/', '?']).next()?;
        self.cart_tokens.lock().unwrap().get(id).cloned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a product through the admin API and returns its id.
    pub async fn create_product(&self, title: &str, variants: Value, publish: bool) -> String {
        let response = self
            .post_json(
                "/v1/admin/products",
                &json!({"title": title, "description": "", "variants": variants, "publish": publish}),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.expect("json body");
        assert_eq!(status, 201, "product creation failed: {body}");
        body["id"].as_str().expect("product id").to_owned()
    }

    /// A published product with one SKU priced in EUR, visible on the storefront.
    pub async fn published_product(&self, sku: &str, eur: &str) -> String {
        let id = self
            .create_product(
                &format!("Product {sku}"),
                json!([{"sku": sku, "prices": [{"amount": eur, "currency": "EUR"}]}]),
                true,
            )
            .await;
        self.wait_for_storefront(&id).await;
        id
    }

    /// Polls the storefront until the product is listed (the read model is asynchronous).
    pub async fn wait_for_storefront(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.get(&format!("/v1/products/{id}")).await.status() == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "product {id} never reached the storefront"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn create_cart(&self, currency: &str) -> String {
        let response = self
            .post_json("/v1/carts", &json!({"currency": currency}))
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.expect("json body");
        let id = body["id"].as_str().expect("cart id").to_owned();
        let token = body["cart_token"].as_str().expect("cart token").to_owned();
        self.cart_tokens.lock().unwrap().insert(id.clone(), token);
        id
    }

    pub async fn cart(&self, id: &str) -> Value {
        let response = self.get(&format!("/v1/carts/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("json body")
    }

    /// Reads `path` until `ready` says so (30 s at most).
    pub async fn until(&self, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body: Value = self.get(path).await.json().await.expect("json body");
            if ready(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} never got there: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Receives `units` of `sku` into stock.
    pub async fn receive(&self, sku: &str, units: u32) {
        let path = format!("/v1/admin/inventory/{sku}/receipts");
        let received = self.post_json(&path, &json!({"quantity": units})).await;
        assert_eq!(received.status(), 200);
    }

    /// A new EUR cart holding `quantity` of `sku`.
    pub async fn cart_holding(&self, sku: &str, quantity: u32) -> String {
        let cart = self.create_cart("EUR").await;
        let added = self
            .post_json(
                &format!("/v1/carts/{cart}/items"),
                &json!({"sku": sku, "quantity": quantity}),
            )
            .await;
        assert_eq!(added.status(), 200);
        cart
    }

    /// Checks `cart` out with `body` (see [`checkout_body`]) under the Idempotency-Key `key`.
    pub async fn check_out(&self, cart: &str, key: &str, body: &Value) -> Response {
        self.request(Method::POST, &format!("/v1/carts/{cart}/checkout"))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Long-polls the checkout at `location` until it is no longer pending, as a storefront
    /// would (60 s at most).
    pub async fn settled(&self, location: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let body: Value = self
                .get(&format!("{location}?wait=10"))
                .await
                .json()
                .await
                .expect("json body");
            if body["status"] != "pending" {
                return body;
            }
            assert!(Instant::now() < deadline, "checkout never settled: {body}");
        }
    }

    /// A completed checkout of `quantity` units of `sku` at 10.00 EUR (10 received first):
    /// its order id and payment id.
    pub async fn paid_order(&self, sku: &str, quantity: u32) -> (String, String) {
        self.published_product(sku, "10.00").await;
        self.receive(sku, 10).await;
        let cart = self.cart_holding(sku, quantity).await;
        let response = self
            .check_out(
                &cart,
                &format!("paid-order-{sku}"),
                &checkout_body("tok_visa"),
            )
            .await;
        assert_eq!(response.status(), 202);
        let location = response.headers()["location"]
            .to_str()
            .expect("a location")
            .to_owned();
        let done = self.until(&location, |c| c["status"] != "pending").await;
        assert_eq!(done["status"], "completed", "{done}");
        (
            done["order_id"].as_str().expect("order id").to_owned(),
            done["payment_id"].as_str().expect("payment id").to_owned(),
        )
    }

    /// How many rows `table` of the app's database holds.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let count = format!("SELECT COUNT(*) FROM {table}");
        match self.settings.store_url() {
            commerce::config::StoreUrl::Postgres(url) => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                sqlx::query_scalar(&count).fetch_one(&pool).await.unwrap()
            }
            commerce::config::StoreUrl::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                sqlx::query_scalar(&count).fetch_one(&pool).await.unwrap()
            }
        }
    }

    /// `PUT`s `body` as JSON to `path`.
    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Units of `sku` on hand.
    pub async fn on_hand(&self, sku: &str) -> u64 {
        let level: Value = self
            .get(&format!("/v1/admin/inventory/{sku}"))
            .await
            .json()
            .await
            .expect("json body");
        level["on_hand"].as_u64().expect("on_hand")
    }
}

/// `amount` euros, as the API writes money.
pub fn eur(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

/// A guest checkout paying with `token` and shipping to Grace Hopper in the US.
pub fn checkout_body(token: &str) -> Value {
    json!({"email": "grace@example.com", "payment_method_token": token,
           "shipping_address": {"name": "Grace Hopper", "line1": "1 Navy Way", "city": "Arlington",
                                "postal_code": "22202", "country": "US"}})
}

/// Asserts an RFC 9457 answer with the given status and code; returns the problem.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status, body: {body}");
    assert!(
        content_type.starts_with("application/problem+json"),
        "not problem+json: {content_type} {body}"
    );
    assert_eq!(body["code"], code, "unexpected problem: {body}");
    assert_eq!(body["status"], status);
    body
}
