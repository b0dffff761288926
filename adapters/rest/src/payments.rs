//! Payment routes (admin). Payments are normally driven by the checkout saga; these routes
//! let staff authorize, capture, void, refund and reconcile by hand, and inspect the state.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use payments::PaymentCommand;
use shared_kernel::PaymentId;

use crate::dto::{AuthorizePaymentRequest, CaptureRequest, PaymentDto};
use crate::http::{
    command_reply, id_for_request, idempotent, json_body, metadata, path_id, respond, Reply,
};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

/// Authorize a payment with a payment-method token (admin). A decline is recorded: the
/// payment is created with status `declined`.
#[utoipa::path(
    post, path = "/v1/admin/payments", tag = "payments",
    request_body = AuthorizePaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe")),
    responses(
        (status = 201, body = PaymentDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/payments")]
pub async fn authorize(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: AuthorizePaymentRequest = json_body(&request, &body)?;
        let payment_id = match &input.payment_id {
            Some(raw) => PaymentId::parse(raw)
                .map_err(|_| ApiError::validation("payment_id", "must be a UUID"))?,
            None => PaymentId::from_uuid(id_for_request(&request, "payment", "")),
        };
        let command = PaymentCommand::AuthorizePayment {
            payment_id,
            amount: input.amount.to_money("amount")?,
            payment_method_token: input.payment_method_token,
        };
        let executed = state
            .payments
            .execute(&payment_id.to_string(), command, None, &metadata(ADMIN))
            .await?;
        let dto = PaymentDto::from_payment(&executed.state, executed.version);
        let location = format!("/v1/admin/payments/{payment_id}");
        Ok(Reply::created(dto, location).etag(executed.version))
    })
    .await
}

/// Get a payment (admin).
#[utoipa::path(
    get, path = "/v1/admin/payments/{id}", tag = "payments",
    params(("id" = uuid::Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, body = PaymentDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/payments/{id}")]
pub async fn get_payment(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let loaded = state.payments.load(&id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound {
                    resource: "payment",
                });
            }
            let dto = PaymentDto::from_payment(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Capture all or part of the authorized amount (admin).
#[utoipa::path(
    post, path = "/v1/admin/payments/{id}/captures", tag = "payments",
    request_body = CaptureRequest,
    params(("id" = uuid::Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, body = PaymentDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/payments/{id}/captures")]
pub async fn capture(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        let input: CaptureRequest = json_body(&request, &body)?;
        let amount = input.amount.map(|a| a.to_money("amount")).transpose()?;
        payment_command(
            &state,
            &request,
            id,
            PaymentCommand::CapturePayment { amount },
        )
        .await
    })
    .await
}

/// Release an authorization before anything was captured (admin).
#[utoipa::path(
    post, path = "/v1/admin/payments/{id}/void", tag = "payments",
    params(("id" = uuid::Uuid, Path, description = "Payment id")),
    responses((status = 200, body = PaymentDto), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/v1/admin/payments/{id}/void")]
pub async fn void(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        payment_command(&state, &request, id, PaymentCommand::VoidPayment).await
    })
    .await
}

/// Ask the provider again about an authorization whose outcome is unknown (admin).
#[utoipa::path(
    post, path = "/v1/admin/payments/{id}/reconcile", tag = "payments",
    params(("id" = uuid::Uuid, Path, description = "Payment id")),
    responses((status = 200, body = PaymentDto), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/v1/admin/payments/{id}/reconcile")]
pub async fn reconcile(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        payment_command(&state, &request, id, PaymentCommand::ReconcileAuthorization).await
    })
    .await
}

async fn payment_command(
    state: &ApiState,
    request: &HttpRequest,
    id: uuid::Uuid,
    command: PaymentCommand,
) -> Result<Reply, ApiError> {
    let id = id.to_string();
    command_reply(
        state.payments.as_ref(),
        request,
        ADMIN,
        &id,
        command,
        PaymentDto::from_payment,
    )
    .await
}
