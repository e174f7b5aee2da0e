use actix_web::{web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::dto::{ChangePasswordRequest, CreditsBody, MessageBody, UserBody};
use crate::error::ApiError;
use crate::extract::Authenticated;

pub(super) async fn me(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let user = latchkey.current_user(&principal).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

pub(super) async fn credits(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let credits = latchkey.credits(&principal).await?;
    Ok(HttpResponse::Ok().json(CreditsBody::from(credits)))
}

pub(super) async fn change_password(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    latchkey
        .change_password(&principal, body.current_password, body.new_password)
        .await?;
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Password changed successfully",
    }))
}
