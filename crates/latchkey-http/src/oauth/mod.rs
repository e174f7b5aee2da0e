//! What makes the API an OAuth2 server that standard client libraries understand: the error members of RFC 6749
//! §5.2 on every refusal of a token endpoint ([`OAuth`]), uncached token responses (§5.1), the `grant_type` check,
//! and the protection of the introspection endpoint (RFC 7662 §2.1) by a static secret ([`IntrospectionSecret`]).
//!
//! The endpoints themselves are handlers like any other: `POST /auth/login` and `POST /auth/refresh` in
//! `routes/auth.rs`, `POST /oauth/token`, `/oauth/revoke` and `/oauth/introspect` in `routes/oauth.rs`.

pub(crate) mod dto;

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use latchkey_domain::TokenHash;
use serde::Serialize;

use crate::error::ApiError;

/// An extractor of an OAuth2 endpoint: `E`'s refusal (a malformed body, a wrong media type, an oversized body)
/// carries the RFC 6749 members too, as the handler's own errors do.
pub(crate) struct OAuth<E>(pub E);

impl<E> FromRequest for OAuth<E>
where
    E: FromRequest + 'static,
    E::Error: Into<actix_web::Error>,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let inner = E::from_request(req, payload);
        Box::pin(async move {
            inner.await.map(Self).map_err(|error| {
                let error: actix_web::Error = error.into();
                // The body configs of `extract.rs` answer every parse failure with an `ApiError`; anything else
                // is still the client's malformed request.
                error
                    .as_error::<ApiError>()
                    .cloned()
                    .unwrap_or_else(|| ApiError::invalid_body("Malformed request"))
                    .oauth()
            })
        })
    }
}

/// A successful answer of a token, refresh, introspection or registration: JSON that no cache may keep
/// (RFC 6749 §5.1).
pub(crate) fn token_response(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(body)
}

/// Accepts an absent `grant_type` (a JSON client of the plain API sends none) or the endpoint's own.
///
/// # Errors
/// 400 `unsupported_grant_type` for any other value.
pub(crate) fn check_grant_type(
    given: Option<&str>,
    expected: &'static str,
) -> Result<(), ApiError> {
    match given {
        None => Ok(()),
        Some(given) if given == expected => Ok(()),
        Some(_) => Err(ApiError::unsupported_grant_type(expected)),
    }
}

/// The secret that the product's backends present to `POST /oauth/introspect`, as HTTP Basic (any user name, the
/// secret as password) or as `Authorization: Bearer <secret>`.
///
/// Only its SHA-256 digest is kept, and a presented value is compared digest to digest in constant time, so
/// neither the comparison's timing nor a memory dump gives the secret away. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct IntrospectionSecret {
    digest: TokenHash,
}

/// Why a configured introspection secret was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntrospectionSecretError {
    /// Shorter than [`IntrospectionSecret::MIN_BYTES`].
    TooShort,
}

impl fmt::Display for IntrospectionSecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => write!(
                f,
                "must be at least {} bytes (e.g. `openssl rand -hex 32`)",
                IntrospectionSecret::MIN_BYTES
            ),
        }
    }
}

impl std::error::Error for IntrospectionSecretError {}

impl IntrospectionSecret {
    /// The shortest secret accepted: as for the JWT secret, 32 bytes, so it cannot be guessed online.
    pub const MIN_BYTES: usize = 32;

    /// A secret from configuration.
    ///
    /// # Errors
    /// [`IntrospectionSecretError::TooShort`] below [`IntrospectionSecret::MIN_BYTES`].
    pub fn new(secret: &str) -> Result<Self, IntrospectionSecretError> {
        if secret.len() < Self::MIN_BYTES {
            return Err(IntrospectionSecretError::TooShort);
        }
        Ok(Self {
            digest: TokenHash::of(secret),
        })
    }

    /// Whether `presented` is the secret; constant-time in everything but its length, which the caller knows.
    fn admits(&self, presented: &str) -> bool {
        // `TokenHash` equality is constant-time.
        TokenHash::of(presented) == self.digest
    }

    /// Whether the `Authorization` header value carries the secret, by either scheme.
    fn admits_authorization(&self, value: &str) -> bool {
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.admits(credentials);
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Some(pair) = STANDARD
            .decode(credentials)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        else {
            return false;
        };
        let Some((_user, password)) = pair.split_once(':') else {
            return false;
        };
        // RFC 6749 §2.3.1 has clients form-encode the password before Basic; `curl -u` and most tools do not.
        // Either spelling of the secret is the secret.
        self.admits(password) || form_decode(password).is_some_and(|decoded| self.admits(&decoded))
    }
}

impl fmt::Debug for IntrospectionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntrospectionSecret(<redacted>)")
    }
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte. `None` when malformed
/// or not UTF-8.
fn form_decode(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut rest = value.bytes();
    while let Some(byte) = rest.next() {
        bytes.push(match byte {
            b'+' => b' ',
            b'%' => {
                let high = char::from(rest.next()?).to_digit(16)?;
                let low = char::from(rest.next()?).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(bytes).ok()
}

/// The introspection endpoint's setting, in the app data: `None` disables the endpoint.
#[derive(Debug, Clone)]
pub(crate) struct IntrospectionAccess(pub Option<IntrospectionSecret>);

/// A caller of `POST /oauth/introspect` that presented the configured secret. Extracted before the body, so an
/// unauthenticated caller learns nothing, not even whether its body would parse.
///
/// Refuses with 404 `not_found` (the answer to any unknown route) when no secret is configured: a disabled
/// endpoint is one that is not there, and no credential could change that. Otherwise refuses a missing or wrong
/// secret with 401 `invalid_client`.
#[derive(Debug)]
pub(crate) struct IntrospectionCaller;

impl FromRequest for IntrospectionCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let access = req.app_data::<web::Data<IntrospectionAccess>>();
        let Some(secret) = access.and_then(|access| access.0.as_ref()) else {
            return ready(Err(ApiError::not_found("Not found")));
        };
        let admitted = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| secret.admits_authorization(value));
        ready(if admitted {
            Ok(Self)
        } else {
            Err(ApiError::invalid_client().oauth())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef+/=";

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            IntrospectionSecret::new(&"x".repeat(31)).unwrap_err(),
            IntrospectionSecretError::TooShort
        );
        IntrospectionSecret::new(&"x".repeat(32)).unwrap();
    }

    #[test]
    fn the_secret_is_admitted_as_bearer_or_as_the_basic_password_plain_or_form_encoded() {
        let secret = IntrospectionSecret::new(SECRET).unwrap();
        for value in [
            format!("Bearer {SECRET}"),
            format!("bearer  {SECRET} "),
            basic("backend", SECRET),
            basic("", SECRET),
            basic("backend", "0123456789abcdef0123456789abcdef%2B%2F%3D"),
        ] {
            assert!(secret.admits_authorization(&value), "{value}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let secret = IntrospectionSecret::new(SECRET).unwrap();
        let wrong = "0123456789abcdef0123456789abcdef+/?";
        for value in [
            String::new(),
            "Bearer".to_owned(),
            format!("Bearer {wrong}"),
            format!("Token {SECRET}"),
            basic("backend", wrong),
            basic(SECRET, ""),
            format!("Basic {SECRET}"),
            "Basic !!!".to_owned(),
            format!("Basic {}", STANDARD.encode(SECRET)),
        ] {
            assert!(!secret.admits_authorization(&value), "{value}");
        }
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_decode("a+b%2Fc%3d").as_deref(), Some("a b/c="));
        assert_eq!(form_decode("%"), None);
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%ff"), None);
    }

    #[test]
    fn debug_shows_nothing_of_the_secret() {
        let secret = IntrospectionSecret::new(SECRET).unwrap();
        assert_eq!(format!("{secret:?}"), "IntrospectionSecret(<redacted>)");
    }
}
