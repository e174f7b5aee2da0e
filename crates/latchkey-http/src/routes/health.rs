use actix_web::{get, web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::dto::StatusBody;
use crate::error::ApiError;
use crate::openapi::Unavailable;

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
