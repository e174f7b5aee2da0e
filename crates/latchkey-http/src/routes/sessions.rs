use actix_web::{web, HttpResponse};
use latchkey_domain::{Latchkey, SessionId};

use crate::auth::{Authenticated, SessionOnly};
use crate::dto::SessionBody;
use crate::error::ApiError;

pub(super) async fn list(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
) -> Result<HttpResponse, ApiError> {
    let sessions = latchkey.list_sessions(&principal).await?;
    Ok(HttpResponse::Ok().json(
        sessions
            .into_iter()
            .map(SessionBody::from)
            .collect::<Vec<_>>(),
    ))
}

pub(super) async fn revoke(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = SessionId::parse(&id).ok_or_else(|| ApiError::not_found("Session not found"))?;
    latchkey.revoke_session(&principal, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
