//! Inventory routes (admin): receive stock, adjust it with a reason, and read a SKU's levels
//! and reservations. Reservations themselves are made by the checkout saga.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use inventory::{AdjustmentReason, StockCommand, StockItem};
use shared_kernel::{Quantity, Sku};

use crate::dto::{AdjustStockRequest, ReceiveStockRequest, StockItemDto};
use crate::http::{command_reply, idempotent, json_body, respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

fn sku_from_path(raw: &str) -> Result<Sku, ApiError> {
    Sku::parse(raw).map_err(|e| ApiError::validation("sku", e.to_string()))
}

/// Receive stock for a SKU (admin); the first receipt starts tracking it.
#[utoipa::path(
    post, path = "/v1/admin/inventory/{sku}/receipts", tag = "inventory",
    request_body = ReceiveStockRequest,
    params(("sku" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "SKU")),
    responses(
        (status = 200, body = StockItemDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/inventory/{sku}/receipts")]
pub async fn receive(
    state: web::Data<ApiState>,
    request: HttpRequest,
    sku: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let sku = sku_from_path(&sku)?;
        let input: ReceiveStockRequest = json_body(&request, &body)?;
        let quantity = u32::try_from(input.quantity)
            .ok()
            .and_then(|q| Quantity::new(q).ok())
            .ok_or_else(|| ApiError::validation("quantity", "must be a positive integer"))?;
        let command = StockCommand::ReceiveStock {
            sku: sku.clone(),
            quantity,
            reference: input.reference,
        };
        stock_command(&state, &request, &sku, command).await
    })
    .await
}

/// Correct the stock on hand, with a reason (admin).
#[utoipa::path(
    post, path = "/v1/admin/inventory/{sku}/adjustments", tag = "inventory",
    request_body = AdjustStockRequest,
    params(("sku" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "SKU")),
    responses(
        (status = 200, body = StockItemDto, headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/inventory/{sku}/adjustments")]
pub async fn adjust(
    state: web::Data<ApiState>,
    request: HttpRequest,
    sku: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let sku = sku_from_path(&sku)?;
        let input: AdjustStockRequest = json_body(&request, &body)?;
        let reason = match (input.reason.as_str(), input.note.as_deref()) {
            ("damaged", None) => AdjustmentReason::Damaged,
            ("lost", None) => AdjustmentReason::Lost,
            ("found", None) => AdjustmentReason::Found,
            ("recount", None) => AdjustmentReason::Recount,
            ("returned", None) => AdjustmentReason::Returned,
            ("other", Some(note)) => AdjustmentReason::other(note).map_err(ApiError::from)?,
            ("other", None) => {
                return Err(ApiError::validation("note", "required for reason other"))
            }
            (_, Some(_)) => {
                return Err(ApiError::validation(
                    "note",
                    "only allowed with reason other",
                ))
            }
            _ => {
                return Err(ApiError::validation(
                    "reason",
                    "one of damaged, lost, found, recount, returned, other",
                ))
            }
        };
        let command = StockCommand::AdjustStock {
            sku: sku.clone(),
            delta: input.delta,
            reason,
        };
        stock_command(&state, &request, &sku, command).await
    })
    .await
}

/// A SKU's stock levels and reservations (admin).
#[utoipa::path(
    get, path = "/v1/admin/inventory/{sku}", tag = "inventory",
    params(("sku" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "SKU")),
    responses(
        (status = 200, body = StockItemDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/inventory/{sku}")]
pub async fn get_stock(state: web::Data<ApiState>, sku: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let sku = sku_from_path(&sku)?;
            let loaded = state.inventory.load(&StockItem::aggregate_id(&sku)).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound {
                    resource: "stock_item",
                });
            }
            let dto = StockItemDto::from_item(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

async fn stock_command(
    state: &ApiState,
    request: &HttpRequest,
    sku: &Sku,
    command: StockCommand,
) -> Result<Reply, ApiError> {
    let id = StockItem::aggregate_id(sku);
    command_reply(
        state.inventory.as_ref(),
        request,
        ADMIN,
        &id,
        command,
        StockItemDto::from_item,
    )
    .await
}
