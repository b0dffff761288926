//! A thin, defensive client for the commerce API. Every call returns `Result`: a non-2xx
//! response becomes `ApiError::Status` with the problem+json `code` when there is one, a
//! connection failure becomes `ApiError::Transport`; nothing panics on a bad response.
//! Response types are lenient (missing fields default) because the load generator only
//! reads what it needs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::money::Money;

/// The header a cart token travels in.
const CART_TOKEN: &str = "x-cart-token";
/// The header an order access token travels in.
const ORDER_TOKEN: &str = "x-order-token";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("transport error: {0}")]
    Transport(String),
    #[error("HTTP {status} {code}")]
    Status { status: u16, code: String },
    #[error("undecodable response body: {0}")]
    Decode(String),
    /// 429: asked to come back after `retry_after_secs` (its `Retry-After`).
    #[error("HTTP 429 rate_limited, retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
}

impl ApiError {
    /// The key errors are counted under: the status, or "transport" / "decode".
    pub fn status_key(&self) -> String {
        match self {
            ApiError::Transport(_) => "transport".to_owned(),
            ApiError::Status { status, .. } => status.to_string(),
            ApiError::Decode(_) => "decode".to_owned(),
            ApiError::RateLimited { .. } => "429".to_owned(),
        }
    }

    /// The problem+json `code`, or "" when there is none.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Status { code, .. } => code,
            ApiError::RateLimited { .. } => "rate_limited",
            _ => "",
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Status { status: 404, .. })
    }

    /// Worth retrying with the same Idempotency-Key: the request may not have been
    /// processed, or is still being processed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Status { status, code } => {
                *status >= 500 || (*status == 409 && code == "idempotency_key_in_use")
            }
            ApiError::Decode(_) => false,
            // Nothing was done; the server says when to come back, as a storefront would.
            ApiError::RateLimited { .. } => true,
        }
    }

    /// How long the server asked to wait before retrying, if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                Some(std::time::Duration::from_secs((*retry_after_secs).min(60)))
            }
            _ => None,
        }
    }
}

// ---------- response shapes (lenient) ----------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProductList {
    pub data: Vec<Product>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Product {
    pub id: String,
    pub title: String,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Variant {
    pub sku: String,
    pub prices: Vec<Money>,
    pub available: u64,
    pub in_stock: bool,
}

#[derive(Debug, Deserialize)]
struct CreatedCart {
    id: String,
    #[serde(default)]
    cart_token: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Checkout {
    pub id: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    pub order_id: Option<String>,
    pub payment_id: Option<String>,
    pub failure: Option<Failure>,
    pub total: Option<Money>,
    /// Set once completed: what reads the order (`X-Order-Token`).
    pub order_access_token: Option<String>,
}

impl Checkout {
    pub fn is_terminal(&self) -> bool {
        self.status == "completed" || self.status == "failed"
    }

    /// Terminal and carrying what the outcome needs (an order id or a failure), so no
    /// further poll is needed.
    pub fn is_settled_with_details(&self) -> bool {
        match self.status.as_str() {
            "completed" => self.order_id.is_some(),
            "failed" => self.failure.is_some(),
            _ => false,
        }
    }

    pub fn failure_code(&self) -> String {
        self.failure
            .as_ref()
            .map(|f| f.code.clone())
            .filter(|code| !code.is_empty())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u64,
    /// The line's share of the order's discount; absent from servers without promotions.
    pub discount: Option<Money>,
    /// The line's tax; absent from servers without tax.
    pub tax: Option<Money>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Order {
    pub id: String,
    pub status: String,
    pub subtotal: Option<Money>,
    /// Absent from servers without promotions.
    pub discount_total: Option<Money>,
    pub shipping_total: Option<Money>,
    /// The tax on the shipping and the order's whole tax; absent from servers without tax.
    pub shipping_tax: Option<Money>,
    pub tax_total: Option<Money>,
    /// Whether the tax is inside the prices (and the total) rather than on top of them.
    pub taxes_included: bool,
    pub total: Money,
    /// The promotion code the order was discounted by, as the server normalized it.
    pub promotion_code: Option<String>,
    pub lines: Vec<OrderLine>,
    pub payment_id: Option<String>,
    pub refunded_total: Money,
    pub refunds: Vec<OrderRefund>,
}

/// A refund as its order shows it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OrderRefund {
    pub id: String,
    /// `requested`, `refunded` or `released`.
    pub status: String,
    pub amount: Money,
    pub restock: bool,
    pub lines: Vec<OrderLine>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Payment {
    pub id: String,
    pub status: String,
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StockItem {
    pub sku: String,
    pub on_hand: u64,
    pub reserved: u64,
    pub available: u64,
}

/// A promotion code as staff see it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Promotion {
    pub code: String,
    /// `None`: no limit.
    pub usage_limit: Option<u64>,
    /// Confirmed uses.
    pub times_redeemed: u64,
    /// Uses held by checkouts in flight.
    pub reserved: u64,
    pub status: String,
}

/// A cart as the shopper sees it after applying a code or choosing a shipping method; only
/// what the run reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Cart {
    pub id: String,
    pub subtotal: Money,
    pub discount_total: Money,
    /// The method chosen, priced now; `None` without one.
    pub shipping_method: Option<ShippingQuote>,
    pub shipping_total: Money,
    pub total: Money,
}

/// A shipping option offered to a cart, priced for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ShippingQuote {
    pub option_id: String,
    pub name: String,
    /// Zero when `free_shipping`.
    pub price: Money,
    pub free_shipping: bool,
}

/// `GET /v1/carts/{id}/shipping-options`: cheapest first, empty when no zone serves the
/// cart's country.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ShippingQuotes {
    pub country: String,
    pub data: Vec<ShippingQuote>,
}

/// A shipping zone as staff see it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ShippingZone {
    pub id: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    pub options: Vec<ShippingOption>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ShippingZoneList {
    data: Vec<ShippingZone>,
    has_more: bool,
}

/// An option of a zone, with its price per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingOption {
    /// Empty in a request: the server names new options.
    #[serde(skip_serializing)]
    pub id: String,
    pub name: String,
    pub prices: Vec<ShippingPrice>,
}

/// An option's price in one currency (every amount of it in that currency), as the admin
/// API takes and answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ShippingPrice {
    /// One price whatever the cart.
    Flat {
        amount: Money,
        /// A merchandise subtotal at or above this ships free.
        free_shipping_from: Option<Money>,
    },
    /// A price per band `[from, to)` of the merchandise subtotal; only the last open-ended.
    SubtotalBands {
        bands: Vec<SubtotalBand>,
        free_shipping_from: Option<Money>,
    },
    /// A price per band `[from_grams, to_grams)` of the cart's weight.
    WeightBands {
        bands: Vec<WeightBand>,
        free_shipping_from: Option<Money>,
    },
    /// A shape this generator does not know (a newer server).
    #[serde(other)]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtotalBand {
    pub from: Money,
    /// `None`: no upper end.
    pub to: Option<Money>,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightBand {
    pub from_grams: u64,
    /// `None`: no upper end.
    pub to_grams: Option<u64>,
    pub amount: Money,
}

// ---------- request shapes ----------

/// What a promotion code gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Offer {
    /// A percentage ("10" for 10 %) of the order's lines.
    PercentOff { percent_off: String },
    /// A fixed amount off the order's lines, per currency the code can be used in.
    AmountOff { amount_off: Vec<Money> },
}

/// `POST /v1/admin/promotions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewPromotion {
    pub code: String,
    pub offer: Offer,
    /// `None`: no limit (sent as `null`).
    pub usage_limit: Option<u64>,
}

/// Whether creating a code made it or found it there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    /// 409: a code of that name exists (a re-run against the same store).
    AlreadyExisted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckoutRequest {
    pub email: String,
    /// `None` when the cart has one: the checkout ships there, and repeating a different
    /// address would be refused (`shipping_address_mismatch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    pub payment_method_token: String,
}

// ---------- the client ----------

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// Sent on staff calls (`/v1/admin/...`) only, as a storefront never holds one.
    api_key: Option<String>,
    /// The guest tokens the shoppers were given, as a storefront keeps them: per
    /// `carts/<id>`, `checkouts/<id>` (its cart's token) and `orders/<id>`, the header and
    /// token to send.
    tokens: std::sync::Arc<Mutex<HashMap<String, (&'static str, String)>>>,
}

/// A base URL the client can append path segments to.
pub fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("invalid --base-url {raw:?}: {e}"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("--base-url must be http(s), got {raw:?}"));
    }
    if url.cannot_be_a_base() {
        return Err(format!("--base-url cannot be a base: {raw:?}"));
    }
    Ok(url)
}

impl Client {
    pub fn new(base: Url, connections: usize, api_key: Option<String>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(connections.max(1))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(Self {
            http,
            base,
            api_key,
            tokens: std::sync::Arc::default(),
        })
    }

    /// The same client (connections, API key and the guest tokens it was given) talking to
    /// another instance at `base`: a token given by one instance is good on every instance
    /// sharing its database.
    pub fn at(&self, base: Url) -> Self {
        Self {
            base,
            ..self.clone()
        }
    }

    /// The base URL with `segments` appended, each percent-encoded as one segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends a request; returns status, headers and body of a 2xx response, an error
    /// otherwise.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), ApiError> {
        let staff_call = url.path().contains("/v1/admin/");
        let held = self.token_for(&url);
        let mut request = self.http.request(method, url);
        if let (true, Some(key)) = (staff_call, &self.api_key) {
            request = request.bearer_auth(key);
        }
        if let Some((header, token)) = held {
            request = request.header(header, token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        if status.is_success() {
            Ok((status, headers, bytes.to_vec()))
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after_secs = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            Err(ApiError::RateLimited { retry_after_secs })
        } else {
            let code = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_default();
            Err(ApiError::Status {
                status: status.as_u16(),
                code,
            })
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, ApiError> {
        let (_, _, body) = self.send(Method::GET, url, None, None).await?;
        decode(&body)
    }

    async fn post_json<T: DeserializeOwned>(
        &self,
        url: Url,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
        let (_, _, body) = self
            .send(Method::POST, url, Some(body), idempotency_key)
            .await?;
        decode(&body)
    }

    /// GET /v1/products?limit=100
    pub async fn list_products(&self, limit: u32) -> Result<ProductList, ApiError> {
        let mut url = self.url(&["v1", "products"]);
        url.set_query(Some(&format!("limit={limit}")));
        self.get_json(url).await
    }

    /// POST /v1/carts; returns the cart id, and keeps its token for the cart's later calls.
    pub async fn create_cart(&self, currency: &str) -> Result<String, ApiError> {
        let cart: CreatedCart = self
            .post_json(
                self.url(&["v1", "carts"]),
                &json!({ "currency": currency }),
                None,
            )
            .await?;
        let id = non_empty_id(cart.id)?;
        self.keep(format!("carts/{id}"), CART_TOKEN, cart.cart_token);
        Ok(id)
    }

    fn keep(&self, resource: String, header: &'static str, token: String) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(resource, (header, token));
        }
    }

    /// The token kept for the resource `url` names (`/v1/<kind>/<id>/...`), if any.
    fn token_for(&self, url: &Url) -> Option<(&'static str, String)> {
        let mut segments = url.path_segments()?.skip_while(|s| *s != "v1").skip(1);
        let (kind, id) = (segments.next()?, segments.next()?);
        self.tokens
            .lock()
            .ok()?
            .get(&format!("{kind}/{id}"))
            .cloned()
    }

    /// POST /v1/carts/{id}/items
    pub async fn add_item(&self, cart_id: &str, sku: &str, quantity: u32) -> Result<(), ApiError> {
        self.send(
            Method::POST,
            self.url(&["v1", "carts", cart_id, "items"]),
            Some(&json!({ "sku": sku, "quantity": quantity })),
            None,
        )
        .await
        .map(|_| ())
    }

    /// POST /v1/carts/{id}/checkout; returns the checkout as accepted (its id from the body,
    /// or else from the Location header).
    pub async fn start_checkout(
        &self,
        cart_id: &str,
        idempotency_key: &str,
        request: &CheckoutRequest,
    ) -> Result<Checkout, ApiError> {
        let body = serde_json::to_value(request).map_err(|e| ApiError::Decode(e.to_string()))?;
        let (_, headers, bytes) = self
            .send(
                Method::POST,
                self.url(&["v1", "carts", cart_id, "checkout"]),
                Some(&body),
                Some(idempotency_key),
            )
            .await?;
        let mut checkout: Checkout = if bytes.is_empty() {
            Checkout::default()
        } else {
            decode(&bytes)?
        };
        if checkout.id.is_empty() {
            checkout.id = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| location.trim_end_matches('/').rsplit('/').next())
                .unwrap_or_default()
                .to_owned();
        }
        if checkout.id.is_empty() {
            return Err(ApiError::Decode(
                "checkout accepted without an id or Location".to_owned(),
            ));
        }
        // The checkout is followed with its cart's token.
        if let Some((header, token)) = self.token_for(&self.url(&["v1", "carts", cart_id])) {
            self.keep(format!("checkouts/{}", checkout.id), header, token);
        }
        Ok(checkout)
    }

    /// GET /v1/checkouts/{id}, long-polled for up to `wait_secs` (0: answered at once); keeps
    /// the order's token once it is completed.
    pub async fn get_checkout(&self, id: &str, wait_secs: u64) -> Result<Checkout, ApiError> {
        let mut url = self.url(&["v1", "checkouts", id]);
        if wait_secs > 0 {
            url.query_pairs_mut()
                .append_pair("wait", &wait_secs.to_string());
        }
        let checkout: Checkout = self.get_json(url).await?;
        if let (Some(order), Some(token)) = (&checkout.order_id, &checkout.order_access_token) {
            self.keep(format!("orders/{order}"), ORDER_TOKEN, token.clone());
        }
        Ok(checkout)
    }

    /// GET /v1/orders/{id}
    pub async fn get_order(&self, id: &str) -> Result<Order, ApiError> {
        self.get_json(self.url(&["v1", "orders", id])).await
    }

    /// GET /v1/admin/payments/{id}; `None` on 404.
    pub async fn get_payment(&self, id: &str) -> Result<Option<Payment>, ApiError> {
        none_if_not_found(
            self.get_json(self.url(&["v1", "admin", "payments", id]))
                .await,
        )
    }

    /// GET /v1/admin/inventory/{sku}; `None` on 404 (the SKU is not tracked).
    pub async fn get_stock(&self, sku: &str) -> Result<Option<StockItem>, ApiError> {
        none_if_not_found(
            self.get_json(self.url(&["v1", "admin", "inventory", sku]))
                .await,
        )
    }

    /// POST /v1/admin/orders/{id}/refunds: `quantity` units of `sku` back, restocked.
    pub async fn request_refund(
        &self,
        order_id: &str,
        idempotency_key: &str,
        sku: &str,
        quantity: u32,
    ) -> Result<(), ApiError> {
        let body = json!({
            "lines": [{ "sku": sku, "quantity": quantity }],
            "reason": "loadgen refund mix",
            "restock": true,
        });
        self.send(
            Method::POST,
            self.url(&["v1", "admin", "orders", order_id, "refunds"]),
            Some(&body),
            Some(idempotency_key),
        )
        .await
        .map(|_| ())
    }

    /// POST /v1/admin/promotions; a 409 means the code is there already.
    pub async fn create_promotion(&self, promotion: &NewPromotion) -> Result<Created, ApiError> {
        let body = serde_json::to_value(promotion).map_err(|e| ApiError::Decode(e.to_string()))?;
        let sent = self
            .send(
                Method::POST,
                self.url(&["v1", "admin", "promotions"]),
                Some(&body),
                None,
            )
            .await;
        match sent {
            Ok(_) => Ok(Created::New),
            Err(ApiError::Status { status: 409, .. }) => Ok(Created::AlreadyExisted),
            Err(error) => Err(error),
        }
    }

    /// GET /v1/admin/promotions/{code}; `None` on 404.
    pub async fn get_promotion(&self, code: &str) -> Result<Option<Promotion>, ApiError> {
        none_if_not_found(
            self.get_json(self.url(&["v1", "admin", "promotions", code]))
                .await,
        )
    }

    /// POST /v1/carts/{id}/promotions; a refused code is a 422 whose problem `code` says
    /// why (`promotion_used_up`, ...).
    pub async fn apply_promotion(&self, cart_id: &str, code: &str) -> Result<Cart, ApiError> {
        self.post_json(
            self.url(&["v1", "carts", cart_id, "promotions"]),
            &json!({ "code": code }),
            None,
        )
        .await
    }

    /// Every shipping zone, `GET /v1/admin/shipping-zones` page after page.
    pub async fn list_shipping_zones(&self) -> Result<Vec<ShippingZone>, ApiError> {
        let mut zones: Vec<ShippingZone> = Vec::new();
        loop {
            let mut url = self.url(&["v1", "admin", "shipping-zones"]);
            url.query_pairs_mut().append_pair("limit", "100");
            if let Some(last) = zones.last() {
                url.query_pairs_mut()
                    .append_pair("starting_after", &last.id);
            }
            let page: ShippingZoneList = self.get_json(url).await?;
            let done = !page.has_more || page.data.is_empty();
            zones.extend(page.data);
            if done {
                return Ok(zones);
            }
        }
    }

    /// POST /v1/admin/shipping-zones; a 409 `country_in_another_shipping_zone` means a
    /// country is served already.
    pub async fn create_shipping_zone(
        &self,
        name: &str,
        countries: &[&str],
    ) -> Result<ShippingZone, ApiError> {
        self.post_json(
            self.url(&["v1", "admin", "shipping-zones"]),
            &json!({ "name": name, "countries": countries }),
            None,
        )
        .await
    }

    /// GET /v1/admin/shipping-zones/{id}
    pub async fn get_shipping_zone(&self, id: &str) -> Result<ShippingZone, ApiError> {
        self.get_json(self.url(&["v1", "admin", "shipping-zones", id]))
            .await
    }

    /// POST /v1/admin/shipping-zones/{id}/options; answers the zone.
    pub async fn create_shipping_option(
        &self,
        zone_id: &str,
        option: &ShippingOption,
    ) -> Result<ShippingZone, ApiError> {
        let body = serde_json::to_value(option).map_err(|e| ApiError::Decode(e.to_string()))?;
        self.post_json(
            self.url(&["v1", "admin", "shipping-zones", zone_id, "options"]),
            &body,
            None,
        )
        .await
    }

    /// PUT /v1/carts/{id}/shipping-address
    pub async fn set_shipping_address(
        &self,
        cart_id: &str,
        address: &Address,
    ) -> Result<(), ApiError> {
        let body = serde_json::to_value(address).map_err(|e| ApiError::Decode(e.to_string()))?;
        self.send(
            Method::PUT,
            self.url(&["v1", "carts", cart_id, "shipping-address"]),
            Some(&body),
            None,
        )
        .await
        .map(|_| ())
    }

    /// GET /v1/carts/{id}/shipping-options
    pub async fn shipping_options(&self, cart_id: &str) -> Result<ShippingQuotes, ApiError> {
        self.get_json(self.url(&["v1", "carts", cart_id, "shipping-options"]))
            .await
    }

    /// PUT /v1/carts/{id}/shipping-method; answers the cart, priced with it.
    pub async fn choose_shipping_method(
        &self,
        cart_id: &str,
        option_id: &str,
    ) -> Result<Cart, ApiError> {
        let (_, _, body) = self
            .send(
                Method::PUT,
                self.url(&["v1", "carts", cart_id, "shipping-method"]),
                Some(&json!({ "option_id": option_id })),
                None,
            )
            .await?;
        decode(&body)
    }

    /// POST /v1/admin/inventory/{sku}/receipts
    pub async fn receive_stock(&self, sku: &str, quantity: u32) -> Result<StockItem, ApiError> {
        self.post_json(
            self.url(&["v1", "admin", "inventory", sku, "receipts"]),
            &json!({ "quantity": quantity, "reference": "loadgen restock" }),
            None,
        )
        .await
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode(e.to_string()))
}

fn non_empty_id(id: String) -> Result<String, ApiError> {
    if id.is_empty() {
        Err(ApiError::Decode("response without an id".to_owned()))
    } else {
        Ok(id)
    }
}

fn none_if_not_found<T>(result: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(parse_base_url(base).unwrap(), 1, None).unwrap()
    }

    #[test]
    fn builds_urls_with_encoded_segments() {
        let c = client("http://127.0.0.1:8080");
        assert_eq!(
            c.url(&["v1", "admin", "inventory", "TEE/RED L"]).as_str(),
            "http://127.0.0.1:8080/v1/admin/inventory/TEE%2FRED%20L"
        );
        let c = client("http://127.0.0.1:8080/prefix/");
        assert_eq!(
            c.url(&["v1", "carts"]).as_str(),
            "http://127.0.0.1:8080/prefix/v1/carts"
        );
    }

    #[test]
    fn rejects_unusable_base_urls() {
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert!(parse_base_url("http://localhost:1").is_ok());
    }

    #[test]
    fn decodes_lenient_shapes() {
        let checkout: Checkout = decode(
            br#"{"id":"c1","status":"failed","failure":{"code":"out_of_stock","message":"x"},"extra":1}"#,
        )
        .unwrap();
        assert!(checkout.is_terminal());
        assert_eq!(checkout.failure_code(), "out_of_stock");
        assert_eq!(checkout.payment_id, None);
        let pending: Checkout =
            decode(br#"{"id":"c2","status":"pending","payment_id":null}"#).unwrap();
        assert!(!pending.is_terminal());
        assert_eq!(pending.failure_code(), "unknown");
        let products: ProductList = decode(
            br#"{"data":[{"id":"p","title":"T","variants":[{"sku":"S","prices":[{"amount":"1.00","currency":"EUR"}],"available":3,"in_stock":true}]}],"has_more":false}"#,
        )
        .unwrap();
        assert_eq!(products.data[0].variants[0].available, 3);
    }

    #[test]
    fn decodes_orders_with_and_without_promotion_fields() {
        let order: Order = decode(
            br#"{"id":"o1","status":"paid","subtotal":{"amount":"20.00","currency":"EUR"},
                "discount_total":{"amount":"2.00","currency":"EUR"},
                "shipping_total":{"amount":"4.90","currency":"EUR"},
                "total":{"amount":"22.90","currency":"EUR"},"promotion_code":"LOAD10",
                "lines":[{"sku":"A","quantity":1,"discount":{"amount":"2.00","currency":"EUR"}}]}"#,
        )
        .unwrap();
        assert_eq!(order.promotion_code.as_deref(), Some("LOAD10"));
        assert_eq!(order.discount_total.unwrap().amount, "2.00");
        assert_eq!(order.lines[0].discount.as_ref().unwrap().amount, "2.00");
        let older: Order = decode(
            br#"{"id":"o2","status":"paid","subtotal":{"amount":"20.00","currency":"EUR"},
                "total":{"amount":"20.00","currency":"EUR"},"promotion_code":null,
                "lines":[{"sku":"A","quantity":1}]}"#,
        )
        .unwrap();
        assert_eq!(older.promotion_code, None);
        assert!(older.discount_total.is_none() && older.lines[0].discount.is_none());
        let promotion: Promotion = decode(
            br#"{"code":"LOAD10","usage_limit":null,"times_redeemed":3,"reserved":1,"status":"active"}"#,
        )
        .unwrap();
        assert_eq!((promotion.usage_limit, promotion.times_redeemed), (None, 3));
    }

    #[test]
    fn encodes_new_promotions_as_the_api_takes_them() {
        let percent = NewPromotion {
            code: "LOAD10".to_owned(),
            offer: Offer::PercentOff {
                percent_off: "10".to_owned(),
            },
            usage_limit: Some(50),
        };
        assert_eq!(
            serde_json::to_value(&percent).unwrap(),
            json!({"code":"LOAD10","offer":{"type":"percent_off","percent_off":"10"},"usage_limit":50})
        );
        let amount = NewPromotion {
            code: "LOAD5".to_owned(),
            offer: Offer::AmountOff {
                amount_off: vec![Money {
                    amount: "5.00".to_owned(),
                    currency: "EUR".to_owned(),
                }],
            },
            usage_limit: None,
        };
        assert_eq!(
            serde_json::to_value(&amount).unwrap(),
            json!({"code":"LOAD5","offer":{"type":"amount_off","amount_off":[{"amount":"5.00","currency":"EUR"}]},"usage_limit":null})
        );
    }

    #[test]
    fn classifies_errors() {
        let in_use = ApiError::Status {
            status: 409,
            code: "idempotency_key_in_use".to_owned(),
        };
        assert!(in_use.is_retryable());
        assert_eq!(in_use.status_key(), "409");
        let conflict = ApiError::Status {
            status: 409,
            code: "cart_checked_out".to_owned(),
        };
        assert!(!conflict.is_retryable());
        assert!(ApiError::Transport("x".to_owned()).is_retryable());
        let limited = ApiError::RateLimited {
            retry_after_secs: 600,
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.status_key(), "429");
        assert_eq!(
            limited.retry_after(),
            Some(std::time::Duration::from_secs(60)),
            "waits are capped"
        );
        assert!(none_if_not_found::<()>(Err(ApiError::Status {
            status: 404,
            code: String::new()
        }))
        .unwrap()
        .is_none());
    }
}
