use actix_web::{get, web, HttpResponse};
use latchkey_domain::Latchkey;

use crate::auth::{Authenticated, SessionOnly};
use crate::dto::{EventsBody, EventsQuery};
use crate::error::ApiError;
use crate::openapi::{BadRequest, Forbidden, Unauthorized, Unavailable};

/// List the account's security events.
///
/// Logins (successful and failed), logouts, revoked sessions, refresh-token replays, password changes and resets,
/// verifications, personal tokens and API keys created, rotated or revoked, and refusals by a rate limit: newest
/// first, `limit` at a time (1 to 100, default 20); pass `next_cursor` as `cursor` for the next page. Only a login
/// session may read them.
#[utoipa::path(
    operation_id = "list_events",
    tag = "sessions",
    params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = OK, description = "A page of events", body = EventsBody),
        BadRequest, Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/auth/events")]
pub(super) async fn list(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let EventsQuery { limit, cursor } = query.into_inner();
    let (limit, cursor) =
        super::page_query(limit, cursor, latchkey_domain::service::EVENT_PAGE_MAX)?;
    let page = latchkey
        .own_events(&principal, limit, cursor.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(EventsBody::from(page)))
}
