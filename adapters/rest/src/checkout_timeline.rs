//! `GET /v1/admin/checkouts/{id}/timeline`: why a checkout is where it is, for an operator.
//! The application builds it from the event streams alone
//! ([`application::checkout_timeline`]); this route only shapes it. It holds no personal data:
//! the shopper's email and address never appear in it.

use actix_web::{get, web, HttpResponse};
use application::checkout_timeline::{CheckoutTimeline, TimelineError};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use shared_kernel::CheckoutId;
use utoipa::ToSchema;

use crate::http::{path_id, respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

/// A checkout's events and saga steps, in the order they happened.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutTimelineDto {
    pub checkout_id: String,
    /// Where the saga stands: `reserving`, `authorizing`, `placing_order`, `finalizing`,
    /// `completed`, `compensating`, `failed` or `needs_attention`.
    pub status: String,
    /// Set from the moment something failed (while compensating, and once failed).
    pub failure: Option<TimelineFailureDto>,
    /// Set when a step after the order was placed was refused for good: staff must resolve it.
    pub attention: Option<TimelineAttentionDto>,
    /// The flow every event of the checkout carries (`X-Correlation-Id` of the request that
    /// started it); absent for events written before it was recorded.
    pub correlation_id: Option<String>,
    /// Set once the order is placed.
    pub order_id: Option<String>,
    /// The payment the checkout authorizes (it may not exist yet, or ever).
    pub payment_id: String,
    /// RFC 3339: when the first and the last event with a recorded time happened.
    pub first_event_at: Option<String>,
    pub last_event_at: Option<String>,
    /// Milliseconds from the first event to the last.
    pub elapsed_ms: Option<i64>,
    /// The checkout's events, and those of its order and payment in the same flow, oldest
    /// first.
    pub entries: Vec<TimelineEntryDto>,
    /// What the saga would run next, as the checkout's decision logic says; empty once it is
    /// completed, failed or needs attention. Steps listed here and not moving are what a stuck
    /// checkout waits for.
    pub pending_steps: Vec<PendingStepDto>,
}

/// One recorded event.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryDto {
    /// Its place in its own stream (`aggregate_type`, `aggregate_id`), from 1.
    pub sequence: u64,
    /// `checkout`, `order` or `payment`.
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    /// RFC 3339; null for events written before the time was recorded.
    pub occurred_at: Option<String>,
    /// Who recorded it: `shopper`, `admin`, `checkout-saga`, ...
    pub actor: Option<String>,
    /// The saga step whose outcome it records (`reserve_stock`, `authorize_payment`,
    /// `place_order`, `capture_payment`, `mark_order_paid`, `commit_stock`, `check_out_cart`,
    /// `release_stock`, `void_payment`, `release_cart`); null for other events.
    pub step: Option<String>,
    /// `succeeded`, `failed`, `unknown` (the answer was lost), `timed_out`, `compensated` or
    /// `refused`; null when `step` is.
    pub outcome: Option<String>,
    /// A short description: SKUs and quantities, amounts, reasons. Never personal data.
    pub detail: Option<String>,
}

/// A step the saga would run next.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingStepDto {
    pub step: String,
    pub detail: Option<String>,
}

/// Why a checkout failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineFailureDto {
    /// `out_of_stock`, `payment_declined`, `payment_timeout` or `order_rejected`.
    pub code: String,
    /// What the shopper is told; for a rejected order, the orders context's own reason.
    pub message: String,
}

/// The step refused after the order was placed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineAttentionDto {
    /// `capture_payment`, `mark_order_paid`, `commit_stock:<sku>` or `check_out_cart`.
    pub step: String,
    pub reason: String,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl From<CheckoutTimeline> for CheckoutTimelineDto {
    fn from(timeline: CheckoutTimeline) -> Self {
        Self {
            checkout_id: timeline.checkout_id.to_string(),
            status: timeline.status.to_string(),
            failure: timeline.failure.as_ref().map(|failure| TimelineFailureDto {
                code: failure.code.to_owned(),
                message: failure.message.clone(),
            }),
            attention: timeline
                .attention
                .as_ref()
                .map(|(step, reason)| TimelineAttentionDto {
                    step: step.clone(),
                    reason: reason.clone(),
                }),
            correlation_id: timeline.correlation_id.map(|id| id.to_string()),
            order_id: timeline.order_id.map(|id| id.to_string()),
            payment_id: timeline.payment_id.to_string(),
            first_event_at: timeline.first_event_at.map(rfc3339),
            last_event_at: timeline.last_event_at.map(rfc3339),
            elapsed_ms: timeline.elapsed().map(|e| e.num_milliseconds()),
            entries: timeline
                .entries
                .into_iter()
                .map(|entry| TimelineEntryDto {
                    sequence: entry.sequence,
                    aggregate_type: entry.aggregate_type.to_owned(),
                    aggregate_id: entry.aggregate_id,
                    event_type: entry.event_type,
                    occurred_at: entry.occurred_at.map(rfc3339),
                    actor: entry.actor,
                    step: entry.step.map(str::to_owned),
                    outcome: entry.outcome.map(|o| o.as_str().to_owned()),
                    detail: entry.detail,
                })
                .collect(),
            pending_steps: timeline
                .pending_steps
                .into_iter()
                .map(|pending| PendingStepDto {
                    step: pending.step.to_owned(),
                    detail: pending.detail,
                })
                .collect(),
        }
    }
}

impl From<TimelineError> for ApiError {
    fn from(error: TimelineError) -> Self {
        match error {
            TimelineError::UnknownCheckout => ApiError::NotFound {
                resource: "checkout",
            },
            TimelineError::Unavailable(detail) => ApiError::Unavailable(detail),
        }
    }
}

/// A checkout's timeline (admin): its events and saga steps with their times and outcomes,
/// and the steps it still waits for, to tell why it is stuck.
#[utoipa::path(
    get, path = "/v1/admin/checkouts/{id}/timeline", tag = "checkout",
    params(("id" = uuid::Uuid, Path, description = "Checkout id")),
    responses(
        (status = 200, body = CheckoutTimelineDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/checkouts/{id}/timeline")]
pub async fn checkout_timeline(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = CheckoutId::from_uuid(path_id(&id, "id")?);
            let timeline = state.checkout_timelines.timeline(id).await?;
            Ok::<_, ApiError>(Reply::ok(CheckoutTimelineDto::from(timeline)))
        }
        .await,
    )
}
