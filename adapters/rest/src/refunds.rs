//! Refunds (admin): requested on the order, which refuses anything over what is left to refund
//! (ADR 0018), then carried out by the refund saga: the money back through the payment
//! provider, the units back into stock if asked, the order told.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::refunds::AdminRefund;
use orders::{RefundItems, RefundLineRequest, ShippingRefund};
use serde::{Deserialize, Serialize};
use shared_kernel::{OrderId, Quantity, RefundId, Sku};
use tokio::time::Instant;
use utoipa::ToSchema;

use crate::dto::{MoneyDto, OrderRefundDto};
use crate::http::{
    id_for_request, idempotency_key, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::long_poll;
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

/// The order's shipping a refund gives back (Shopify's `shipping`): exactly one of
/// `full_refund: true` and `amount`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShippingRefundInput {
    /// `true`: whatever of the shipping no other refund has given back or holds.
    pub full_refund: Option<bool>,
    /// This much of the shipping: in the order's currency, greater than zero, in whole minor
    /// units, at most what is left of it (`shipping_over_refund` otherwise).
    pub amount: Option<MoneyDto>,
}

/// Exactly one of `amount`, `lines` and `shipping`, or `lines` with `shipping`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// Money only, allocated across the order's lines and what is left of its shipping, to
    /// the cent.
    pub amount: Option<MoneyDto>,
    /// Units of lines, at the price paid for them.
    pub lines: Option<Vec<RefundLineInput>>,
    /// Shipping to give back beside the lines, or alone. Without it a refund of lines gives
    /// no shipping back.
    pub shipping: Option<ShippingRefundInput>,
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

fn shipping(input: Option<&ShippingRefundInput>) -> Result<ShippingRefund, ApiError> {
    let Some(input) = input else {
        return Ok(ShippingRefund::None);
    };
    match (input.full_refund, &input.amount) {
        (Some(true), None) => Ok(ShippingRefund::Full),
        (None, Some(amount)) => Ok(ShippingRefund::Amount(amount.to_money("shipping.amount")?)),
        _ => Err(ApiError::validation(
            "shipping",
            "give exactly one of full_refund (true) and amount",
        )),
    }
}

fn items(input: &CreateRefundRequest) -> Result<RefundItems, ApiError> {
    match (&input.amount, &input.lines, &input.shipping) {
        // An amount beside shipping is refused by the order, which says why.
        (Some(amount), None, _) => Ok(RefundItems::Amount(amount.to_money("amount")?)),
        // Shipping alone: a refund of no lines.
        (None, None, Some(_)) => Ok(RefundItems::Lines(Vec::new())),
        (None, Some(lines), _) => {
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
            "give exactly one of amount and lines, or shipping",
        )),
    }
}

/// Refund an order (admin): an amount, or units of its lines and, if asked, its shipping
/// (all or part of what is left of it), or its shipping alone, with a reason. The order sets
/// it aside at once or refuses (`over_refund`, `too_many_units`, `unknown_line`,
/// `shipping_over_refund`, `no_shipping_to_refund`, `shipping_with_amount`,
/// `invalid_shipping_refund`, `order_not_paid`, ...); the money goes back in the background. Requires an
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
        let refund = AdminRefund {
            items: items(&input)?,
            shipping: shipping(input.shipping.as_ref())?,
            restock: input.restock,
            reason: input.reason,
        };
        let refund_id =
            RefundId::from_uuid(id_for_request(&request, "refund", &order_id.to_string()));
        application::refunds::request_refund(
            state.orders.orders().as_ref(),
            order_id,
            refund_id,
            refund,
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

/// How long staff may wait for a refund to settle.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RefundWaitParams {
    /// Seconds to wait, 0 to 30 (default 0), while the refund is still under way: the answer
    /// comes as soon as it is `completed` or `failed`, or when the time is up (ask again).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 30)]
    pub wait: Option<String>,
}

/// Get a refund (admin), with where its saga stands. With `wait`, a refund under way is
/// long-polled until it completes or fails.
#[utoipa::path(
    get, path = "/v1/admin/refunds/{id}", tag = "refunds",
    params(("id" = uuid::Uuid, Path, description = "Refund id"), RefundWaitParams),
    responses(
        (status = 200, body = AdminRefundDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/refunds/{id}")]
pub async fn get_refund(
    state: web::Data<ApiState>,
    id: web::Path<String>,
    params: web::Query<RefundWaitParams>,
) -> HttpResponse {
    respond(
        async {
            let refund_id = RefundId::from_uuid(path_id(&id, "id")?);
            let (wait, until) = long_poll::deadline(params.wait.as_deref(), state.long_poll_max)?;
            let key = refund_id.to_string();
            // Watch before the first read, so that an append during any read still wakes us.
            let watching = (wait > 0).then(|| state.checkout_appends.watch(&key));
            let mut closing = state.streams_closing.clone();
            loop {
                let changed = watching.as_ref().map(runtime::Watching::changed);
                let mut changed = std::pin::pin!(changed);
                if let Some(changed) = changed.as_mut().as_pin_mut() {
                    changed.enable();
                }
                let saga = state
                    .refunds
                    .load(&key)
                    .await
                    .map_err(|error| ApiError::Unavailable(error.to_string()))?;
                let Some(order_id) = saga.aggregate.order_id() else {
                    return Err(ApiError::NotFound { resource: "refund" });
                };
                let settled = matches!(
                    saga.aggregate.status(),
                    Some(refunds::RefundStatus::Completed | refunds::RefundStatus::Failed)
                );
                let now = Instant::now();
                // Time is left only when a wait was asked, and so a watch made.
                let Some(changed) = changed
                    .as_mut()
                    .as_pin_mut()
                    .filter(|_| !settled && now < until && !*closing.borrow())
                else {
                    let dto = refund_dto(&state, order_id, refund_id)
                        .await?
                        .ok_or(ApiError::NotFound { resource: "refund" })?;
                    return Ok(Reply::ok(dto));
                };
                // The store is read each time round (refunds are not held in memory), so
                // what woke the wait does not matter.
                long_poll::wait_for_change(changed, &mut closing, until).await;
            }
        }
        .await,
    )
}
