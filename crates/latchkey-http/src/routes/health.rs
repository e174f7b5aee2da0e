use actix_web::{get, web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::dto::StatusBody;
use crate::error::ApiError;
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::openapi::{NotFound, Unavailable};

/// The process is up.
#[utoipa::path(
    operation_id = "healthz",
    tag = "service",
    responses((status = OK, description = "Up", body = StatusBody, example = json!({"status": "ok"}))),
)]
#[get("/healthz")]
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

/// The database answers.
#[utoipa::path(
    operation_id = "readyz",
    tag = "service",
    responses(
        (status = OK, description = "Ready", body = StatusBody, example = json!({"status": "ready"})),
        Unavailable,
    ),
)]
#[get("/readyz")]
pub(super) async fn readyz(latchkey: web::Data<Latchkey>) -> Result<HttpResponse, ApiError> {
    latchkey.ready().await?;
    Ok(HttpResponse::Ok().json(StatusBody { status: "ready" }))
}

/// The service's metrics, for Prometheus to scrape: requests by method, route pattern and status, and their
/// latency. 404 when metrics are off (`server.metrics = false`).
#[utoipa::path(
    operation_id = "metrics",
    tag = "service",
    responses(
        (
            status = OK,
            description = "Metrics in the OpenMetrics text format",
            content_type = "application/openmetrics-text",
            body = String,
        ),
        NotFound,
    ),
)]
#[get("/metrics")]
pub(super) async fn metrics(metrics: Option<web::Data<Metrics>>) -> Result<HttpResponse, ApiError> {
    let metrics =
        metrics.ok_or_else(|| ApiError::not_found("Metrics are off (server.metrics = false)"))?;
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(metrics.encode()))
}
