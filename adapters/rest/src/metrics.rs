//! `GET /metrics`: every instrument in the text format Prometheus scrapes (ADR 0030).

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};

use crate::problem::Problem;
use crate::ApiState;

/// Prometheus metrics: request durations, commands, events appended, checkout outcomes,
/// gateway latency, idempotency replays, the database pool, and how far every feed consumer
/// (projectors, sagas, relay, webhooks) is behind, in events and in seconds.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "OpenMetrics text", body = String,
         content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        (status = 503, body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/metrics")]
pub async fn scrape(state: web::Data<ApiState>) -> HttpResponse {
    let metrics = runtime::metrics();
    let gauges = &state.gauges;
    // The lags and the pool are read now, from the store, so a stalled consumer shows as
    // stalled even though it records nothing itself.
    match gauges
        .store
        .consumer_lags(&gauges.consumers, state.clock.now())
        .await
    {
        Ok(lags) => metrics.set_lags(lags),
        Err(error) => {
            tracing::warn!(%error, "could not read the consumers' lag");
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database is not reachable",
            )
            .to_response();
        }
    }
    if let Ok(waited) = gauges.store.probe_acquire().await {
        metrics.pool_acquired(gauges.pool_name, waited);
    }
    metrics.set_pool(gauges.pool_name, gauges.store.pool_state());
    HttpResponse::Ok()
        .content_type(runtime::telemetry::METRICS_CONTENT_TYPE)
        .body(metrics.encode())
}
