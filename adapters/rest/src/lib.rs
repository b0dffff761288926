//! The REST adapter (actix-web): storefront and admin routes under `/v1`, problem+json
//! errors, ETags and If-Match, Idempotency-Key, cursor pagination, the generated OpenAPI
//! document and health probes. It drives the application through ports and knows nothing of
//! the store behind them.

pub mod carts;
pub mod checkouts;
pub mod dto;
pub mod health;
pub mod http;
pub mod inventory;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod problem;
pub mod products;
pub mod webhooks;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, HttpResponse};
use application::{CatalogService, OrderService};
use runtime::{
    CommandExecutor, EventContracts, HealthCheck, IdempotencyStore, ReadModels, WebhookStore,
};
use shared_kernel::Clock;

use crate::problem::{ApiError, Problem, PROBLEM_JSON};

/// Request bodies larger than this are refused with 413 before they are read in full.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the routes need, as ports; the composition root fills it in.
#[derive(Clone)]
pub struct ApiState {
    pub catalog: Arc<CatalogService>,
    pub carts: Arc<dyn CommandExecutor<::carts::Cart>>,
    pub orders: Arc<OrderService>,
    pub payments: Arc<dyn CommandExecutor<::payments::Payment>>,
    pub inventory: Arc<dyn CommandExecutor<::inventory::StockItem>>,
    pub checkouts: Arc<dyn CommandExecutor<::checkout::Checkout>>,
    /// Tells the saga runner in this process that a checkout was recorded, so it starts at
    /// once instead of at its next feed poll. Only latency depends on it: the runner finds
    /// every started checkout in the feed anyway.
    pub checkout_started: Arc<dyn Fn(shared_kernel::CheckoutId) + Send + Sync>,
    pub read_models: Arc<dyn ReadModels>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub health: Arc<dyn HealthCheck>,
    pub clock: Arc<dyn Clock>,
    /// The published contracts: which event types webhooks may subscribe to.
    pub event_contracts: Arc<dyn EventContracts>,
    pub webhooks: Arc<dyn WebhookStore>,
    /// A new webhook signing secret in its text form (`whsec_...`), from the webhooks
    /// adapter; fails only when the system's random source does.
    pub webhook_secrets: Arc<dyn Fn() -> Result<String, String> + Send + Sync>,
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
            .service(openapi::document)
            .service(openapi::docs_page)
            .service(products::list_products)
            .service(products::get_product)
            .service(products::create_product)
            .service(products::get_admin_product)
            .service(products::change_price)
            .service(products::publish)
            .service(products::unpublish)
            .service(carts::create_cart)
            .service(carts::get_cart)
            .service(carts::add_item)
            .service(carts::change_quantity)
            .service(carts::remove_item)
            .service(orders::place_order)
            .service(orders::get_order)
            .service(orders::list_orders)
            .service(orders::fulfill)
            .service(orders::cancel)
            .service(orders::mark_paid)
            .service(orders::complete)
            .service(payments::authorize)
            .service(payments::get_payment)
            .service(payments::capture)
            .service(payments::void)
            .service(payments::refund)
            .service(payments::reconcile)
            .service(inventory::receive)
            .service(inventory::adjust)
            .service(inventory::get_stock)
            .service(checkouts::start_checkout)
            .service(checkouts::get_checkout)
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

/// Logs one line per request with its status and duration.
pub async fn trace_requests(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = request.method().clone();
    let path = request.path().to_owned();
    let started = std::time::Instant::now();
    let response = next.call(request).await?;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}
