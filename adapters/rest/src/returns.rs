//! Returns: a shopper asks to send goods back, staff approve or reject, then record what
//! arrived and which units can be sold again. The refund starts on receipt (the return saga),
//! for the units received; only the resellable ones go back into stock.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::refunds::{request_return, NewReturn, ReturnRequestError};
use refunds::{ReceivedLine, Return, ReturnCommand, ReturnId, ReturnLine};
use serde::{Deserialize, Serialize};
use shared_kernel::{OrderId, Quantity, Sku};
use utoipa::ToSchema;

use crate::http::{
    command_reply, id_for_request, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const SHOPPER: &str = "shopper";
const ADMIN: &str = "admin";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLineInput {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    /// At least 1.
    #[schema(minimum = 1)]
    pub quantity: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReturnRequest {
    /// 1 to 100 lines of the order, each at most once.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<ReturnLineInput>,
    /// 1 to 500 characters.
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectReturnRequest {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLineInput {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    /// Units that arrived (at most what the return named).
    pub quantity: u32,
    /// Of those, units that can be sold again and go back into stock.
    pub resellable: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveReturnRequest {
    pub lines: Vec<ReceivedLineInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnLineDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceivedLineDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub quantity: u32,
    pub resellable: u32,
}

/// A return and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnDto {
    pub id: String,
    pub order_id: String,
    /// `requested`, `approved`, `rejected`, `received`, `refunding`, `refunded` or
    /// `refund_failed`.
    pub status: String,
    pub lines: Vec<ReturnLineDto>,
    pub reason: String,
    /// RFC 3339.
    pub requested_at: String,
    /// What arrived, once received.
    pub received: Vec<ReceivedLineDto>,
    pub rejection: Option<String>,
    /// Why the refund could not be made, when it could not.
    pub failure: Option<String>,
    /// The refund paying the return back (`GET /v1/admin/refunds/{id}`), once received.
    pub refund_id: Option<String>,
    pub version: u64,
}

impl ReturnDto {
    fn from_return(ret: &Return, version: u64) -> Self {
        let status = ret.status();
        let received = !matches!(
            status,
            None | Some(
                refunds::ReturnStatus::Requested
                    | refunds::ReturnStatus::Approved
                    | refunds::ReturnStatus::Rejected
            )
        );
        Self {
            id: ret.id().map(|id| id.to_string()).unwrap_or_default(),
            order_id: ret.order_id().map(|id| id.to_string()).unwrap_or_default(),
            status: status.map(|s| s.to_string()).unwrap_or_default(),
            lines: ret
                .lines()
                .iter()
                .map(|l| ReturnLineDto {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                })
                .collect(),
            reason: ret.reason().unwrap_or_default().to_owned(),
            requested_at: ret
                .requested_at()
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            received: ret
                .received()
                .iter()
                .map(|l| ReceivedLineDto {
                    sku: l.sku.clone(),
                    quantity: l.received,
                    resellable: l.resellable,
                })
                .collect(),
            rejection: ret.rejection().map(str::to_owned),
            failure: ret.failure().map(str::to_owned),
            refund_id: received
                .then(|| ret.id().map(|id| id.refund_id().to_string()))
                .flatten(),
            version,
        }
    }
}

fn sku_at(raw: &str, field: String) -> Result<Sku, ApiError> {
    Sku::parse(raw).map_err(|error| ApiError::validation(field, error.to_string()))
}

fn return_id(raw: &str) -> Result<ReturnId, ApiError> {
    Ok(ReturnId::from_uuid(path_id(raw, "id")?))
}

/// Ask to send goods of an order back. Staff approve or reject it; the refund starts once the
/// goods arrive.
#[utoipa::path(
    post, path = "/v1/orders/{id}/returns", tag = "returns",
    request_body = CreateReturnRequest,
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 201, body = ReturnDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/orders/{id}/returns")]
pub async fn create_return(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let order_id = OrderId::from_uuid(path_id(&id, "id")?);
        let input: CreateReturnRequest = json_body(&request, &body)?;
        if input.lines.is_empty() || input.lines.len() > refunds::returns::MAX_RETURN_LINES {
            return Err(ApiError::validation("lines", "give 1 to 100 lines"));
        }
        let lines = input
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                Ok(ReturnLine {
                    sku: sku_at(&line.sku, format!("lines[{index}].sku"))?,
                    quantity: Quantity::new(line.quantity).map_err(|error| {
                        ApiError::validation(format!("lines[{index}].quantity"), error.to_string())
                    })?,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let return_id =
            ReturnId::from_uuid(id_for_request(&request, "return", &order_id.to_string()));
        let created = request_return(
            state.orders.orders().as_ref(),
            state.returns.as_ref(),
            NewReturn {
                order_id,
                return_id,
                lines,
                reason: input.reason,
                now: state.clock.now(),
            },
            &metadata(SHOPPER),
        )
        .await
        .map_err(|error| match error {
            ReturnRequestError::Order(error) => error.into(),
            ReturnRequestError::Return(error) => error.into(),
            ReturnRequestError::Store(error) => ApiError::Unavailable(error),
        })?;
        let version = state
            .returns
            .load(&return_id.to_string())
            .await
            .map_err(|error| ApiError::Unavailable(error.to_string()))?
            .version;
        Ok(Reply::created(
            ReturnDto::from_return(&created, version),
            format!("/v1/returns/{return_id}"),
        )
        .etag(version))
    })
    .await
}

/// Get a return.
#[utoipa::path(
    get, path = "/v1/returns/{id}", tag = "returns",
    params(("id" = uuid::Uuid, Path, description = "Return id")),
    responses(
        (status = 200, body = ReturnDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/returns/{id}")]
pub async fn get_return(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    respond(
        async {
            let id = return_id(&id)?;
            let loaded = state
                .returns
                .load(&id.to_string())
                .await
                .map_err(|error| ApiError::Unavailable(error.to_string()))?;
            let Some(order_id) = loaded.aggregate.order_id().filter(|_| loaded.version > 0) else {
                return Err(ApiError::NotFound { resource: "return" });
            };
            // Only the order's holder (or staff) may follow its return.
            crate::auth::check_holder(
                &request,
                &state,
                application::access_tokens::Held::Order,
                order_id.as_uuid(),
                "return",
            )
            .await?;
            Ok(
                Reply::ok(ReturnDto::from_return(&loaded.aggregate, loaded.version))
                    .etag(loaded.version),
            )
        }
        .await,
    )
}

async fn return_command(
    state: &ApiState,
    request: &HttpRequest,
    id: ReturnId,
    command: ReturnCommand,
) -> Result<Reply, ApiError> {
    command_reply(
        state.returns.as_ref(),
        request,
        ADMIN,
        &id.to_string(),
        command,
        ReturnDto::from_return,
    )
    .await
}

/// Approve a requested return (admin): the shopper may send the goods.
#[utoipa::path(
    post, path = "/v1/admin/returns/{id}/approve", tag = "returns",
    params(("id" = uuid::Uuid, Path, description = "Return id")),
    responses(
        (status = 200, body = ReturnDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/returns/{id}/approve")]
pub async fn approve_return(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = return_id(&id)?;
        return_command(&state, &request, id, ReturnCommand::ApproveReturn).await
    })
    .await
}

/// Reject a requested return (admin), with a reason.
#[utoipa::path(
    post, path = "/v1/admin/returns/{id}/reject", tag = "returns",
    request_body = RejectReturnRequest,
    params(("id" = uuid::Uuid, Path, description = "Return id")),
    responses(
        (status = 200, body = ReturnDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/returns/{id}/reject")]
pub async fn reject_return(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = return_id(&id)?;
        let input: RejectReturnRequest = json_body(&request, &body)?;
        let command = ReturnCommand::RejectReturn {
            reason: input.reason,
        };
        return_command(&state, &request, id, command).await
    })
    .await
}

/// Record the goods of an approved return arriving (admin): units received per line and how
/// many can be sold again. The refund of the received units starts now; only resellable units
/// go back into stock.
#[utoipa::path(
    post, path = "/v1/admin/returns/{id}/receive", tag = "returns",
    request_body = ReceiveReturnRequest,
    params(("id" = uuid::Uuid, Path, description = "Return id")),
    responses(
        (status = 200, body = ReturnDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/returns/{id}/receive")]
pub async fn receive_return(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = return_id(&id)?;
        let input: ReceiveReturnRequest = json_body(&request, &body)?;
        if input.lines.len() > refunds::returns::MAX_RETURN_LINES {
            return Err(ApiError::validation("lines", "at most 100 lines"));
        }
        let lines = input
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                Ok(ReceivedLine {
                    sku: sku_at(&line.sku, format!("lines[{index}].sku"))?,
                    received: line.quantity,
                    resellable: line.resellable,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let reply =
            return_command(&state, &request, id, ReturnCommand::ReceiveReturn { lines }).await?;
        (state.return_received)(id);
        Ok(reply)
    })
    .await
}
