//! Refunds (admin): requested on the order, which refuses anything over what is left to refund
//! (ADR 0018), then carried out by the refund saga: the money back through the payment
//! provider, the units back into stock if asked, the order told.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use orders::{RefundItems, RefundLineRequest};
use serde::{Deserialize, Serialize};
use shared_kernel::{OrderId, Quantity, RefundId, Sku};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, OrderRefundDto};
use crate::http::{
    id_for_request, idempotency_key, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

/// Longest list of lines one refund may name (an order has at most 100).
const MAX_REFUND_LINES: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineInput {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    /// At least 1: units of the line to give back.
    #[schema(minimum = 1)]
    pub quantity: u32,
}

/// Exactly one of `amount` and `lines`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// Money only, allocated across the order's lines to the cent.
    pub amount: Option<MoneyDto>,
    /// Units of lines, at the price paid for them.
    pub lines: Option<Vec<RefundLineInput>>,
    /// Why: shown to staff and kept with the refund (1 to 500 characters).
    pub reason: String,
    /// Put the units given back into stock (lines only). Default false.
    #[serde(default)]
    pub restock: bool,
}

/// A refund and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminRefundDto {
    #[serde(flatten)]
    pub refund: OrderRefundDto,
    pub order_id: String,
    /// Where the refund saga is: `pending` (not started yet), `refunding_payment`,
    /// `finalizing` (the money went back; restocking and updating the order), `releasing`,
    /// `completed` or `failed` (see `failure_reason`).
    pub progress: String,
    /// The payment provider's reason, when the money could not be given back.
    pub failure_reason: Option<String>,
}

fn progress_of(refund: Option<&refunds::Refund>) -> (String, Option<String>) {
    let status = refund
        .and_then(refunds::Refund::status)
        .map_or_else(|| "pending".to_owned(), |status| status.to_string());
    let reason = refund.and_then(|r| r.failure_reason().map(str::to_owned));
    (status, reason)
}

async fn refund_dto(
    state: &ApiState,
    order_id: OrderId,
    refund_id: RefundId,
) -> Result<Option<AdminRefundDto>, ApiError> {
    let order = state.orders.orders().load(&order_id.to_string()).await?;
    let Some(recorded) = order.aggregate.refund(refund_id) else {
        return Ok(None);
    };
    let saga = state
        .refunds
        .load(&refund_id.to_string())
        .await
        .map_err(|error| ApiError::Unavailable(error.to_string()))?;
    let (progress, failure_reason) = progress_of((saga.version > 0).then_some(&saga.aggregate));
    Ok(Some(AdminRefundDto {
        refund: OrderRefundDto::from_refund(recorded),
        order_id: order_id.to_string(),
        progress,
        failure_reason,
    }))
}

fn items(input: &CreateRefundRequest) -> Result<RefundItems, ApiError> {
    match (&input.amount, &input.lines) {
        (Some(amount), None) => Ok(RefundItems::Amount(amount.to_money("amount")?)),
        (None, Some(lines)) => {
            if lines.len() > MAX_REFUND_LINES {
                return Err(ApiError::validation(
                    "lines",
                    format!("at most {MAX_REFUND_LINES} lines"),
                ));
            }
            let lines = lines
                .iter()
                .enumerate()
                .map(|(index, line)| {
                    let sku = Sku::parse(&line.sku).map_err(|error| {
                        ApiError::validation(format!("lines[{index}].sku"), error.to_string())
                    })?;
                    let quantity = Quantity::new(line.quantity).map_err(|error| {
                        ApiError::validation(format!("lines[{index}].quantity"), error.to_string())
                    })?;
                    Ok(RefundLineRequest { sku, quantity })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(RefundItems::Lines(lines))
        }
        _ => Err(ApiError::validation(
            "amount",
            "give exactly one of amount and lines",
        )),
    }
}

/// Refund an order (admin): an amount, or units of its lines, with a reason. The order sets
/// it aside at once or refuses (`over_refund`, `too_many_units`, `unknown_line`,
/// `order_not_paid`, ...); the money goes back in the background. Requires an
/// `Idempotency-Key`: the refund's id derives from it, so a retry never refunds twice.
#[utoipa::path(
    post, path = "/v1/admin/orders/{id}/refunds", tag = "refunds",
    request_body = CreateRefundRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Order id"),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = "Required: the refund's identity"),
    ),
    responses(
        (status = 202, body = AdminRefundDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders/{id}/refunds")]
pub async fn create_refund(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    match idempotency_key(request.headers()) {
        Ok(Some(_)) => {}
        Ok(None) => return respond(Err(ApiError::IdempotencyKeyRequired)),
        Err(error) => return respond(Err(error)),
    }
    idempotent(&state, &request, &body, || async {
        let order_id = OrderId::from_uuid(path_id(&id, "id")?);
        let input: CreateRefundRequest = json_body(&request, &body)?;
        let items = items(&input)?;
        let refund_id =
            RefundId::from_uuid(id_for_request(&request, "refund", &order_id.to_string()));
        application::refunds::request_refund(
            state.orders.orders().as_ref(),
            order_id,
            refund_id,
            items,
            input.restock,
            input.reason,
            &metadata(ADMIN),
        )
        .await
        .map_err(|error| match error {
            application::refunds::RequestRefundError::Refused(error) => error.into(),
            application::refunds::RequestRefundError::Store(error) => ApiError::Unavailable(error),
        })?;
        (state.refund_requested)(order_id, refund_id).await;
        let dto = refund_dto(&state, order_id, refund_id)
            .await?
            .ok_or(ApiError::NotFound { resource: "refund" })?;
        Ok(Reply::accepted(
            dto,
            format!("/v1/admin/refunds/{refund_id}"),
        ))
    })
    .await
}

/// Get a refund (admin), with where its saga stands.
#[utoipa::path(
    get, path = "/v1/admin/refunds/{id}", tag = "refunds",
    params(("id" = uuid::Uuid, Path, description = "Refund id")),
    responses(
        (status = 200, body = AdminRefundDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/refunds/{id}")]
pub async fn get_refund(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let refund_id = RefundId::from_uuid(path_id(&id, "id")?);
            let saga = state
                .refunds
                .load(&refund_id.to_string())
                .await
                .map_err(|error| ApiError::Unavailable(error.to_string()))?;
            let Some(order_id) = saga.aggregate.order_id() else {
                return Err(ApiError::NotFound { resource: "refund" });
            };
            let dto = refund_dto(&state, order_id, refund_id)
                .await?
                .ok_or(ApiError::NotFound { resource: "refund" })?;
            Ok(Reply::ok(dto))
        }
        .await,
    )
}
