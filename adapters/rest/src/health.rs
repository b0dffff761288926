//! Liveness (the process answers) and readiness (it can reach its database).

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};

use crate::dto::HealthDto;
use crate::problem::Problem;
use crate::ApiState;

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = HealthDto)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthDto {
        status: "ok".to_owned(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    get, path = "/health/ready", tag = "health",
    responses((status = 200, body = HealthDto), (status = 503, body = Problem, content_type = "application/problem+json"))
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    match state.health.ready().await {
        Ok(()) => HttpResponse::Ok().json(HealthDto {
            status: "ready".to_owned(),
        }),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the database is not reachable",
            )
            .to_response()
        }
    }
}
