//! The REST adapter (actix-web): storefront and admin routes under `/v1`, problem+json
//! errors, ETags and If-Match, Idempotency-Key, cursor pagination, the generated OpenAPI
//! document and health probes. It drives the application through ports and knows nothing of
//! the store behind them.

pub mod auth;
pub mod carts;
pub mod checkout_timeline;
pub mod checkouts;
pub mod consistency;
pub mod customers;
pub mod demo;
pub mod documents;
pub mod dto;
pub mod events;
pub mod health;
pub mod http;
pub mod inventory;
pub mod long_poll;
pub mod metrics;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod personal_data;
pub mod problem;
pub mod products;
pub mod promotions;
pub mod refunds;
pub mod returns;
pub mod shipping;
pub mod webhooks;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, HttpResponse};
use application::{CatalogService, OrderService};
use runtime::{CommandExecutor, HealthCheck, IdempotencyStore, ReadModels, WebhookStore};
use shared_kernel::Clock;

use crate::problem::{ApiError, Problem, PROBLEM_JSON};

/// Request bodies larger than this are refused with 413 before they are read in full.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the routes need, as ports; the composition root fills it in.
/// Token buckets per client address, for routes that must not be hammered.
pub type RateLimiter = governor::DefaultKeyedRateLimiter<std::net::IpAddr>;

/// A limiter allowing `per_minute` requests a minute per client address, in bursts of up to
/// `burst`; `None` (no limit) when `per_minute` is 0.
pub fn rate_limiter(per_minute: u32, burst: u32) -> Option<Arc<RateLimiter>> {
    let rate = std::num::NonZeroU32::new(per_minute)?;
    let burst = std::num::NonZeroU32::new(burst.max(1)).unwrap_or(rate);
    let quota = governor::Quota::per_minute(rate).allow_burst(burst);
    Some(Arc::new(RateLimiter::keyed(quota)))
}

/// See [`ApiState::refund_requested`].
pub type RefundRequested = Arc<
    dyn Fn(
            shared_kernel::OrderId,
            shared_kernel::RefundId,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

#[derive(Clone)]
pub struct ApiState {
    pub catalog: Arc<CatalogService>,
    pub carts: Arc<dyn CommandExecutor<::carts::Cart>>,
    pub orders: Arc<OrderService>,
    pub payments: Arc<dyn CommandExecutor<::payments::Payment>>,
    pub inventory: Arc<dyn CommandExecutor<::inventory::StockItem>>,
    /// Promotion codes (ADR 0031): staff command the aggregate and list the read model.
    pub promotions: Arc<dyn CommandExecutor<::coupons::Promotion>>,
    pub promotion_directory: application::PromotionDirectory,
    pub checkouts: Arc<dyn CommandExecutor<::checkout::Checkout>>,
    /// Tells the saga runner in this process that a checkout was recorded, so it starts at
    /// once instead of at its next feed poll. Only latency depends on it: the runner finds
    /// every started checkout in the feed anyway.
    pub checkout_started: Arc<dyn Fn(shared_kernel::CheckoutId) + Send + Sync>,
    /// Called with a boundary's name inside requests (`idempotency_claimed`); the
    /// fault-injection switch kills the process there in crash tests. `None` in production.
    pub request_boundary: Option<application::saga::StepBoundaryHook>,
    /// Checkout starts per client address (`COMMERCE_CHECKOUT_RATE_PER_MINUTE`); `None`: no
    /// limit.
    pub checkout_limiter: Option<Arc<RateLimiter>>,
    /// Locks a cart and records its checkout (the use case the checkout route runs).
    pub checkout_starter: Arc<application::checkout_start::CheckoutStarter>,
    /// Applies and prices promotion codes on carts.
    pub cart_promotions: Arc<application::cart_promotions::CartPromotions>,
    /// Quotes, sets and chooses shipping on carts.
    pub cart_shipping: Arc<application::cart_shipping::CartShipping>,
    /// Prices carts (code, shipping, tax) as the storefront shows them and checkouts charge.
    pub cart_totals: Arc<application::cart_totals::CartTotals>,
    pub refunds: Arc<dyn CommandExecutor<::refunds::Refund>>,
    /// Starts the refund saga for a refund its order just set aside (awaited, so the refund
    /// can be read at once) and lets it run in the background. Only latency depends on it:
    /// the saga runner finds every requested refund in the feed anyway.
    pub refund_requested: RefundRequested,
    pub returns: Arc<dyn CommandExecutor<::refunds::Return>>,
    /// Tells the return saga in this process that goods arrived, so their refund starts at
    /// once; the saga runner finds every receipt in the feed anyway.
    pub return_received: Arc<dyn Fn(::refunds::ReturnId) + Send + Sync>,
    pub read_models: Arc<dyn ReadModels>,
    /// How far the read models have projected, for requests naming a position to read their
    /// own writes (ADR 0040); `None` serves them at once.
    pub read_progress: Option<Arc<runtime::ReadProgress>>,
    /// Longest such a request waits for the read models before `503 read_model_behind`.
    pub read_wait_max: std::time::Duration,
    /// Published events for internal services, read from the feed (ADR 0015).
    pub published: runtime::PublishedFeed,
    /// Wakes long-polls and event streams when events may have been appended.
    pub feed_signal: runtime::FeedSignal,
    /// Wakes the long-polls of a checkout (shoppers) or a refund (staff) when it changes in
    /// this process; streams are keyed by their UUIDs, which no two aggregates share.
    pub checkout_appends: Arc<runtime::AppendWatch>,
    /// Longest a long-poll waits, whatever it asks for (`COMMERCE_LONG_POLL_MAX_SECS`).
    pub long_poll_max: std::time::Duration,
    /// Turns true when the server is stopping, so that endless event streams end.
    pub streams_closing: tokio::sync::watch::Receiver<bool>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Where a checkout's payment method token waits, never in an event (ADR 0016).
    pub payment_tokens: Arc<dyn ::payments::PaymentMethodTokens>,
    pub health: Arc<dyn HealthCheck>,
    pub clock: Arc<dyn Clock>,
    pub webhooks: Arc<dyn WebhookStore>,
    /// The API keys staff tools and services authenticate with (ADR 0023).
    pub api_keys: Arc<dyn accounts::ApiKeys>,
    /// Mints and checks guest cart and order access tokens (ADR 0024).
    pub access_tokens: application::access_tokens::AccessTokens,
    /// Exports and erases a shopper's personal data (ADR 0026).
    pub personal_data: Arc<application::personal_data::PersonalData>,
    /// Checkout timelines for operators, read from the event streams.
    pub checkout_timelines: Arc<application::checkout_timeline::CheckoutTimelines>,
    /// Customer registration, login, refresh and access tokens (ADR 0025).
    pub customers: Arc<application::customers::CustomerAccounts>,
    /// Customers' open carts, and taking guest carts over at login (ADR 0027).
    pub customer_carts: Arc<application::customer_carts::CustomerCarts>,
    /// Shipping zones and their options: staff commands and the zones read model.
    pub shipping: Arc<application::shipping::ShippingZones>,
    /// Customers' profiles and address books (ADR 0027).
    pub profiles: Arc<application::profiles::CustomerProfileBook>,
    /// Registrations and logins per client address (`COMMERCE_AUTH_RATE_PER_MINUTE`); `None`:
    /// no limit.
    pub auth_limiter: Option<Arc<RateLimiter>>,
    /// A new webhook signing secret in its text form (`whsec_...`), from the webhooks
    /// adapter; fails only when the system's random source does.
    pub webhook_secrets: Arc<dyn Fn() -> Result<String, String> + Send + Sync>,
    /// What `GET /metrics` reads from the store at each scrape (ADR 0030).
    pub gauges: Gauges,
}

/// The store's side of the metrics, read at each scrape.
#[derive(Clone)]
pub struct Gauges {
    pub store: Arc<dyn runtime::StoreGauges>,
    /// Every feed consumer's checkpoint name: projectors, saga runners, relay, webhooks.
    pub consumers: Arc<Vec<String>>,
    /// `sqlite` or `postgres`, the pool label.
    pub pool_name: &'static str,
}

/// Registers every route, extractor limit and error handler on an actix `App`.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config: &mut web::ServiceConfig| {
        config
            .app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                let detail = error.to_string();
                let field = detail.split('`').nth(1).unwrap_or("query").to_owned();
                ApiError::validation(field, detail).into()
            }))
            .service(health::live)
            .service(health::ready)
            .service(metrics::scrape)
            .service(openapi::document)
            .service(openapi::docs_page)
            .service(openapi::redoc_bundle)
            .service(demo::page)
            .service(demo::script)
            .service(demo::styles)
            .service(products::list_products)
            .service(products::get_product)
            .service(products::create_product)
            .service(products::get_admin_product)
            .service(products::change_price)
            .service(products::change_weight)
            .service(products::change_tax_class)
            .service(products::publish)
            .service(products::unpublish)
            .service(customers::register)
            .service(customers::login)
            .service(customers::refresh)
            .service(customers::logout)
            .service(customers::me)
            .service(customers::my_orders)
            .service(customers::update_me)
            .service(customers::my_cart)
            .service(customers::my_addresses)
            .service(customers::add_address)
            .service(customers::delete_address)
            .service(carts::take_over_cart)
            .service(carts::create_cart)
            .service(carts::get_cart)
            .service(carts::add_item)
            .service(carts::change_quantity)
            .service(carts::remove_item)
            .service(carts::apply_promotion)
            .service(carts::remove_promotion)
            .service(carts::set_shipping_address)
            .service(carts::shipping_options)
            .service(carts::choose_shipping_method)
            .service(orders::place_order)
            .service(orders::get_order)
            .service(orders::list_orders)
            .service(orders::get_order_by_number)
            .service(documents::get_invoice)
            .service(documents::get_invoice_html)
            .service(documents::list_credit_notes)
            .service(documents::get_credit_note)
            .service(documents::get_credit_note_html)
            .service(orders::fulfill)
            .service(orders::cancel)
            .service(personal_data::erase_guest_order)
            .service(personal_data::erase_customer)
            .service(personal_data::export_customer)
            .service(orders::mark_paid)
            .service(orders::complete)
            .service(payments::authorize)
            .service(payments::get_payment)
            .service(payments::capture)
            .service(payments::void)
            .service(payments::reconcile)
            .service(refunds::create_refund)
            .service(refunds::get_refund)
            .service(returns::create_return)
            .service(returns::get_return)
            .service(returns::approve_return)
            .service(returns::reject_return)
            .service(returns::receive_return)
            .service(shipping::create_zone)
            .service(shipping::list_zones)
            .service(shipping::get_zone)
            .service(shipping::update_zone)
            .service(shipping::delete_zone)
            .service(shipping::create_option)
            .service(shipping::update_option)
            .service(shipping::delete_option)
            .service(inventory::receive)
            .service(inventory::adjust)
            .service(inventory::get_stock)
            .service(promotions::create_promotion)
            .service(promotions::list_promotions)
            .service(promotions::get_promotion)
            .service(promotions::update_promotion)
            .service(promotions::deactivate_promotion)
            .service(checkouts::start_checkout)
            .service(checkouts::get_checkout)
            .service(checkouts::list_checkouts)
            .service(checkout_timeline::checkout_timeline)
            .service(events::list_events)
            .service(events::stream_events)
            .service(events::event_schemas)
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::get_webhook)
            .service(webhooks::update_webhook)
            .service(webhooks::delete_webhook)
            .service(webhooks::list_deliveries)
            .service(webhooks::redeliver)
            .default_service(web::to(route_not_found));
    }
}

/// Headers every answer carries: an API answer is data, never a page to render, frame or
/// sniff. The docs page and the demo storefront set their own, looser, content security
/// policies.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
}

/// Cross-origin access for the configured storefront origins only (none when empty): the
/// methods and headers the API uses, and the response headers a storefront needs to read.
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-correlation-id"),
            header::HeaderName::from_static(consistency::MIN_POSITION),
        ])
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            header::RETRY_AFTER,
            header::HeaderName::from_static("idempotent-replayed"),
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("x-correlation-id"),
            header::HeaderName::from_static(consistency::POSITION),
        ])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

async fn route_not_found(request: HttpRequest) -> HttpResponse {
    Problem::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "route_not_found",
        format!("no route for {} {}", request.method(), request.path()),
    )
    .to_response()
}

/// Turns every error answer that is not already problem+json (an oversized body, a failure
/// inside actix) into one, so clients only ever parse one error shape.
pub fn problem_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(as_problem)
}

fn as_problem<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let (code, detail) = match status.as_u16() {
        413 => (
            "payload_too_large",
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        ),
        404 => ("route_not_found", "no such route".to_owned()),
        405 => ("method_not_allowed", "method not allowed here".to_owned()),
        s if s >= 500 => {
            tracing::error!(status = s, "unexpected server error");
            ("internal_error", "an unexpected error occurred".to_owned())
        }
        _ => (
            "bad_request",
            "the request could not be processed".to_owned(),
        ),
    };
    let (request, _) = response.into_parts();
    let problem = Problem::new(status, code, detail).to_response();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, problem).map_into_right_body(),
    ))
}

/// The trace context a storefront sent (`traceparent`, `tracestate`), if it is valid.
fn remote_parent(headers: &header::HeaderMap) -> Option<opentelemetry::Context> {
    let traceparent = headers.get("traceparent")?.to_str().ok()?;
    let tracestate = headers.get("tracestate").and_then(|v| v.to_str().ok());
    runtime::telemetry::parent_context(traceparent, tracestate)
}

/// Names the request and its flow, runs it inside that flow, and logs one line with its
/// status and duration.
///
/// The request id is the caller's `X-Request-Id` when it is a UUID, else a new one; the
/// correlation id is the caller's `X-Correlation-Id` when it is a UUID, else the request id.
/// Every event the request causes records both (ADR 0014), and the answer carries both, so a
/// storefront can follow its checkout through the event feed.
pub async fn trace_requests(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = request.method().clone();
    let path = request.path().to_owned();
    let header_uuid = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| uuid::Uuid::parse_str(value.trim()).ok())
    };
    let request_id = header_uuid(http::REQUEST_ID).unwrap_or_else(uuid::Uuid::now_v7);
    let correlation_id = header_uuid(http::CORRELATION_ID).unwrap_or(request_id);
    let cause = runtime::Cause {
        correlation_id,
        causation_id: request_id,
    };
    // The route template (`/v1/carts/{id}`), never the path, names the span and labels the
    // metrics; the resource map knows it before routing runs.
    let route = request
        .resource_map()
        .match_pattern(&path)
        .unwrap_or_else(|| "unmatched".to_owned());
    // The server span (ADR 0030): a child of the storefront's `traceparent` when it sends one.
    let span = tracing::info_span!(
        parent: None,
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.path = %path,
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        commerce.request_id = %request_id,
        commerce.correlation_id = %correlation_id,
    );
    if let Some(parent) = remote_parent(request.headers()) {
        let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
    }
    let started = std::time::Instant::now();
    let mut response = runtime::telemetry::traced(
        span.clone(),
        runtime::causation::within(cause, next.call(request)),
    )
    .await?;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    runtime::metrics().request(method.as_str(), &route, status.as_u16(), started.elapsed());
    for (name, id) in [
        (http::REQUEST_ID, request_id),
        (http::CORRELATION_ID, correlation_id),
    ] {
        if let Ok(value) = header::HeaderValue::from_str(&id.to_string()) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static(name), value);
        }
    }
    let _entered = span.enter();
    tracing::info!(
        %method,
        %path,
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        %request_id,
        %correlation_id,
        "request"
    );
    Ok(response)
}
