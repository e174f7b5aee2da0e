use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use latchkey_domain::service::{LoginInput, LogoutScope};
use latchkey_domain::{ClientInfo, Latchkey};

use crate::auth::{Authenticated, SessionOnly};
use crate::dto::{
    LoginRequest, LoginResponse, LogoutRequest, MessageBody, RefreshRequest, RegisterRequest,
    RegisterResponse, TokenPairBody,
};
use crate::error::ApiError;
use crate::extract::{client_info, Client, FormOrJson, OptionalJson};
use crate::oauth::{check_grant_type, token_response, OAuth};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, TooManyAttempts, Unauthorized, Unavailable,
    UnavailableOrOverloaded, UnsupportedMediaType,
};

/// Register an account.
///
/// Creates the account with the welcome credits, sends the verification email (a link and a 6-digit code), and
/// starts its first session; `token` is `null` when the server requires a verified address before login.
/// `validation_error` lists every rejected field at once.
#[utoipa::path(
    operation_id = "register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = CREATED, description = "The account and its first token pair", body = RegisterResponse),
        BadRequest, Conflict, PayloadTooLarge, UnsupportedMediaType, TooManyAttempts, UnavailableOrOverloaded,
    ),
)]
#[post("/auth/register")]
pub(super) async fn register(
    latchkey: web::Data<Latchkey>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let outcome = latchkey
        .register(body.into_inner().try_into()?, client_info(&req))
        .await?;
    let message = if latchkey.policies().verification.required_for_login() {
        "Registration successful! Check your email to verify your account before logging in."
    } else if outcome.tokens.is_some() {
        "Registration successful! Check your email to verify your account."
    } else {
        "Registration successful. Please log in."
    };
    let body = RegisterResponse {
        user: outcome.user.into(),
        token: outcome.tokens.map(Into::into),
        message,
    };
    Ok(token_response(StatusCode::CREATED, &body))
}

/// Log in with a password.
///
/// Takes the OAuth2 password form (RFC 6749 §4.3) or JSON; `username` may hold an email or a username. An unknown
/// account and a wrong password get the same 401 `invalid_credentials`. Errors carry the RFC 6749 `error` and
/// `error_description` too (`invalid_grant` for wrong credentials).
/// When the server requires verified addresses, the right password for an unverified one gets 403
/// `email_not_verified`.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body(content(
        (LoginRequest = "application/json"),
        (LoginRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "A new session's token pair and the account", body = LoginResponse),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType,
        TooManyAttempts, UnavailableOrOverloaded,
    ),
)]
#[post("/auth/login")]
pub(super) async fn login(
    latchkey: web::Data<Latchkey>,
    req: HttpRequest,
    OAuth(FormOrJson(body)): OAuth<FormOrJson<LoginRequest>>,
) -> Result<HttpResponse, ApiError> {
    password_grant(&latchkey, &req, body)
        .await
        .map_err(ApiError::oauth)
}

/// The password grant, as `POST /auth/login` and `POST /oauth/token` answer it.
pub(super) async fn password_grant(
    latchkey: &Latchkey,
    req: &HttpRequest,
    body: LoginRequest,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        username,
        email,
        password,
        grant_type,
        ..
    } = body;
    check_grant_type(grant_type.as_deref(), "password")?;
    let identifier = username
        .or(email)
        .ok_or_else(|| ApiError::validation([("username", "is required".to_owned())]))?;
    let input = LoginInput::new().identifier(identifier).password(password);
    let outcome = latchkey.login(input, client_info(req)).await?;
    let body = LoginResponse {
        tokens: outcome.tokens.into(),
        user: outcome.user.into(),
    };
    Ok(token_response(StatusCode::OK, &body))
}

/// Exchange a refresh token for a new pair.
///
/// Takes JSON or the OAuth2 refresh form (RFC 6749 §6). The presented refresh token is spent. Presenting a spent
/// token again (after a short grace window for a lost response) revokes the whole session. Errors carry the
/// RFC 6749 `error` and `error_description` too (`invalid_grant` for a bad refresh token).
#[utoipa::path(
    operation_id = "refresh",
    tag = "auth",
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = OK, description = "The new token pair", body = TokenPairBody),
        BadRequest, Unauthorized, PayloadTooLarge, UnsupportedMediaType, TooManyAttempts, Unavailable,
    ),
)]
#[post("/auth/refresh")]
pub(super) async fn refresh(
    latchkey: web::Data<Latchkey>,
    OAuth(FormOrJson(body)): OAuth<FormOrJson<RefreshRequest>>,
    Client(client): Client,
) -> Result<HttpResponse, ApiError> {
    refresh_grant(&latchkey, body, &client)
        .await
        .map_err(ApiError::oauth)
}

/// The refresh grant, as `POST /auth/refresh` and `POST /oauth/token` answer it.
pub(super) async fn refresh_grant(
    latchkey: &Latchkey,
    body: RefreshRequest,
    client: &ClientInfo,
) -> Result<HttpResponse, ApiError> {
    check_grant_type(body.grant_type.as_deref(), "refresh_token")?;
    let pair = latchkey.refresh(&body.refresh_token, client).await?;
    Ok(token_response(StatusCode::OK, &TokenPairBody::from(pair)))
}

/// Log out.
///
/// Ends this session (its refresh and access tokens are refused from now on), or every session of the account
/// with `{"all": true}`. The body is optional.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body(content = Option<LogoutRequest>, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = OK, description = "Logged out", body = MessageBody),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, Unavailable,
    ),
)]
#[post("/auth/logout")]
pub(super) async fn logout(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    body: OptionalJson<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let scope = if body.0.all {
        LogoutScope::AllSessions
    } else {
        LogoutScope::ThisSession
    };
    latchkey.logout(&principal, scope).await?;
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Successfully logged out",
    }))
}
