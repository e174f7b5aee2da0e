//! Route table. Each handler parses, calls one use case and maps the result.

mod account;
mod auth;
mod health;
mod sessions;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::API_BASE;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz", "GET").get(health::healthz))
        .service(resource("/readyz", "GET").get(health::readyz))
        .service(
            web::scope(API_BASE)
                .service(resource("/auth/register", "POST").post(auth::register))
                .service(resource("/auth/login", "POST").post(auth::login))
                .service(resource("/auth/refresh", "POST").post(auth::refresh))
                .service(resource("/auth/logout", "POST").post(auth::logout))
                .service(resource("/auth/sessions", "GET").get(sessions::list))
                .service(resource("/auth/sessions/{id}", "DELETE").delete(sessions::revoke))
                .service(resource("/auth/me", "GET").get(account::me))
                .service(resource("/auth/credits", "GET").get(account::credits))
                .service(resource("/auth/change-password", "POST").post(account::change_password)),
        );
}

/// A resource whose other methods get the JSON 405, with the `Allow` header RFC 9110 asks for, rather than
/// actix's empty one.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        Err::<HttpResponse, _>(
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("Method {} is not allowed here", req.method()),
            )
            .with_header(header::ALLOW, allow),
        )
    }))
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Not found"))
}
