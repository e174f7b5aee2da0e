//! Latchkey's HTTP API (`/api/v1`) as an actix-web service configuration.
//!
//! Handlers parse a request, call one use case of [`latchkey_domain::Latchkey`] and map the result; every error
//! leaves through [`ApiError`], which renders the one JSON envelope `{"detail", "code", "errors"?}`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix_web::{App, HttpServer};
//! # async fn run(latchkey: Arc<latchkey_domain::Latchkey>) -> std::io::Result<()> {
//! let config = latchkey_http::HttpConfig::default();
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(actix_web::middleware::from_fn(latchkey_http::log_request))
//!         .configure(latchkey_http::configure(latchkey.clone(), config.clone()))
//! })
//! .bind("127.0.0.1:8080")?
//! .run()
//! .await
//! # }
//! ```

#![warn(missing_docs)]

mod auth;
mod dto;
mod error;
mod extract;
mod logging;
mod routes;

use std::sync::Arc;

use actix_web::web;
use latchkey_domain::Latchkey;

pub use auth::{
    authorize, Authenticated, AuthenticatedUser, CreditsCharge, CreditsRead, ProfileRead,
    ProfileWrite, Requirement, SessionOnly,
};
pub use error::ApiError;
pub use logging::log_request;

/// Base path of the API.
pub const API_BASE: &str = "/api/v1";

/// HTTP settings that are the API's own business.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes; larger bodies get 413 before anything is parsed or hashed.
    pub max_body_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024,
        }
    }
}

/// Registers every route, the body-parsing limits and error handlers, and the JSON 404 for unknown paths.
pub fn configure(
    latchkey: Arc<Latchkey>,
    config: HttpConfig,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::from(latchkey))
            .app_data(extract::json_config(&config))
            .app_data(extract::form_config(&config))
            .app_data(extract::query_config())
            .app_data(extract::path_config())
            .app_data(web::PayloadConfig::new(config.max_body_bytes))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found));
    }
}
