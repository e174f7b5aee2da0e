//! The OAuth2 endpoints at the server root, where OAuth2 clients expect them: one token endpoint for both grants
//! (RFC 6749 §3.2), revocation (RFC 7009) and introspection (RFC 7662).

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use latchkey_domain::Latchkey;

use super::auth::{password_grant, refresh_grant};
use crate::dto::{LoginRequest, RefreshRequest};
use crate::error::ApiError;
use crate::extract::{client_info, FormOrJson};
use crate::oauth::dto::{
    IntrospectRequest, IntrospectionBody, RevokeRequest, TokenRequest, TokenResponse,
};
use crate::oauth::{token_response, IntrospectionCaller, OAuth};
use crate::openapi::{
    BadRequest, NotFound, PayloadTooLarge, TooManyAttempts, Unauthorized, Unavailable,
    UnavailableOrOverloaded, UnsupportedMediaType,
};

/// OAuth2 token endpoint.
///
/// The password grant (`grant_type=password`, `username`, `password`) answers as `POST /api/v1/auth/login` does,
/// the refresh grant (`grant_type=refresh_token`, `refresh_token`) as `POST /api/v1/auth/refresh` does, so a
/// client configured with this one token URL works. Form-encoded, as RFC 6749 requires. Errors carry the RFC 6749
/// `error` and `error_description` beside the envelope.
#[utoipa::path(
    operation_id = "oauth_token",
    tag = "oauth",
    request_body(content((TokenRequest = "application/x-www-form-urlencoded"))),
    responses(
        (status = OK, description = "The token pair (and, for the password grant, the account)",
         body = TokenResponse),
        BadRequest, Unauthorized, PayloadTooLarge, UnsupportedMediaType, TooManyAttempts, UnavailableOrOverloaded,
    ),
)]
#[post("/oauth/token")]
pub(super) async fn token(
    latchkey: web::Data<Latchkey>,
    req: HttpRequest,
    OAuth(body): OAuth<web::Form<TokenRequest>>,
) -> Result<HttpResponse, ApiError> {
    let TokenRequest {
        grant_type,
        username,
        password,
        refresh_token,
    } = body.into_inner();
    let missing =
        |field: &str| ApiError::invalid_body(format!("Invalid form body: missing field `{field}`"));
    let answer = match grant_type.as_deref() {
        Some("password") => match (username, password) {
            (Some(username), Some(password)) => {
                let login = LoginRequest {
                    username: Some(username),
                    email: None,
                    password,
                    grant_type: None,
                    client_id: None,
                    scope: None,
                };
                password_grant(&latchkey, &req, login).await
            }
            // RFC 6749 §4.3.2 requires both: a missing one is the grant's `invalid_request`, as for the token
            // endpoint's other fields.
            (None, _) => Err(missing("username")),
            (_, None) => Err(missing("password")),
        },
        Some("refresh_token") => match refresh_token {
            Some(refresh_token) => {
                let refresh = RefreshRequest {
                    refresh_token,
                    grant_type: None,
                    client_id: None,
                    scope: None,
                };
                refresh_grant(&latchkey, refresh, &client_info(&req)).await
            }
            None => Err(missing("refresh_token")),
        },
        Some(_) => Err(ApiError::unsupported_grant_type(
            "password or refresh_token",
        )),
        None => Err(missing("grant_type")),
    };
    answer.map_err(ApiError::oauth)
}

/// Revoke a token (RFC 7009).
///
/// Whoever holds a token can end it, so a leaked one can be killed by whoever finds it: a refresh token (live or
/// already spent) ends its session, as does a live access token; a personal token or API key is revoked. Always
/// 200 with an empty body, also for an unknown, expired or already revoked token, so the answer tells nothing
/// about it.
/// `token_type_hint` and client authentication are accepted and ignored. Form or JSON.
#[utoipa::path(
    operation_id = "oauth_revoke",
    tag = "oauth",
    request_body(content(
        (RevokeRequest = "application/x-www-form-urlencoded"),
        (RevokeRequest = "application/json"),
    )),
    responses(
        (status = OK, description = "Done, or nothing to do (the answer is the same)"),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unavailable,
    ),
)]
#[post("/oauth/revoke")]
pub(super) async fn revoke(
    req: HttpRequest,
    latchkey: web::Data<Latchkey>,
    OAuth(FormOrJson(body)): OAuth<FormOrJson<RevokeRequest>>,
) -> Result<HttpResponse, ApiError> {
    latchkey
        .revoke_token(&body.token, &client_info(&req))
        .await
        .map_err(|error| ApiError::from(error).oauth())?;
    Ok(HttpResponse::Ok().finish())
}

/// Introspect a token (RFC 7662), for the product's backends.
///
/// Protected by the server's `introspection.secret`, sent as `Authorization: Bearer <secret>` or as the password
/// of HTTP Basic (any user name); without it, 401 `invalid_client` and nothing else. When no secret is
/// configured the endpoint is disabled and answers 404, as an unknown route does. A live access token, personal
/// token or API key is `{"active": true, "sub", "scope", "exp", "iat", "token_type"}` (`exp` absent for a key
/// that never expires); anything else, including a token whose session or credential was revoked a moment ago, is
/// `{"active": false}`. Form or JSON.
#[utoipa::path(
    operation_id = "oauth_introspect",
    tag = "oauth",
    request_body(content(
        (IntrospectRequest = "application/x-www-form-urlencoded"),
        (IntrospectRequest = "application/json"),
    )),
    security(("introspection" = [])),
    responses(
        (status = OK, description = "What the token is", body = IntrospectionBody),
        BadRequest, Unauthorized, NotFound, PayloadTooLarge, UnsupportedMediaType, Unavailable,
    ),
)]
#[post("/oauth/introspect")]
pub(super) async fn introspect(
    // First: an unauthenticated caller is refused before its body is read.
    _caller: IntrospectionCaller,
    latchkey: web::Data<Latchkey>,
    OAuth(FormOrJson(body)): OAuth<FormOrJson<IntrospectRequest>>,
) -> Result<HttpResponse, ApiError> {
    let introspection = latchkey
        .introspect(&body.token)
        .await
        .map_err(|error| ApiError::from(error).oauth())?;
    Ok(token_response(
        StatusCode::OK,
        &IntrospectionBody::from(introspection),
    ))
}
