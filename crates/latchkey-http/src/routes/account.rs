use actix_web::{get, post, web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::auth::{Authenticated, AuthenticatedUser, CreditsRead, ProfileRead, SessionOnly};
use crate::dto::{ChangePasswordRequest, CreditsBody, MessageBody, UserBody};
use crate::error::ApiError;
use crate::openapi::{
    BadRequest, Forbidden, PayloadTooLarge, TooManyAttempts, Unauthorized, Unavailable,
    UnavailableOrOverloaded, UnsupportedMediaType,
};

/// The caller's account.
#[utoipa::path(
    operation_id = "get_me",
    tag = "account",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = OK, description = "The account", body = UserBody),
        Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/auth/me")]
pub(super) async fn me(caller: AuthenticatedUser<ProfileRead>) -> HttpResponse {
    HttpResponse::Ok().json(UserBody::from(caller.1))
}

/// The caller's credit balance and the price of each unit.
#[utoipa::path(
    operation_id = "get_credits",
    tag = "account",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = OK, description = "Balance and prices", body = CreditsBody),
        Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/auth/credits")]
pub(super) async fn credits(
    latchkey: web::Data<Latchkey>,
    caller: AuthenticatedUser<CreditsRead>,
) -> HttpResponse {
    HttpResponse::Ok().json(CreditsBody::from(latchkey.credits_of(&caller.1)))
}

/// Change the password.
///
/// Needs the current password; every other session of the account is revoked, this one stays.
#[utoipa::path(
    operation_id = "change_password",
    tag = "account",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = OK, description = "Changed", body = MessageBody),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType,
        TooManyAttempts, UnavailableOrOverloaded,
    ),
)]
#[post("/auth/change-password")]
pub(super) async fn change_password(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    latchkey
        .change_password(&principal, body.into_inner().into())
        .await?;
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Password changed successfully",
    }))
}
