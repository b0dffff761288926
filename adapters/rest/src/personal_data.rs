//! Staff operations on a shopper's personal data (ADR 0026): export everything kept about a
//! customer, erase a customer, erase a guest's order. Erasure deletes the person's data key,
//! so their sealed events read as erased everywhere, and records the erasure on each order.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::personal_data::Erasure;
use serde::Serialize;
use shared_kernel::{CustomerId, OrderId};
use utoipa::ToSchema;

use crate::customers::CustomerDto;
use crate::dto::OrderDto;
use crate::http::{idempotent, metadata, path_id, respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

/// What an erasure did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureDto {
    /// The orders whose email and address now read as erased.
    pub orders: Vec<String>,
    /// Whether this request deleted the customer's account (false when repeated, and for a
    /// guest's order).
    pub account_deleted: bool,
    /// How many data keys this request deleted (0 when repeated).
    pub keys_deleted: u64,
}

impl From<Erasure> for ErasureDto {
    fn from(erasure: Erasure) -> Self {
        Self {
            orders: erasure.orders.iter().map(ToString::to_string).collect(),
            account_deleted: erasure.account_deleted,
            keys_deleted: erasure.keys_deleted,
        }
    }
}

/// Everything kept about a customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerExportDto {
    pub customer: CustomerDto,
    /// Every order of the customer, read from its events, newest first.
    pub orders: Vec<OrderDto>,
}

/// Export everything kept about a customer: the account and every order (admin).
#[utoipa::path(
    get, path = "/v1/admin/customers/{id}/export", tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, body = CustomerExportDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/customers/{id}/export")]
pub async fn export_customer(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = CustomerId::from_uuid(path_id(&id, "id")?);
            let export = state.personal_data.export_customer(id).await?;
            let mut orders: Vec<OrderDto> = export
                .orders
                .iter()
                .map(|(order, version)| OrderDto::from_order(order, *version))
                .collect();
            orders.sort_by(|a, b| b.placed_at.cmp(&a.placed_at));
            Ok::<_, ApiError>(Reply::ok(CustomerExportDto {
                customer: CustomerDto::from(&export.customer),
                orders,
            }))
        }
        .await,
    )
}

/// Erase a customer at their request: the account, and the email and address of every order
/// (admin). Events are kept; what they held of the person reads as erased from now on.
/// Repeating it is harmless.
#[utoipa::path(
    post, path = "/v1/admin/customers/{id}/erasure", tag = "customers",
    params(
        ("id" = uuid::Uuid, Path, description = "Customer id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = ErasureDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/customers/{id}/erasure")]
pub async fn erase_customer(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = CustomerId::from_uuid(path_id(&id, "id")?);
        let erasure = state
            .personal_data
            .erase_customer(id, &metadata(ADMIN))
            .await?;
        Ok(Reply::ok(ErasureDto::from(erasure)))
    })
    .await
}

/// Erase the email and address of a guest's order at the guest's request (admin). A
/// customer's order is erased with its customer. Repeating it is harmless.
#[utoipa::path(
    post, path = "/v1/admin/orders/{id}/erasure", tag = "orders",
    params(
        ("id" = uuid::Uuid, Path, description = "Order id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe"),
    ),
    responses(
        (status = 200, body = ErasureDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders/{id}/erasure")]
pub async fn erase_guest_order(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = OrderId::from_uuid(path_id(&id, "id")?);
        let erasure = state
            .personal_data
            .erase_guest_order(id, &metadata(ADMIN))
            .await?;
        Ok(Reply::ok(ErasureDto::from(erasure)))
    })
    .await
}
