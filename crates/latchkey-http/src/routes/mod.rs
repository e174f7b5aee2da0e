//! Route table. Each handler parses, calls one use case and maps the result.

mod account;
mod auth;
mod health;
mod sessions;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::API_BASE;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").get(health::healthz))
        .service(resource("/readyz").get(health::readyz))
        .service(
            web::scope(API_BASE)
                .service(resource("/auth/register").post(auth::register))
                .service(resource("/auth/login").post(auth::login))
                .service(resource("/auth/refresh").post(auth::refresh))
                .service(resource("/auth/logout").post(auth::logout))
                .service(resource("/auth/sessions").get(sessions::list))
                .service(resource("/auth/sessions/{id}").delete(sessions::revoke))
                .service(resource("/auth/me").get(account::me))
                .service(resource("/auth/credits").get(account::credits))
                .service(resource("/auth/change-password").post(account::change_password)),
        );
}

/// A resource whose unsupported methods get the JSON 405 rather than actix's empty one.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("Method {} is not allowed here", req.method()),
    ))
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Not found"))
}
