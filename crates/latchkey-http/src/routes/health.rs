use actix_web::{web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::dto::StatusBody;
use crate::error::ApiError;

/// The process is up.
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

/// The database answers.
pub(super) async fn readyz(latchkey: web::Data<Latchkey>) -> Result<HttpResponse, ApiError> {
    latchkey.ready().await?;
    Ok(HttpResponse::Ok().json(StatusBody { status: "ready" }))
}
