//! Latchkey's HTTP API (`/api/v1`, and the OAuth2 endpoints `/oauth/token`, `/oauth/revoke` and
//! `/oauth/introspect` at the root) as an actix-web service configuration.
//!
//! Handlers parse a request, call one use case of [`latchkey_domain::Latchkey`] and map the result; every error
//! leaves through [`ApiError`], which renders the one JSON envelope `{"detail", "code", "errors"?}`.
//!
//! The same registration serves the OpenAPI 3.1 document at `GET /api/v1/openapi.json` (built from the handlers'
//! `#[utoipa::path]` annotations and the DTOs' `ToSchema` derives) and the API reference page at `GET /docs`
//! (Swagger UI, embedded in the binary).
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix_web::{App, HttpServer};
//! # async fn run(latchkey: Arc<latchkey_domain::Latchkey>) -> std::io::Result<()> {
//! // Metrics are shared by every worker: made once, outside the factory.
//! let config = latchkey_http::HttpConfig {
//!     metrics: Some(Arc::new(latchkey_http::Metrics::new())),
//!     ..latchkey_http::HttpConfig::default()
//! };
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(actix_web::middleware::from_fn(latchkey_http::answer_head))
//!         .wrap(actix_web::middleware::from_fn(latchkey_http::refuse_content_encoding))
//!         .wrap(latchkey_http::security_headers(false))
//!         .wrap(actix_web::middleware::from_fn(latchkey_http::log_request))
//!         .wrap(actix_web::middleware::from_fn(latchkey_http::record_request))
//!         .wrap(actix_web::middleware::from_fn(latchkey_http::pace_refusals))
//!         .configure(latchkey_http::configure(latchkey.clone(), config.clone()))
//! })
//! .bind("127.0.0.1:8080")?
//! .run()
//! .await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod client_address;
mod docs;
mod dto;
mod error;
mod extract;
mod logging;
mod metrics;
mod middleware;
mod oauth;
mod openapi;
mod pacing;
mod pages;
mod routes;

use std::sync::Arc;

use actix_web::web;
use latchkey_domain::Latchkey;

pub use auth::{
    authorize, Authenticated, AuthenticatedUser, CreditsCharge, CreditsRead, ProfileRead,
    ProfileWrite, Requirement, SessionOnly,
};
pub use client_address::{TrustedProxies, TrustedProxyError};
pub use error::ApiError;
pub use logging::log_request;
pub use metrics::{record_request, Metrics};
pub use middleware::{
    answer_head, cors, refuse_content_encoding, security_headers, CorsOriginError, CorsOrigins,
};
pub use oauth::{IntrospectionSecret, IntrospectionSecretError};
pub use pacing::{pace_refusals, MAX_PAUSE, MAX_PAUSED};

/// Base path of the API.
pub const API_BASE: &str = "/api/v1";

/// HTTP settings that are the API's own business.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes; larger bodies get 413 before anything is parsed or hashed.
    pub max_body_bytes: usize,
    /// The secret the product's backends present to `POST /oauth/introspect`. `None` (the default) disables that
    /// endpoint: it answers 404.
    pub introspection_secret: Option<IntrospectionSecret>,
    /// Proxies whose `X-Forwarded-For` names the client's address (for rate limits and session lists); none by
    /// default.
    pub trusted_proxies: TrustedProxies,
    /// The metrics [`record_request`] counts into and `GET /metrics` serves, shared by every worker. `None` (the
    /// default) leaves them off: that endpoint answers 404.
    pub metrics: Option<Arc<Metrics>>,
    /// The JWK Set (RFC 7517 §5) served at `GET /.well-known/jwks.json`: the public keys that verify the access
    /// tokens, when they are signed with an asymmetric key (`latchkey_crypto::JwtCodec::published_keys`). `None`
    /// (the default, and HS256) answers that endpoint 404.
    pub jwks: Option<Arc<serde_json::Value>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            // Room for a profile's 16 KiB of metadata with the rest of its body.
            max_body_bytes: 32 * 1024,
            introspection_secret: None,
            trusted_proxies: TrustedProxies::default(),
            metrics: None,
            jwks: None,
        }
    }
}

/// Registers every route, the body-parsing limits and error handlers, the OpenAPI document and reference page,
/// and the JSON 404 (unknown path) and 405 (known path, other method) for requests no route takes.
pub fn configure(
    latchkey: Arc<Latchkey>,
    config: HttpConfig,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let mut router = routes::Router::new(cfg);
        routes::register(&mut router);
        let (paths, schemas, table) = router.finish();
        let document = openapi::document(paths, schemas, latchkey.policies());
        cfg.app_data(web::Data::from(latchkey))
            .app_data(web::Data::new(openapi::ServedDocument(document)))
            .app_data(extract::json_config(&config))
            .app_data(extract::form_config(&config))
            .app_data(extract::query_config())
            .app_data(extract::path_config())
            .app_data(web::PayloadConfig::new(config.max_body_bytes))
            .app_data(web::Data::new(config.trusted_proxies))
            .app_data(web::Data::new(oauth::IntrospectionAccess(
                config.introspection_secret,
            )))
            .configure(|cfg| {
                if let Some(metrics) = config.metrics {
                    cfg.app_data(web::Data::from(metrics));
                }
                if let Some(jwks) = config.jwks {
                    cfg.app_data(web::Data::new(routes::PublishedKeys(jwks)));
                }
            })
            .default_service(routes::fallback(table));
    }
}
