//! Order routes. An order by id is read from its aggregate (strongly consistent, with an
//! ETag), so a shopper sent to their order right after placing it always finds it; lists come
//! from the customer and email index views, newest first.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use application::{
    customer_index_prefix, email_index_prefix, OrderLineRequest, PlaceOrderError,
    PlaceOrderRequest, ORDERS_BY_CUSTOMER_VIEW, ORDERS_BY_EMAIL_VIEW, ORDERS_VIEW,
};
use orders::{OrderCommand, OrderView};
use runtime::ListQuery;
use serde::Deserialize;
use shared_kernel::{deterministic_uuid, Currency, CustomerId, PaymentId, Quantity, Sku};
use shared_kernel::{EmailAddress, PostalAddress};
use utoipa::IntoParams;

use crate::dto::{
    CancelOrderRequest, FulfillOrderRequest, OrderDto, OrderList, PlaceOrderRequestDto,
};
use crate::http::{command_reply, idempotent, json_body, metadata, path_id, respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

/// Place an order for a customer (admin); lines are priced from the catalog now.
#[utoipa::path(
    post, path = "/v1/admin/orders", tag = "orders",
    request_body = PlaceOrderRequestDto,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe")),
    responses(
        (status = 201, body = OrderDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders")]
pub async fn place_order(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: PlaceOrderRequestDto = json_body(&request, &body)?;
        let currency = Currency::parse(&input.currency)
            .map_err(|e| ApiError::validation("currency", e.to_string()))?;
        let customer_id = input
            .customer_id
            .as_deref()
            .map(CustomerId::parse)
            .transpose()
            .map_err(|_| ApiError::validation("customer_id", "must be a UUID"))?;
        let email = EmailAddress::parse(&input.email).map_err(ApiError::from)?;
        let shipping_address =
            PostalAddress::new(input.shipping_address.into()).map_err(ApiError::from)?;
        let mut lines = Vec::with_capacity(input.lines.len());
        for (index, line) in input.lines.iter().enumerate() {
            let sku = Sku::parse(&line.sku)
                .map_err(|e| ApiError::validation(format!("lines[{index}].sku"), e.to_string()))?;
            let quantity = u32::try_from(line.quantity)
                .ok()
                .and_then(|q| Quantity::new(q).ok())
                .filter(|q| q.get() <= 999)
                .ok_or_else(|| {
                    ApiError::validation(format!("lines[{index}].quantity"), "must be 1 to 999")
                })?;
            lines.push(OrderLineRequest { sku, quantity });
        }
        let executed = state
            .orders
            .place_order(
                PlaceOrderRequest {
                    customer_id,
                    email,
                    shipping_address,
                    currency,
                    lines,
                },
                &metadata(ADMIN),
            )
            .await
            .map_err(|error| match error {
                PlaceOrderError::Rejected(e) => e.into(),
                PlaceOrderError::Pricing(e) => ApiError::Cart(e.into()),
                PlaceOrderError::Infrastructure(e) => ApiError::Unavailable(e),
            })?;
        let dto = OrderDto::from_order(&executed.state, executed.version);
        let location = format!("/v1/orders/{}", dto.id);
        Ok(Reply::created(dto, location).etag(executed.version))
    })
    .await
}

/// Get an order.
#[utoipa::path(
    get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders/{id}")]
pub async fn get_order(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let loaded = state.orders.orders().load(&id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound { resource: "order" });
            }
            let dto = OrderDto::from_order(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Find an order by the number shoppers read on it (`1042`, or `#1042` written `%231042`).
#[utoipa::path(
    get, path = "/v1/admin/orders/by-number/{number}", tag = "orders",
    params(("number" = String, Path, pattern = "^#?[0-9]{1,19}$", description = "The order's number, with or without its `#`")),
    responses(
        (status = 200, body = OrderDto, headers(("ETag" = String), ("Content-Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Not an order number"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/orders/by-number/{number}")]
pub async fn get_order_by_number(
    state: web::Data<ApiState>,
    number: web::Path<String>,
) -> HttpResponse {
    respond(
        async {
            let number = orders::OrderNumber::parse(&number).ok_or_else(|| {
                ApiError::validation("number", "an order number is digits, with or without #")
            })?;
            let order_id = state
                .orders
                .order_numbered(number)
                .await
                .map_err(|error| ApiError::Unavailable(error.to_string()))?
                .ok_or(ApiError::NotFound { resource: "order" })?;
            let loaded = state.orders.orders().load(&order_id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound { resource: "order" });
            }
            let dto = OrderDto::from_order(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto)
                .etag(loaded.version)
                .header("content-location", format!("/v1/orders/{order_id}")))
        }
        .await,
    )
}

/// Which orders to list: exactly one of `customer_id` and `email`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListParams {
    #[param(value_type = Option<uuid::Uuid>)]
    pub customer_id: Option<String>,
    #[param(format = Email)]
    pub email: Option<String>,
    /// 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// The id of the last order of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    pub starting_after: Option<String>,
}

/// List a customer's orders, or the orders placed with an email address, newest first.
#[utoipa::path(
    get, path = "/v1/orders", tag = "orders",
    params(OrderListParams),
    responses(
        (status = 200, body = OrderList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders")]
pub async fn list_orders(
    state: web::Data<ApiState>,
    params: web::Query<OrderListParams>,
) -> HttpResponse {
    respond(list(&state, &params).await)
}

pub(crate) async fn list(state: &ApiState, params: &OrderListParams) -> Result<Reply, ApiError> {
    let page = crate::http::ListParams {
        limit: params.limit.clone(),
        starting_after: params.starting_after.clone(),
    }
    .page()?;
    let (view, prefix) = match (&params.customer_id, &params.email) {
        (Some(customer), None) => {
            let customer = CustomerId::parse(customer)
                .map_err(|_| ApiError::validation("customer_id", "must be a UUID"))?;
            (ORDERS_BY_CUSTOMER_VIEW, customer_index_prefix(customer))
        }
        (None, Some(email)) => {
            let email = EmailAddress::parse(email)
                .map_err(|e| ApiError::validation("email", e.to_string()))?;
            (ORDERS_BY_EMAIL_VIEW, email_index_prefix(&email))
        }
        _ => {
            return Err(ApiError::validation(
                "customer_id",
                "give exactly one of customer_id and email",
            ))
        }
    };
    let after = page
        .starting_after
        .as_ref()
        .map(|id| format!("{prefix}{id}"));
    let mut entries = state
        .read_models
        .list(
            ListQuery::new(view, page.limit + 1)
                .with_prefix(&prefix)
                .starting_after(after.as_deref())
                .descending(),
        )
        .await?;
    let has_more = entries.len() > page.limit;
    entries.truncate(page.limit);
    let ids: Vec<String> = entries
        .iter()
        .map(|(id, _)| id[prefix.len()..].to_owned())
        .collect();
    let mut found = state.read_models.get_many(ORDERS_VIEW, &ids).await?;
    let mut data = Vec::with_capacity(ids.len());
    for id in &ids {
        // Written in the same transaction as its index entry, so it is always there.
        if let Some(position) = found.iter().position(|(found_id, _)| found_id == id) {
            let (_, body) = found.swap_remove(position);
            let view: OrderView = serde_json::from_value(body)
                .map_err(|e| ApiError::Unavailable(format!("unreadable order view: {e}")))?;
            data.push(OrderDto::from_view(&view));
        }
    }
    Ok(Reply::ok(OrderList { data, has_more }))
}

/// Record a shipment of a paid order (admin).
#[utoipa::path(
    post, path = "/v1/admin/orders/{id}/fulfillments", tag = "orders",
    request_body = FulfillOrderRequest,
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders/{id}/fulfillments")]
pub async fn fulfill(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        let input: FulfillOrderRequest = json_body(&request, &body)?;
        let command = OrderCommand::FulfillOrder {
            carrier: input.carrier,
            tracking_number: input.tracking_number,
        };
        order_command(&state, &request, id, command).await
    })
    .await
}

/// Cancel an order before it ships (admin).
#[utoipa::path(
    post, path = "/v1/admin/orders/{id}/cancel", tag = "orders",
    request_body = CancelOrderRequest,
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders/{id}/cancel")]
pub async fn cancel(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        let input: CancelOrderRequest = json_body(&request, &body)?;
        let command = OrderCommand::CancelOrder {
            reason: input.reason,
        };
        order_command(&state, &request, id, command).await
    })
    .await
}

/// Mark a placed order as paid outside the platform, e.g. by bank transfer (admin).
#[utoipa::path(
    post, path = "/v1/admin/orders/{id}/mark-paid", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders/{id}/mark-paid")]
pub async fn mark_paid(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        let loaded = state.orders.orders().load(&id.to_string()).await?;
        let total = loaded
            .aggregate
            .total()
            .ok_or(ApiError::NotFound { resource: "order" })?;
        // One offline payment per order: a repeat names the same payment and is a no-op.
        let payment_id =
            PaymentId::from_uuid(deterministic_uuid("offline-payment", &[&id.to_string()]));
        let command = OrderCommand::MarkPaid {
            payment_id,
            amount: total,
        };
        order_command(&state, &request, id, command).await
    })
    .await
}

/// Close a fulfilled order (admin).
#[utoipa::path(
    post, path = "/v1/admin/orders/{id}/complete", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/orders/{id}/complete")]
pub async fn complete(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        order_command(&state, &request, id, OrderCommand::CompleteOrder).await
    })
    .await
}

async fn order_command(
    state: &ApiState,
    request: &HttpRequest,
    id: uuid::Uuid,
    command: OrderCommand,
) -> Result<Reply, ApiError> {
    let orders = state.orders.orders().as_ref();
    let id = id.to_string();
    command_reply(orders, request, ADMIN, &id, command, OrderDto::from_order).await
}
