use actix_web::{delete, get, web, HttpResponse};
use latchkey_domain::{Latchkey, SessionId};

use crate::auth::{Authenticated, SessionOnly};
use crate::dto::SessionBody;
use crate::error::ApiError;
use crate::openapi::{Forbidden, NotFound, Unauthorized, Unavailable};

/// List the account's sessions.
///
/// Every live session of the caller's account, the current one marked `current`.
#[utoipa::path(
    operation_id = "list_sessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = OK, description = "The live sessions", body = Vec<SessionBody>),
        Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/auth/sessions")]
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

/// Revoke a session.
///
/// Ends one of the caller's sessions; its tokens are refused from now on.
#[utoipa::path(
    operation_id = "revoke_session",
    tag = "sessions",
    params(("id" = String, Path, description = "Session id, `ses_…`")),
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Revoked"),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
)]
#[delete("/auth/sessions/{id}")]
pub(super) async fn revoke(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = SessionId::parse(&id).ok_or_else(|| ApiError::not_found("Session not found"))?;
    latchkey.revoke_session(&principal, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}
