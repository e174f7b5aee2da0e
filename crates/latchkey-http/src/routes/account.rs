use actix_web::{web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::auth::{Authenticated, AuthenticatedUser, CreditsRead, ProfileRead, SessionOnly};
use crate::dto::{ChangePasswordRequest, CreditsBody, MessageBody, UserBody};
use crate::error::ApiError;

pub(super) async fn me(AuthenticatedUser(_, user): AuthenticatedUser<ProfileRead>) -> HttpResponse {
    HttpResponse::Ok().json(UserBody::from(user))
}

pub(super) async fn credits(
    latchkey: web::Data<Latchkey>,
    AuthenticatedUser(_, user): AuthenticatedUser<CreditsRead>,
) -> HttpResponse {
    HttpResponse::Ok().json(CreditsBody::from(latchkey.credits_of(&user)))
}

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
