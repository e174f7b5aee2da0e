//! Middleware the server wraps around [`crate::configure`]'s routes: checks that must run before any handler reads
//! a body.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::error::ApiError;

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

#[cfg(test)]
mod tests {
    use super::*;

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
