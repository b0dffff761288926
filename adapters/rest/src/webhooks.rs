//! Webhook administration: register endpoints for published event types, change, pause or
//! delete them, read an endpoint's delivery log and redeliver a delivery. Sending is the
//! `webhooks` adapter's work; these routes only read and write the store.
//!
//! The signing secret is generated here and shown once, in the answer to the creation (and to
//! an idempotent replay of it); reads never show it. Event types are checked against the
//! published contracts, so a typo is refused instead of silently matching nothing.

use std::collections::BTreeSet;

use actix_web::http::Uri;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use chrono::SubsecRound;
use runtime::{
    DeliveryAttempt, EndpointPatch, EndpointStatus, WebhookDelivery, WebhookEndpoint, WebhookPage,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::events::EventTypeName;
use crate::http::{id_for_request, idempotent, json_body, path_id, respond, ListParams, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const MAX_URL_LENGTH: usize = 2048;
const MAX_DESCRIPTION_LENGTH: usize = 500;
const MAX_EVENT_TYPES: usize = 100;

/// The reason recorded when an administrator disables an endpoint.
const DISABLED_BY_ADMIN: &str = "disabled by an administrator";

// ---------- DTOs ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An absolute `http` or `https` URL that accepts POST requests.
    #[schema(
        pattern = r"^\s*https?://[A-Za-z0-9.-]+(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?\s*$",
        max_length = 2048
    )]
    pub url: String,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// Published types (`orders.order_placed`) or whole contexts (`orders.*`); at least one.
    #[schema(value_type = Vec<EventTypeName>, min_items = 1, max_items = 100)]
    pub event_types: Vec<String>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// An absolute `http` or `https` URL that accepts POST requests.
    #[schema(
        pattern = r"^\s*https?://[A-Za-z0-9.-]+(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?\s*$",
        max_length = 2048
    )]
    pub url: Option<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(value_type = Option<Vec<EventTypeName>>, min_items = 1, max_items = 100)]
    pub event_types: Option<Vec<String>>,
    /// `false` pauses the endpoint; `true` resumes it (also after it was disabled for failing)
    /// and sends what waited in its queue, in order.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointDto {
    pub id: String,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the endpoint is disabled: by an administrator, or the delivery that failed for good.
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// `whsec_<base64>`: verify signatures with it. Only in the answer to the creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookEndpointDto {
    fn from_endpoint(endpoint: &WebhookEndpoint) -> Self {
        let (disabled_reason, disabled_at) = match &endpoint.status {
            EndpointStatus::Enabled => (None, None),
            EndpointStatus::Disabled { reason, since } => {
                (Some(reason.clone()), Some(since.to_rfc3339()))
            }
        };
        Self {
            id: endpoint.id.to_string(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            event_types: endpoint.event_types.clone(),
            enabled: endpoint.is_enabled(),
            disabled_reason,
            disabled_at,
            created_at: endpoint.created_at.to_rfc3339(),
            updated_at: endpoint.updated_at.to_rfc3339(),
            secret: None,
        }
    }

    fn with_secret(endpoint: &WebhookEndpoint) -> Self {
        Self {
            secret: Some(endpoint.secret.clone()),
            ..Self::from_endpoint(endpoint)
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointList {
    pub data: Vec<WebhookEndpointDto>,
    pub has_more: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedWebhookDto {
    pub id: String,
    pub deleted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptDto {
    /// From 1.
    pub number: u32,
    pub attempted_at: String,
    pub duration_ms: u64,
    /// The endpoint's HTTP status, when it answered.
    pub response_status: Option<u16>,
    /// Why there was no answer (timeout, refused connection).
    pub error: Option<String>,
}

impl WebhookAttemptDto {
    fn from_attempt(attempt: &DeliveryAttempt) -> Self {
        Self {
            number: attempt.number,
            attempted_at: attempt.attempted_at.to_rfc3339(),
            duration_ms: attempt.duration_ms,
            response_status: attempt.response_status,
            error: attempt.error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryDto {
    pub id: String,
    pub endpoint_id: String,
    /// The `webhook-id` header: the same on every retry and redelivery of this event.
    pub message_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed` (given up).
    pub status: String,
    pub next_attempt_at: Option<String>,
    /// The delivery this one is a manual redelivery of.
    pub redelivery_of: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Oldest first.
    pub attempts: Vec<WebhookAttemptDto>,
}

impl WebhookDeliveryDto {
    fn from_delivery(delivery: &WebhookDelivery) -> Self {
        Self {
            id: delivery.id.to_string(),
            endpoint_id: delivery.endpoint_id.to_string(),
            message_id: delivery.message_id.clone(),
            event_id: delivery.event_id.to_string(),
            event_type: delivery.event_type.clone(),
            status: delivery.state.as_str().to_owned(),
            next_attempt_at: delivery.next_attempt_at.map(|t| t.to_rfc3339()),
            redelivery_of: delivery.redelivery_of.map(|id| id.to_string()),
            created_at: delivery.created_at.to_rfc3339(),
            finished_at: delivery.finished_at.map(|t| t.to_rfc3339()),
            attempts: delivery
                .attempts
                .iter()
                .map(WebhookAttemptDto::from_attempt)
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryList {
    pub data: Vec<WebhookDeliveryDto>,
    pub has_more: bool,
}

// ---------- routes ----------

/// Register a webhook endpoint (admin). The answer carries the signing secret, shown only here.
#[utoipa::path(
    post, path = "/v1/admin/webhooks", tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, body = WebhookEndpointDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/webhooks")]
pub async fn create_webhook(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: CreateWebhookRequest = json_body(&request, &body)?;
        let url = valid_url(&input.url)?;
        let description = valid_description(input.description.unwrap_or_default())?;
        let event_types = valid_event_types(&state, &input.event_types)?;
        // Derived from the Idempotency-Key when there is one: a retry whose first answer was
        // lost finds the endpoint it created instead of registering a second one.
        let id = id_for_request(&request, "webhook-endpoint", "");
        let secret = (state.webhook_secrets)().map_err(ApiError::Unavailable)?;
        // At the precision the stores keep, so this answer and later reads agree.
        let now = state.clock.now().trunc_subsecs(6);
        let endpoint = WebhookEndpoint {
            id,
            url,
            description,
            event_types,
            secret,
            status: EndpointStatus::Enabled,
            created_at: now,
            updated_at: now,
        };
        let endpoint = if state.webhooks.create_endpoint(&endpoint).await? {
            endpoint
        } else {
            state
                .webhooks
                .endpoint(id)
                .await?
                .ok_or(ApiError::Conflict)?
        };
        Ok(Reply::created(
            WebhookEndpointDto::with_secret(&endpoint),
            format!("/v1/admin/webhooks/{id}"),
        ))
    })
    .await
}

/// List webhook endpoints, newest first (admin).
#[utoipa::path(
    get, path = "/v1/admin/webhooks", tag = "webhooks",
    params(ListParams),
    responses(
        (status = 200, body = WebhookEndpointList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/webhooks")]
pub async fn list_webhooks(
    state: web::Data<ApiState>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    respond(
        async {
            let (page, limit) = webhook_page(&params)?;
            let mut endpoints = state.webhooks.list_endpoints(page).await?;
            let has_more = endpoints.len() > limit;
            endpoints.truncate(limit);
            let data = endpoints
                .iter()
                .map(WebhookEndpointDto::from_endpoint)
                .collect();
            Ok(Reply::ok(WebhookEndpointList { data, has_more }))
        }
        .await,
    )
}

/// A webhook endpoint (admin); the secret is not shown.
#[utoipa::path(
    get, path = "/v1/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = WebhookEndpointDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/webhooks/{id}")]
pub async fn get_webhook(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let endpoint = existing(&state, &id).await?;
            Ok(Reply::ok(WebhookEndpointDto::from_endpoint(&endpoint)))
        }
        .await,
    )
}

/// Change a webhook endpoint, or pause (`enabled: false`) and resume it (admin).
#[utoipa::path(
    patch, path = "/v1/admin/webhooks/{id}", tag = "webhooks",
    request_body = UpdateWebhookRequest,
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = WebhookEndpointDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/admin/webhooks/{id}")]
pub async fn update_webhook(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: UpdateWebhookRequest = json_body(&request, &body)?;
        let current = existing(&state, &id).await?;
        let now = state.clock.now();
        let status = match input.enabled {
            Some(true) => Some(EndpointStatus::Enabled),
            // Pausing an endpoint that is already disabled keeps the reason it has.
            Some(false) if current.is_enabled() => Some(EndpointStatus::Disabled {
                reason: DISABLED_BY_ADMIN.to_owned(),
                since: now,
            }),
            Some(false) | None => None,
        };
        let patch = EndpointPatch {
            url: input.url.as_deref().map(valid_url).transpose()?,
            description: input.description.map(valid_description).transpose()?,
            event_types: input
                .event_types
                .as_deref()
                .map(|types| valid_event_types(&state, types))
                .transpose()?,
            status,
        };
        let endpoint = state
            .webhooks
            .update_endpoint(current.id, &patch, now)
            .await?
            .ok_or(ApiError::NotFound {
                resource: "webhook_endpoint",
            })?;
        Ok(Reply::ok(WebhookEndpointDto::from_endpoint(&endpoint)))
    })
    .await
}

/// Delete a webhook endpoint with its queue and delivery log (admin).
#[utoipa::path(
    delete, path = "/v1/admin/webhooks/{id}", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, body = DeletedWebhookDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/admin/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    idempotent(&state, &request, &[], || async {
        let id = path_id(&id, "id")?;
        if !state.webhooks.delete_endpoint(id).await? {
            return Err(ApiError::NotFound {
                resource: "webhook_endpoint",
            });
        }
        Ok(Reply::ok(DeletedWebhookDto {
            id: id.to_string(),
            deleted: true,
        }))
    })
    .await
}

/// An endpoint's delivery log, newest first, each delivery with its attempts (admin).
#[utoipa::path(
    get, path = "/v1/admin/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id"), ListParams),
    responses(
        (status = 200, body = WebhookDeliveryList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    respond(
        async {
            let (page, limit) = webhook_page(&params)?;
            let endpoint = existing(&state, &id).await?;
            if let Some(position) = crate::consistency::min_position(&request) {
                dispatched_past(&state, position).await?;
            }
            let mut deliveries = state.webhooks.deliveries(endpoint.id, page).await?;
            let has_more = deliveries.len() > limit;
            deliveries.truncate(limit);
            let data = deliveries
                .iter()
                .map(WebhookDeliveryDto::from_delivery)
                .collect();
            Ok(Reply::ok(WebhookDeliveryList { data, has_more }))
        }
        .await,
    )
}

/// Waits (bounded) until the dispatcher has queued the deliveries of every event up to
/// `position`, so that a log read with the position of a write shows what that write caused.
async fn dispatched_past(state: &ApiState, position: runtime::Cursor) -> Result<(), ApiError> {
    let until = tokio::time::Instant::now() + state.read_wait_max;
    loop {
        if state.webhooks.dispatcher_checkpoint().await? >= position {
            return Ok(());
        }
        if tokio::time::Instant::now() >= until {
            return Err(ApiError::ReadModelBehind {
                position: position.to_token(),
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Send a delivery again (admin): a copy is queued behind the endpoint's pending deliveries,
/// with the same `webhook-id`. A disabled endpoint gets it once it is enabled again.
#[utoipa::path(
    post, path = "/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Endpoint id"),
        ("delivery_id" = uuid::Uuid, Path, description = "Delivery id"),
    ),
    responses(
        (status = 202, body = WebhookDeliveryDto, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let (id, delivery_id) = path.into_inner();
        let id = path_id(&id, "id")?;
        let delivery_id = path_id(&delivery_id, "delivery_id")?;
        // A fresh id even for a retried request: two copies of one redelivery are harmless,
        // since receivers deduplicate by the message id they share.
        let copy = state
            .webhooks
            .redeliver(id, delivery_id, Uuid::now_v7(), state.clock.now())
            .await?
            .ok_or(ApiError::NotFound {
                resource: "webhook_delivery",
            })?;
        Ok(Reply::accepted(
            WebhookDeliveryDto::from_delivery(&copy),
            format!("/v1/admin/webhooks/{id}/deliveries"),
        ))
    })
    .await
}

// ---------- validation ----------

async fn existing(state: &ApiState, raw_id: &str) -> Result<WebhookEndpoint, ApiError> {
    let id = path_id(raw_id, "id")?;
    state
        .webhooks
        .endpoint(id)
        .await?
        .ok_or(ApiError::NotFound {
            resource: "webhook_endpoint",
        })
}

/// The page to read, one item longer than the `limit` asked for (returned beside it), so
/// `has_more` needs no second query.
fn webhook_page(params: &ListParams) -> Result<(WebhookPage, usize), ApiError> {
    let page = params.page()?;
    let starting_after = page
        .starting_after
        .as_deref()
        .map(Uuid::parse_str)
        .transpose()
        .map_err(|_| ApiError::validation("starting_after", "must be an id"))?;
    let read = WebhookPage {
        limit: page.limit + 1,
        starting_after,
    };
    Ok((read, page.limit))
}

fn valid_url(raw: &str) -> Result<String, ApiError> {
    let refuse = |message: &str| ApiError::validation("url", message);
    let trimmed = raw.trim();
    if trimmed.len() > MAX_URL_LENGTH {
        return Err(refuse("must be at most 2048 characters"));
    }
    let uri: Uri = trimmed
        .parse()
        .map_err(|_| refuse("must be an absolute http or https URL"))?;
    let scheme_ok = trimmed.starts_with("http://") || trimmed.starts_with("https://");
    let authority_ok = uri.authority().is_some_and(|authority| {
        let (host, port) = host_and_port(authority.as_str());
        host_name(host)
            && port.is_none_or(|port| {
                port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok()
            })
    });
    let rest_ok = trimmed
        .split_once("://")
        .and_then(|(_, rest)| rest.find(['/', '?']).map(|at| &rest[at..]))
        .is_none_or(|path_and_query| path_and_query.chars().all(uri_char));
    if !scheme_ok || !authority_ok || !rest_ok {
        return Err(refuse("must be an absolute http or https URL"));
    }
    Ok(trimmed.to_owned())
}

/// An authority's host and port (`None` without a `:`).
fn host_and_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

/// A host name or IPv4 address: letters, digits, dots and hyphens, as the document's pattern
/// states; narrower than what the URI parser lets through (`a*`, user info, IPv6 literals).
fn host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// A character RFC 3986 allows in a path or query, escapes included; no fragment.
fn uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%/?".contains(c)
}

fn valid_description(description: String) -> Result<String, ApiError> {
    if description.chars().count() > MAX_DESCRIPTION_LENGTH {
        return Err(ApiError::validation(
            "description",
            "must be at most 500 characters",
        ));
    }
    Ok(description)
}

/// Each type must be published, or a context that publishes some (`orders.*`).
fn valid_event_types(state: &ApiState, types: &[String]) -> Result<Vec<String>, ApiError> {
    if types.is_empty() {
        return Err(ApiError::validation(
            "event_types",
            "name at least one published type or context (orders.*)",
        ));
    }
    if types.len() > MAX_EVENT_TYPES {
        return Err(ApiError::validation(
            "event_types",
            "name at most 100 types",
        ));
    }
    let schemas = state.published.contracts().schemas();
    let published: BTreeSet<&str> = schemas.iter().map(|s| s.event_type.as_str()).collect();
    let contexts: BTreeSet<&str> = schemas
        .iter()
        .flat_map(|s| [s.context.as_str(), context_of(&s.event_type)])
        .collect();
    let mut valid = Vec::with_capacity(types.len());
    for wanted in types {
        let known = match wanted.strip_suffix(".*") {
            Some(context) => contexts.contains(context),
            None => published.contains(wanted.as_str()),
        };
        if !known {
            return Err(ApiError::UnknownEventType {
                event_type: wanted.chars().take(100).collect(),
            });
        }
        if !valid.contains(wanted) {
            valid.push(wanted.clone());
        }
    }
    Ok(valid)
}

fn context_of(event_type: &str) -> &str {
    event_type.split('.').next().unwrap_or_default()
}
