use actix_web::{web, HttpRequest, HttpResponse};
use latchkey_domain::service::{LoginInput, LogoutScope};
use latchkey_domain::Latchkey;

use crate::auth::{Authenticated, SessionOnly};
use crate::dto::{
    LoginRequest, LoginResponse, LogoutRequest, MessageBody, RefreshRequest, RegisterRequest,
    RegisterResponse,
};
use crate::error::ApiError;
use crate::extract::{client_info, FormOrJson, OptionalJson};

pub(super) async fn register(
    latchkey: web::Data<Latchkey>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let outcome = latchkey
        .register(body.into_inner().into(), client_info(&req))
        .await?;
    let message = if outcome.tokens.is_some() {
        "Registration successful."
    } else {
        "Registration successful. Please log in."
    };
    Ok(HttpResponse::Created().json(RegisterResponse {
        user: outcome.user.into(),
        token: outcome.tokens.map(Into::into),
        message,
    }))
}

pub(super) async fn login(
    latchkey: web::Data<Latchkey>,
    req: HttpRequest,
    body: FormOrJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        username,
        email,
        password,
    } = body.0;
    let identifier = username
        .or(email)
        .ok_or_else(|| ApiError::validation([("username", "is required".to_owned())]))?;
    let input = LoginInput::new().identifier(identifier).password(password);
    let outcome = latchkey.login(input, client_info(&req)).await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        tokens: outcome.tokens.into(),
        user: outcome.user.into(),
    }))
}

pub(super) async fn refresh(
    latchkey: web::Data<Latchkey>,
    body: web::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let pair = latchkey.refresh(&body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(crate::dto::TokenPairBody::from(pair)))
}

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
