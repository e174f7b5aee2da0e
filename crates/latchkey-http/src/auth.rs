//! Who is calling, and whether they may: the [`Authenticated`] extractors.
//!
//! A handler states what it needs as a type, `Authenticated<CreditsRead>` or `Authenticated<SessionOnly>`, and is
//! only called when the credential is valid (401 otherwise) and meets the requirement (403 otherwise). The check is
//! split in two so that the second half, [`authorize`], is pure and can be tested with any credential.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
pub use latchkey_domain::access::{
    CreditsCharge, CreditsRead, ProfileRead, ProfileWrite, Requirement, SessionOnly,
};
use latchkey_domain::{Latchkey, Principal, User};

use crate::error::ApiError;
use crate::extract::client_info;

/// A request whose credential is valid and meets the requirement `R`; holds what `R` grants (a
/// [`Principal`], or a [`latchkey_domain::SessionPrincipal`] for [`SessionOnly`]).
///
/// The credential is an `Authorization: Bearer` token (an access token, or a personal token `lk_pat_…`) or an
/// `X-API-Key` header.
///
/// Refuses the request with 401 (and `WWW-Authenticate`) when the credential is missing or invalid:
/// `"Not authenticated"` without a token, `"Token has expired"` for an expired one, `"Could not validate
/// credentials"` for any other; then with 403 as [`authorize`] says.
pub struct Authenticated<R: Requirement>(pub R::Granted);

impl<R: Requirement> Authenticated<R> {
    /// What the requirement granted.
    pub fn into_inner(self) -> R::Granted {
        self.0
    }
}

impl<R: Requirement> fmt::Debug for Authenticated<R>
where
    R::Granted: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authenticated").field(&self.0).finish()
    }
}

impl<R> FromRequest for Authenticated<R>
where
    R: Requirement + 'static,
    R::Granted: 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let credentials = presented_credentials(req);
        // Where the request came from, for the security events the use case records.
        let client = client_info(req);
        Box::pin(async move {
            let (service, presented) = credentials?;
            let principal = match presented {
                Presented::Bearer(token) => service.authenticate(&token).await?,
                Presented::ApiKey(key) => service.authenticate_api_key(&key).await?.0,
            };
            Ok(Self(authorize::<R>(principal.with_client(client))?))
        })
    }
}

/// As [`Authenticated`], with the caller's account loaded by the same lookup that checks the credential, for
/// handlers that need the account anyway (one database round trip instead of two).
pub struct AuthenticatedUser<R: Requirement>(pub R::Granted, pub User);

impl<R: Requirement> fmt::Debug for AuthenticatedUser<R>
where
    R::Granted: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AuthenticatedUser")
            .field(&self.0)
            .field(&self.1)
            .finish()
    }
}

impl<R> FromRequest for AuthenticatedUser<R>
where
    R: Requirement + 'static,
    R::Granted: 'static,
{
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let credentials = presented_credentials(req);
        Box::pin(async move {
            let (service, presented) = credentials?;
            let (principal, user) = match presented {
                Presented::Bearer(token) => service.authenticate_user(&token).await?,
                Presented::ApiKey(key) => service.authenticate_api_key(&key).await?,
            };
            Ok(Self(authorize::<R>(principal)?, user))
        })
    }
}

/// Checks an authenticated principal against `R`: 403 `session_required` when a personal token or API key asks
/// for a session-only use case, 403 `insufficient_scope` (with `WWW-Authenticate: Bearer
/// error="insufficient_scope"`) when its scopes fall short.
///
/// # Errors
/// The 403 [`ApiError`].
pub fn authorize<R: Requirement>(principal: Principal) -> Result<R::Granted, ApiError> {
    principal.authorize::<R>().map_err(ApiError::from)
}

fn latchkey(req: &HttpRequest) -> Result<web::Data<Latchkey>, ApiError> {
    req.app_data::<web::Data<Latchkey>>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("latchkey-http routes registered without their service");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Internal server error",
            )
        })
}

/// The bearer token of the `Authorization` header, if one was sent.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The header that carries an API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The credential a request presents.
enum Presented {
    /// `Authorization: Bearer …`: an access token or a personal token (`lk_pat_…`).
    Bearer(String),
    /// `X-API-Key: …`.
    ApiKey(String),
}

/// The service and the presented credential, or the 401 for a request without one. A bearer token wins over an
/// API key when both are sent, so a header added by a proxy cannot override the caller's own token.
fn presented_credentials(req: &HttpRequest) -> Result<(web::Data<Latchkey>, Presented), ApiError> {
    let service = latchkey(req)?;
    if let Some(token) = bearer_token(req) {
        return Ok((service, Presented::Bearer(token.to_owned())));
    }
    let api_key = req
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or_else(ApiError::not_authenticated)?;
    Ok((service, Presented::ApiKey(api_key.to_owned())))
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use actix_web::ResponseError;
    use latchkey_domain::{
        ApiKeyId, Credential, PersonalTokenId, Scopes, SessionId, SessionPrincipal, UserId,
    };
    use serde_json::Value;

    use super::*;

    fn user() -> UserId {
        UserId::from_random("u1")
    }

    fn session() -> Principal {
        SessionPrincipal::new(user(), SessionId::from_random("s1")).into()
    }

    fn token(scopes: &str) -> Principal {
        Principal::new(
            user(),
            Credential::PersonalToken {
                id: PersonalTokenId::from_random("t1"),
                scopes: Scopes::parse(scopes).unwrap(),
            },
        )
    }

    fn key(scopes: &str) -> Principal {
        Principal::new(
            user(),
            Credential::ApiKey {
                id: ApiKeyId::from_random("k1"),
                scopes: Scopes::parse(scopes).unwrap(),
            },
        )
    }

    /// Renders the refusal as the client sees it: status, `WWW-Authenticate`, and the body's code.
    async fn rendered(error: ApiError) -> (StatusCode, Option<String>, Value) {
        let response = error.error_response();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap().to_owned());
        let status = response.status();
        let body = to_bytes(response.into_body()).await.unwrap();
        (status, challenge, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn a_session_meets_every_requirement() {
        assert_eq!(authorize::<ProfileRead>(session()).unwrap(), session());
        assert_eq!(authorize::<CreditsCharge>(session()).unwrap(), session());
        let granted = authorize::<SessionOnly>(session()).unwrap();
        assert_eq!(Principal::from(granted), session());
    }

    #[actix_web::test]
    async fn tokens_and_keys_with_the_scope_pass() {
        assert_eq!(
            authorize::<CreditsRead>(token("credits:read")).unwrap(),
            token("credits:read")
        );
        assert_eq!(
            authorize::<ProfileWrite>(key("profile:read profile:write")).unwrap(),
            key("profile:read profile:write")
        );
    }

    #[actix_web::test]
    async fn a_missing_scope_is_403_insufficient_scope_with_the_challenge() {
        for principal in [token("profile:read"), key("profile:read credits:charge")] {
            let error = authorize::<CreditsRead>(principal).unwrap_err();
            let (status, challenge, body) = rendered(error).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(
                challenge.as_deref(),
                Some("Bearer error=\"insufficient_scope\"")
            );
            assert_eq!(body["code"], "insufficient_scope");
            assert_eq!(
                body["detail"],
                "The credential lacks the credits:read scope"
            );
        }
    }

    #[actix_web::test]
    async fn a_token_or_key_on_a_session_only_use_case_is_403_session_required() {
        for principal in [token("profile:read profile:write"), key("credits:read")] {
            let error = authorize::<SessionOnly>(principal).unwrap_err();
            let (status, challenge, body) = rendered(error).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
            assert_eq!(challenge, None);
            assert_eq!(body["code"], "session_required");
            assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
}
