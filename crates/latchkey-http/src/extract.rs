//! Body extractors and the body-parsing configuration that turns every parse failure into the envelope.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError, UrlencodedError};
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use latchkey_domain::ClientInfo;

use crate::client_address::TrustedProxies;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::HttpConfig;

fn payload_too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("Request body is larger than {limit} bytes"),
    )
}

fn unsupported_media_type(expected: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("Content-Type must be {expected}"),
    )
}

pub(crate) fn json_config(config: &HttpConfig) -> web::JsonConfig {
    let limit = config.max_body_bytes;
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _req| json_error(error, limit).into())
}

fn json_error(error: JsonPayloadError, limit: usize) -> ApiError {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            payload_too_large(limit)
        }
        JsonPayloadError::ContentType => unsupported_media_type("application/json"),
        JsonPayloadError::Deserialize(error) => {
            ApiError::invalid_body(format!("Invalid JSON body: {error}"))
        }
        other => ApiError::invalid_body(format!("Invalid JSON body: {other}")),
    }
}

pub(crate) fn form_config(config: &HttpConfig) -> web::FormConfig {
    let limit = config.max_body_bytes;
    web::FormConfig::default()
        .limit(limit)
        .error_handler(move |error, _req| form_error(error, limit).into())
}

fn form_error(error: UrlencodedError, limit: usize) -> ApiError {
    match error {
        UrlencodedError::Overflow { .. } => payload_too_large(limit),
        UrlencodedError::ContentType => unsupported_media_type("application/x-www-form-urlencoded"),
        UrlencodedError::Parse(error) => {
            ApiError::invalid_body(format!("Invalid form body: {error}"))
        }
        other => ApiError::invalid_body(format!("Invalid form body: {other}")),
    }
}

pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::invalid_body(format!("Invalid query string: {error}")).into()
    })
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_error: PathError, _req| ApiError::not_found("Not found").into())
}

/// What the client says about itself, recorded on the session it starts, with the address rate limits count.
///
/// The address is the peer's, or the one a trusted proxy forwarded (see [`TrustedProxies`]): never
/// `X-Forwarded-For` from anyone else, since any client can write that header.
pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok());
    let ip = match req.app_data::<web::Data<TrustedProxies>>() {
        Some(proxies) => proxies.client_ip(req),
        None => TrustedProxies::default().client_ip(req),
    };
    ClientInfo::new(user_agent, ip.map(|ip| ip.to_string()))
}

/// The caller's [`client_info`], as an extractor for handlers that need nothing else of the request.
pub(crate) struct Client(pub ClientInfo);

impl FromRequest for Client {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(client_info(req))))
    }
}

/// A body that is JSON or a URL-encoded form, chosen by `Content-Type` (the login accepts both).
pub(crate) struct FormOrJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for FormOrJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // The media type without parameters, compared case-insensitively as `web::Form` itself does.
        let media_type = req.content_type().to_ascii_lowercase();
        let is_json = media_type == "application/json" || media_type.ends_with("+json");
        if media_type == "application/x-www-form-urlencoded" {
            let form = web::Form::<T>::from_request(req, payload);
            Box::pin(async move { Ok(Self(form.await?.into_inner())) })
        } else if is_json {
            let json = web::Json::<T>::from_request(req, payload);
            Box::pin(async move { Ok(Self(json.await?.into_inner())) })
        } else {
            let refused =
                unsupported_media_type("application/json or application/x-www-form-urlencoded");
            Box::pin(async move { Err(refused.into()) })
        }
    }
}

/// A JSON body that may be absent altogether: an empty body, or JSON `null`, means `T::default()` (the document
/// describes such a body as the object or `null`).
pub(crate) struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|error| {
                if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        "Request body is too large",
                    )
                } else {
                    ApiError::invalid_body("Could not read the request body")
                }
            })?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Self(T::default()));
            }
            serde_json::from_slice::<Option<T>>(&bytes)
                .map(|body| Self(body.unwrap_or_default()))
                .map_err(|error| {
                    ApiError::invalid_body(format!("Invalid JSON body: {error}")).into()
                })
        })
    }
}
