//! [`SessionRepository`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use latchkey_domain::model::NewSession;
use latchkey_domain::ports::{RotationOutcome, RotationRequest, SessionRepository};
use latchkey_domain::{PortError, Session, SessionId, UserId};

use super::rows::{micros, NewTokenRow, PresentedToken, SessionRow};
use super::schema::{refresh_tokens, sessions};
use super::SqliteStore;
use crate::rotation::{self, Decision};

#[async_trait]
impl SessionRepository for SqliteStore {
    async fn create(&self, session: &NewSession) -> Result<Session, PortError> {
        let row = SessionRow::new(session);
        let token = NewTokenRow {
            token_hash: session.refresh_token.hash.as_bytes().to_vec(),
            session_id: session.id.as_str().to_owned(),
            issued_at: micros(session.refresh_token.issued_at),
            expires_at: micros(session.refresh_token.expires_at),
        };
        let row = self
            .run("create session", move |connection| {
                connection.immediate_transaction(|connection| {
                    diesel::insert_into(sessions::table)
                        .values(&row)
                        .execute(connection)?;
                    diesel::insert_into(refresh_tokens::table)
                        .values(&token)
                        .execute(connection)?;
                    Ok(row)
                })
            })
            .await?;
        row.into_session()
    }

    async fn rotate(&self, request: &RotationRequest) -> Result<RotationOutcome, PortError> {
        let owned = request.clone();
        // BEGIN IMMEDIATE holds the database's write lock from the first read, so deciding on what was read is safe:
        // a concurrent rotation of the same token waits, then sees it spent.
        let decision = self
            .run("rotate refresh token", move |connection| {
                let request = owned;
                let presented = request.presented.as_bytes().as_slice();
                let successor = request.successor.as_bytes().as_slice();
                let now = micros(request.now);
                connection.immediate_transaction(|connection| {
                    let token = refresh_tokens::table
                        .inner_join(sessions::table)
                        .filter(refresh_tokens::token_hash.eq(presented))
                        .select((
                            refresh_tokens::session_id,
                            refresh_tokens::expires_at,
                            refresh_tokens::used_at,
                            refresh_tokens::successor_hash,
                            sessions::user_id,
                            sessions::revoked_at,
                        ))
                        .first::<PresentedToken>(connection)
                        .optional()?;
                    let state = match token {
                        None => None,
                        Some(token) => {
                            let requested_successor_unused = token.used_at.is_some()
                                && diesel::select(diesel::dsl::exists(
                                    refresh_tokens::table
                                        .find(successor)
                                        .filter(refresh_tokens::used_at.is_null()),
                                ))
                                .get_result::<bool>(connection)?;
                            Some(token.into_state(requested_successor_unused)?)
                        }
                    };

                    let decision = rotation::decide(state, &request);
                    match &decision {
                        Decision::Rotate { session_id, .. } => {
                            let expires_at = micros(request.now + request.successor_ttl);
                            diesel::update(refresh_tokens::table.find(presented))
                                .set((
                                    refresh_tokens::used_at.eq(now),
                                    refresh_tokens::successor_hash.eq(successor),
                                ))
                                .execute(connection)?;
                            diesel::insert_into(refresh_tokens::table)
                                .values(NewTokenRow {
                                    token_hash: successor.to_vec(),
                                    session_id: session_id.clone(),
                                    issued_at: now,
                                    expires_at,
                                })
                                .execute(connection)?;
                            diesel::update(sessions::table.find(session_id))
                                .set((
                                    sessions::last_used_at.eq(now),
                                    sessions::expires_at.eq(expires_at),
                                ))
                                .execute(connection)?;
                        }
                        Decision::RevokeSession { session_id } => {
                            diesel::update(
                                sessions::table
                                    .find(session_id)
                                    .filter(sessions::revoked_at.is_null()),
                            )
                            .set(sessions::revoked_at.eq(now))
                            .execute(connection)?;
                        }
                        Decision::Retry { .. } | Decision::Reject => {}
                    }
                    Ok(decision)
                })
            })
            .await?;
        decision.into_outcome(request)
    }

    async fn is_active(&self, id: &SessionId, user_id: &UserId) -> Result<bool, PortError> {
        let (id, user_id) = (id.as_str().to_owned(), user_id.as_str().to_owned());
        self.run("check session", move |connection| {
            diesel::select(diesel::dsl::exists(
                sessions::table
                    .find(&id)
                    .filter(sessions::user_id.eq(&user_id))
                    .filter(sessions::revoked_at.is_null()),
            ))
            .get_result(connection)
        })
        .await
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, PortError> {
        let user_id = user_id.as_str().to_owned();
        let now = micros(now);
        let rows = self
            .run("list sessions", move |connection| {
                sessions::table
                    .filter(sessions::user_id.eq(&user_id))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .order((sessions::created_at.desc(), sessions::id.desc()))
                    .select(SessionRow::as_select())
                    .load(connection)
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
        let now = micros(now);
        let revoked = self
            .run("revoke session", move |connection| {
                diesel::update(
                    sessions::table
                        .find(&id)
                        .filter(sessions::user_id.eq(&user_id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(now))
                .execute(connection)
            })
            .await?;
        Ok(revoked > 0)
    }

    async fn revoke_all(&self, user_id: &UserId, now: DateTime<Utc>) -> Result<u64, PortError> {
        let user_id = user_id.as_str().to_owned();
        let now = micros(now);
        let revoked = self
            .run("revoke all sessions", move |connection| {
                diesel::update(
                    sessions::table
                        .filter(sessions::user_id.eq(&user_id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(now))
                .execute(connection)
            })
            .await?;
        Ok(revoked as u64)
    }
}
