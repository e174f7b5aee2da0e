//! [`SessionRepository`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use latchkey_domain::model::NewSession;
use latchkey_domain::ports::{RotationOutcome, RotationRequest, SessionRepository};
use latchkey_domain::{PortError, Session, SessionId, UserId};

use super::rows::{LockedToken, NewTokenRow, SessionRow};
use super::schema::{refresh_tokens, sessions};
use super::PgStore;
use crate::rotation::{self, Decision, PresentedState};

#[async_trait]
impl SessionRepository for PgStore {
    async fn create(&self, session: &NewSession) -> Result<Session, PortError> {
        let session = session.clone();
        let row = self
            .run("create session", move |connection| {
                Box::pin(async move {
                    let token = &session.refresh_token;
                    connection
                        .transaction::<_, diesel::result::Error, _>(async |connection| {
                            let row = diesel::insert_into(sessions::table)
                                .values(SessionRow::new(&session))
                                .returning(SessionRow::as_returning())
                                .get_result(connection)
                                .await?;
                            diesel::insert_into(refresh_tokens::table)
                                .values(NewTokenRow {
                                    token_hash: token.hash.as_bytes(),
                                    session_id: session.id.as_str(),
                                    issued_at: token.issued_at,
                                    expires_at: token.expires_at,
                                })
                                .execute(connection)
                                .await?;
                            Ok(row)
                        })
                        .await
                })
            })
            .await?;
        row.into_session()
    }

    async fn rotate(&self, request: &RotationRequest) -> Result<RotationOutcome, PortError> {
        let owned = request.clone();
        // Read, decide, then write, holding row locks on the token rows the decision rests on. A concurrent rotation
        // of the same token blocks on the first lock and, once the winner commits, reads the spent row. Locks are
        // taken in one order only (the presented token, then its successor, then the session by the writes), so
        // rotations of consecutive tokens of one family cannot deadlock; that is why the session row is read
        // without a lock here, and the rotation's write to it re-checks that it is still not revoked.
        let decision = self
            .run("rotate refresh token", move |connection| {
                Box::pin(async move {
                    let request = owned;
                    let presented = request.presented.as_bytes().as_slice();
                    let successor = request.successor.as_bytes().as_slice();
                    let now = request.now;
                    connection
                        .transaction::<_, diesel::result::Error, _>(async |connection| {
                            let token = refresh_tokens::table
                                .find(presented)
                                .select((
                                    refresh_tokens::session_id,
                                    refresh_tokens::expires_at,
                                    refresh_tokens::used_at,
                                    refresh_tokens::successor_hash,
                                ))
                                .for_update()
                                .first::<LockedToken>(connection)
                                .await
                                .optional()?;
                            let state = match token {
                                None => None,
                                Some(token) => {
                                    let (user_id, revoked_at) = sessions::table
                                        .find(&token.session_id)
                                        .select((sessions::user_id, sessions::revoked_at))
                                        .first::<(String, Option<DateTime<Utc>>)>(connection)
                                        .await?;
                                    // Locked so that a concurrent rotation of the successor cannot spend it between this read
                                    // and the answer that hands it out again.
                                    let requested_successor_unused = token.used_at.is_some()
                                        && refresh_tokens::table
                                            .find(successor)
                                            .select(refresh_tokens::used_at)
                                            .for_update()
                                            .first::<Option<DateTime<Utc>>>(connection)
                                            .await
                                            .optional()?
                                            .is_some_and(|used_at| used_at.is_none());
                                    Some(PresentedState {
                                        session_id: token.session_id,
                                        user_id,
                                        session_revoked: revoked_at.is_some(),
                                        expires_at: token.expires_at,
                                        used_at: token.used_at,
                                        successor_hash: token.successor_hash,
                                        requested_successor_unused,
                                    })
                                }
                            };

                            let decision = rotation::decide(state, &request);
                            match &decision {
                                Decision::Rotate { session_id, .. } => {
                                    let expires_at = now + request.successor_ttl;
                                    // First, because it waits for and re-checks a concurrent revocation of the session.
                                    let extended = diesel::update(
                                        sessions::table
                                            .find(session_id)
                                            .filter(sessions::revoked_at.is_null()),
                                    )
                                    .set((
                                        sessions::last_used_at.eq(now),
                                        sessions::expires_at.eq(expires_at),
                                    ))
                                    .execute(connection)
                                    .await?;
                                    if extended == 0 {
                                        // Revoked since it was read: as if it had been revoked when read.
                                        return Ok(Decision::Reject);
                                    }
                                    diesel::update(refresh_tokens::table.find(presented))
                                        .set((
                                            refresh_tokens::used_at.eq(now),
                                            refresh_tokens::successor_hash.eq(successor),
                                        ))
                                        .execute(connection)
                                        .await?;
                                    diesel::insert_into(refresh_tokens::table)
                                        .values(NewTokenRow {
                                            token_hash: successor,
                                            session_id,
                                            issued_at: now,
                                            expires_at,
                                        })
                                        .execute(connection)
                                        .await?;
                                }
                                Decision::RevokeSession { session_id } => {
                                    diesel::update(
                                        sessions::table
                                            .find(session_id)
                                            .filter(sessions::revoked_at.is_null()),
                                    )
                                    .set(sessions::revoked_at.eq(now))
                                    .execute(connection)
                                    .await?;
                                }
                                Decision::Retry { .. } | Decision::Reject => {}
                            }
                            Ok(decision)
                        })
                        .await
                })
            })
            .await?;
        decision.into_outcome(request)
    }

    async fn is_active(&self, id: &SessionId, user_id: &UserId) -> Result<bool, PortError> {
        let (id, user_id) = (id.as_str().to_owned(), user_id.as_str().to_owned());
        self.run("check session", move |connection| {
            Box::pin(async move {
                diesel::select(diesel::dsl::exists(
                    sessions::table
                        .find(&id)
                        .filter(sessions::user_id.eq(&user_id))
                        .filter(sessions::revoked_at.is_null()),
                ))
                .get_result(connection)
                .await
            })
        })
        .await
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, PortError> {
        let user_id = user_id.as_str().to_owned();
        let rows = self
            .run("list sessions", move |connection| {
                Box::pin(async move {
                    sessions::table
                        .filter(sessions::user_id.eq(&user_id))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .order((sessions::created_at.desc(), sessions::id.desc()))
                        .select(SessionRow::as_select())
                        .load(connection)
                        .await
                })
            })
            .await?;
        rows.into_iter().map(SessionRow::into_session).collect()
    }

    async fn revoke(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let (id, user_id) = (id.as_str().to_owned(), user_id.as_str().to_owned());
        let revoked = self
            .run("revoke session", move |connection| {
                Box::pin(async move {
                    diesel::update(
                        sessions::table
                            .find(&id)
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(revoked > 0)
    }

    async fn revoke_all(&self, user_id: &UserId, now: DateTime<Utc>) -> Result<u64, PortError> {
        let user_id = user_id.as_str().to_owned();
        let revoked = self
            .run("revoke all sessions", move |connection| {
                Box::pin(async move {
                    diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(revoked as u64)
    }
}
