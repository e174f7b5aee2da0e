//! Middleware the server wraps around [`crate::configure`]'s routes: checks that must run before any handler reads
//! a body, the security headers of every response, and CORS for the configured origins.

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpMessage, ResponseError};

use crate::error::ApiError;

/// Marks a `HEAD` request [`answer_head`] routed as `GET`, so an answer that names the method can name the one sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadRequest;

/// Middleware function answering `HEAD` wherever `GET` is served, as RFC 9110 (§9.3.2) asks of every server: the
/// request is routed as a `GET` (its handler runs, and the response keeps its status and headers), and the HTTP/1
/// codec, which saw the request as `HEAD`, sends no body. Load balancers and uptime checks probe `/healthz` this
/// way. Install it with `App::new().wrap(actix_web::middleware::from_fn(latchkey_http::answer_head))`, innermost.
///
/// # Errors
/// Passes on the error of the wrapped service.
pub async fn answer_head(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
        req.extensions_mut().insert(HeadRequest);
    }
    next.call(req).await
}

/// Middleware function refusing, with 415 `unsupported_content_encoding`, any request whose `Content-Encoding`
/// names a coding other than `identity`; install it with
/// `App::new().wrap(actix_web::middleware::from_fn(latchkey_http::refuse_content_encoding))`.
///
/// A compressed body is never inflated: 15 KB of gzip is 15 MB once inflated, and a size limit that applies after
/// inflation bounds the memory only after it is spent. The refusal comes before any handler runs, so the body is not
/// even read; `Accept-Encoding: identity` tells the client what would do (RFC 9110 §15.5.16).
///
/// # Errors
/// Passes on the error of the wrapped service.
pub async fn refuse_content_encoding(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, Error> {
    if only_identity(req.headers().get_all(header::CONTENT_ENCODING)) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let refusal = ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_content_encoding",
        "Compressed request bodies are not accepted: send the body without Content-Encoding",
    )
    .with_header(header::ACCEPT_ENCODING, "identity")
    .error_response();
    Ok(req.into_response(refusal).map_into_right_body())
}

/// Whether every coding listed in the `Content-Encoding` header lines is `identity` (none listed counts as
/// `identity`). An unreadable value is not `identity`.
fn only_identity<'a>(values: impl Iterator<Item = &'a HeaderValue>) -> bool {
    values.into_iter().all(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .map(str::trim)
                .filter(|coding| !coding.is_empty())
                .all(|coding| coding.eq_ignore_ascii_case("identity"))
        })
    })
}

/// `Strict-Transport-Security` when the server is reached over HTTPS: one year, this host only (whether its
/// subdomains are HTTPS is not this server's to promise).
const HSTS: &str = "max-age=31536000";

/// The headers every response carries unless its handler set its own: `Cache-Control: no-store` (responses carry
/// tokens, secrets and account data, and no cache should keep any; the few static assets set their own caching),
/// `X-Content-Type-Options: nosniff`, and with `https` (the public URL is `https://…`) `Strict-Transport-Security`.
/// Install it with `App::new().wrap(latchkey_http::security_headers(https))`.
pub fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((header::CACHE_CONTROL, "no-store"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if https {
        headers.add((header::STRICT_TRANSPORT_SECURITY, HSTS))
    } else {
        headers
    }
}

/// The web origins whose pages may call the API from a browser (CORS), checked and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsOrigins(Vec<String>);

/// Why a CORS origin was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorsOriginError {
    /// Not an `http(s)://host[:port]` URL with nothing after the host and port.
    #[error("`{0}` is not an origin such as https://app.example.com (scheme, host and port only)")]
    NotAnOrigin(String),
}

impl CorsOrigins {
    /// Parses origins such as `https://app.example.com` or `http://localhost:3000`. Each is normalised as browsers
    /// send it in `Origin` (lowercase host, default port dropped, no trailing slash); a wildcard, a path, a query or
    /// credentials are refused: CORS is opened to named sites only.
    ///
    /// # Errors
    /// [`CorsOriginError`] naming the first value that is not an origin.
    pub fn parse<S: AsRef<str>>(origins: &[S]) -> Result<Self, CorsOriginError> {
        let mut parsed: Vec<String> = Vec::with_capacity(origins.len());
        for origin in origins {
            let origin = origin.as_ref().trim();
            let refused = || CorsOriginError::NotAnOrigin(origin.to_owned());
            let url = url::Url::parse(origin).map_err(|_| refused())?;
            let bare = matches!(url.path(), "" | "/")
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
                && !origin.ends_with('/');
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare {
                return Err(refused());
            }
            let origin = url.origin().ascii_serialization();
            if !parsed.contains(&origin) {
                parsed.push(origin);
            }
        }
        Ok(Self(parsed))
    }

    /// `true` when no origin is allowed: CORS stays off.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The origins, normalised.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// CORS for these origins: the API's methods and request headers (`Authorization`, `X-API-Key`, `Content-Type`,
/// `Idempotency-Key`), the response headers a client reads (`Retry-After`, `WWW-Authenticate`,
/// `Idempotent-Replayed`), and no credentials mode (the API takes no cookies). A request from any other origin gets
/// no CORS headers, so browsers withhold the answer from that origin's page. Wrap it only when the list is not empty
/// (`actix_web::middleware::Condition::new(!origins.is_empty(), latchkey_http::cors(&origins))`): without CORS,
/// browsers keep other sites' pages from reading the API's answers.
pub fn cors(origins: &CorsOrigins) -> Cors {
    origins
        .as_slice()
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-api-key"),
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_anything_else_refused() {
        let origins = CorsOrigins::parse(&[
            "https://App.Example.com",
            "http://localhost:3000",
            "https://app.example.com:443",
        ])
        .unwrap();
        assert_eq!(
            origins.as_slice(),
            ["https://app.example.com", "http://localhost:3000"]
        );
        for refused in [
            "*",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://user:pw@app.example.com",
            "ftp://app.example.com",
            "",
        ] {
            assert_eq!(
                CorsOrigins::parse(&[refused]),
                Err(CorsOriginError::NotAnOrigin(refused.to_owned())),
                "{refused}"
            );
        }
        assert!(CorsOrigins::parse::<&str>(&[]).unwrap().is_empty());
    }

    fn check(values: &[&'static str]) -> bool {
        let values: Vec<HeaderValue> = values.iter().map(|v| HeaderValue::from_static(v)).collect();
        only_identity(values.iter())
    }

    #[test]
    fn only_identity_passes() {
        assert!(check(&[]));
        assert!(check(&["identity"]));
        assert!(check(&["Identity", " identity , IDENTITY"]));
        assert!(check(&[""]));
        for refused in [
            &["gzip"][..],
            &["br"],
            &["deflate"],
            &["zstd"],
            &["identity, gzip"],
            &["identity", "gzip"],
            &["x-gzip"],
        ] {
            assert!(!check(refused), "{refused:?}");
        }
    }
}
