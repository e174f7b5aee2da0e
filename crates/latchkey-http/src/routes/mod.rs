//! The route table. Each handler parses, calls one use case and maps the result.
//!
//! A route is declared once, on its handler: the actix attribute (`#[post("/auth/register")]`) gives its method
//! and path, and the `#[utoipa::path]` above it its OpenAPI operation. [`register`] hands every handler to a
//! [`Router`], which registers it with actix and, from the same value, collects its operation for the document
//! and its method for the `Allow` header of the 405. So a route cannot be served without being documented, and
//! the `Allow` header cannot disagree with what is served.

mod account;
mod auth;
mod credentials;
mod credits;
mod email;
mod events;
mod health;
mod keys;
mod oauth;
mod profile;
mod sessions;

pub(crate) use keys::PublishedKeys;

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::dev::{HttpServiceFactory, ResourceDef};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{guard, web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};
use utoipa::openapi::path::{PathItem, Paths};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;
use utoipa_actix_web::{scope, OpenApiFactory};

use crate::error::ApiError;
use crate::{docs, openapi, API_BASE};

pub(crate) use email::{
    send_reset_link_later, send_verification_later, FORGOT_MESSAGE, RESEND_MESSAGE,
};

/// Entries per page when a list request names no `limit`.
const DEFAULT_PAGE: usize = 20;

/// A paged list's `?limit=&cursor=`, checked: the limit (default [`DEFAULT_PAGE`]) within `1..=max`, and an empty
/// `cursor=` read as none (the first page), as a schema-valid empty string must be.
fn page_query(
    limit: Option<usize>,
    cursor: Option<String>,
    max: usize,
) -> Result<(usize, Option<String>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::validation([(
            "limit",
            format!("must be between 1 and {max}"),
        )]));
    }
    Ok((limit, cursor.filter(|cursor| !cursor.is_empty())))
}

/// Every route of the service.
pub(crate) fn register(router: &mut Router<'_>) {
    router
        .service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(keys::jwks)
        .service(docs::page)
        // The page's static files are not part of the API.
        .undocumented(Method::GET, docs::ASSET_PATH, docs::asset)
        // OAuth2 clients expect these at the server root, not under the API's base path.
        .service(oauth::token)
        .service(oauth::revoke)
        .service(oauth::introspect)
        .service(
            scope(API_BASE)
                .service(openapi::openapi_json)
                .service(auth::register)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(sessions::list)
                .service(sessions::revoke)
                .service(events::list)
                .service(account::me)
                .service(profile::update_me)
                .service(profile::delete_me)
                .service(profile::change_email)
                .service(account::credits)
                .service(account::change_password)
                .service(credits::create_charge)
                .service(credits::refund_charge)
                .service(credits::list_ledger)
                .service(email::verify_email)
                .service(email::resend_verification)
                .service(email::forgot_password)
                .service(email::reset_password)
                .service(credentials::create_token)
                .service(credentials::list_tokens)
                .service(credentials::revoke_token)
                .service(credentials::rotate_token)
                .service(credentials::create_key)
                .service(credentials::list_keys)
                .service(credentials::revoke_key)
                .service(credentials::rotate_key),
        );
    crate::pages::register(router);
}

/// Registers routes with actix and collects, from the same calls, the OpenAPI paths and schemas and the methods
/// each path accepts.
pub(crate) struct Router<'c> {
    cfg: &'c mut web::ServiceConfig,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    undocumented: Vec<(Method, &'static str)>,
}

impl<'c> Router<'c> {
    pub(crate) fn new(cfg: &'c mut web::ServiceConfig) -> Self {
        Self {
            cfg,
            paths: Paths::new(),
            schemas: Vec::new(),
            undocumented: Vec::new(),
        }
    }

    /// A handler (or a `utoipa_actix_web` scope of handlers) annotated with `#[utoipa::path]` and an actix
    /// method attribute.
    pub(crate) fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: HttpServiceFactory + OpenApiFactory + 'static,
    {
        self.paths.merge(factory.paths());
        factory.schemas(&mut self.schemas);
        self.cfg.service(factory);
        self
    }

    /// A route that is served but kept out of the document.
    pub(crate) fn undocumented<H, Args>(
        &mut self,
        method: Method,
        path: &'static str,
        handler: H,
    ) -> &mut Self
    where
        H: Handler<Args>,
        Args: FromRequest + 'static,
        H::Output: Responder + 'static,
    {
        // A guard on the resource, as the actix attributes generate, so another method falls through to the
        // fallback's 405 rather than to the resource's own empty one.
        self.cfg.service(
            web::resource(path)
                .guard(guard::Method(method.clone()))
                .to(handler),
        );
        self.undocumented.push((method, path));
        self
    }

    /// The collected paths and schemas, and the table of accepted methods.
    pub(crate) fn finish(self) -> (Paths, Vec<(String, RefOr<Schema>)>, RouteTable) {
        let mut methods: BTreeMap<String, Vec<Method>> = BTreeMap::new();
        for (path, item) in &self.paths.paths {
            methods
                .entry(path.clone())
                .or_default()
                .extend(operations(item).map(|(method, _)| method));
        }
        for (method, path) in self.undocumented {
            methods.entry(path.to_owned()).or_default().push(method);
        }
        let routes = methods
            .into_iter()
            .filter_map(|(path, methods)| {
                // Sorted, so the header is the same whatever order the routes were declared in.
                let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
                // `answer_head` serves HEAD wherever GET is.
                if methods.contains(&Method::GET) {
                    names.push(Method::HEAD.as_str());
                }
                names.sort_unstable();
                names.dedup();
                let allow = names.join(", ");
                let allow = HeaderValue::from_str(&allow).ok()?;
                Some((ResourceDef::new(path), allow))
            })
            .collect();
        (self.paths, self.schemas, RouteTable { routes })
    }
}

/// The operations of a path item with their methods, in a fixed order.
pub(crate) fn operations(
    item: &PathItem,
) -> impl Iterator<Item = (Method, &utoipa::openapi::path::Operation)> {
    [
        (Method::GET, &item.get),
        (Method::PUT, &item.put),
        (Method::POST, &item.post),
        (Method::DELETE, &item.delete),
        (Method::OPTIONS, &item.options),
        (Method::HEAD, &item.head),
        (Method::PATCH, &item.patch),
        (Method::TRACE, &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|operation| (method, operation)))
}

/// Each served path pattern with the `Allow` value of its methods.
#[derive(Debug)]
pub(crate) struct RouteTable {
    routes: Vec<(ResourceDef, HeaderValue)>,
}

impl RouteTable {
    /// The `Allow` value for a request path that some route serves with other methods.
    fn allow(&self, path: &str) -> Option<HeaderValue> {
        self.routes
            .iter()
            .find(|(pattern, _)| pattern.is_match(path))
            .map(|(_, allow)| allow.clone())
    }
}

/// The method the client sent: `HEAD` for one [`crate::answer_head`] routes as `GET`.
fn sent_method(req: &HttpRequest) -> Method {
    use actix_web::HttpMessage;
    if req
        .extensions()
        .get::<crate::middleware::HeadRequest>()
        .is_some()
    {
        Method::HEAD
    } else {
        req.method().clone()
    }
}

/// What answers a request no route took: the JSON 405 with the `Allow` header RFC 9110 asks for when the path is
/// served with other methods, the JSON 404 otherwise.
pub(crate) fn fallback(table: RouteTable) -> actix_web::Route {
    let table = Arc::new(table);
    web::to(move |req: HttpRequest| {
        let allow = table.allow(req.path());
        async move {
            let error = match allow {
                Some(allow) => ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("Method {} is not allowed here", sent_method(&req)),
                )
                .with_header_value(header::ALLOW, allow),
                None => ApiError::not_found("Not found"),
            };
            Err::<HttpResponse, _>(error)
        }
    })
}
