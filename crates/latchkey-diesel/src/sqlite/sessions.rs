//! [`SessionRepository`] on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use latchkey_domain::model::NewSession;
use latchkey_domain::ports::{RotationOutcome, RotationRequest, SessionRepository};
use latchkey_domain::{PortError, Session, SessionId, UserId};

use super::rows::{instant, micros, session_ids, NewTokenRow, PresentedToken, SessionRow};
use super::schema::{refresh_tokens, sessions};
use super::SqliteStore;

/// What a rotation decided, before the ids are parsed.
enum Decision {
    Rotated {
        session_id: String,
        user_id: String,
    },
    Retried {
        session_id: String,
        user_id: String,
        rotated_at: i64,
    },
    ReuseDetected,
    Rejected,
}

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
        let presented = request.presented.as_bytes().to_vec();
        let successor = request.successor.as_bytes().to_vec();
        let now = micros(request.now);
        let successor_expires_at = micros(request.now + request.successor_ttl);
        let grace = request.grace.num_microseconds().unwrap_or(i64::MAX);
        // BEGIN IMMEDIATE holds the database's write lock from the first read, so deciding on what was read is safe:
        // a concurrent rotation of the same token waits, then sees it spent.
        let decision = self
            .run("rotate refresh token", move |connection| {
                connection.immediate_transaction(|connection| {
                    let token = refresh_tokens::table
                        .inner_join(sessions::table)
                        .filter(refresh_tokens::token_hash.eq(&presented))
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
                    let Some(token) = token else {
                        return Ok(Decision::Rejected);
                    };
                    if token.session_revoked_at.is_some() || token.expires_at <= now {
                        return Ok(Decision::Rejected);
                    }
                    let Some(used_at) = token.used_at else {
                        diesel::update(refresh_tokens::table.find(&presented))
                            .set((
                                refresh_tokens::used_at.eq(now),
                                refresh_tokens::successor_hash.eq(&successor),
                            ))
                            .execute(connection)?;
                        diesel::insert_into(refresh_tokens::table)
                            .values(NewTokenRow {
                                token_hash: successor,
                                session_id: token.session_id.clone(),
                                issued_at: now,
                                expires_at: successor_expires_at,
                            })
                            .execute(connection)?;
                        diesel::update(sessions::table.find(&token.session_id))
                            .set((
                                sessions::last_used_at.eq(now),
                                sessions::expires_at.eq(successor_expires_at),
                            ))
                            .execute(connection)?;
                        return Ok(Decision::Rotated {
                            session_id: token.session_id,
                            user_id: token.user_id,
                        });
                    };
                    if token.successor_hash.as_deref() == Some(successor.as_slice())
                        && now.saturating_sub(used_at) <= grace
                    {
                        let successor_unused = diesel::select(diesel::dsl::exists(
                            refresh_tokens::table
                                .find(&successor)
                                .filter(refresh_tokens::used_at.is_null()),
                        ))
                        .get_result::<bool>(connection)?;
                        if successor_unused {
                            return Ok(Decision::Retried {
                                session_id: token.session_id,
                                user_id: token.user_id,
                                rotated_at: used_at,
                            });
                        }
                    }
                    diesel::update(
                        sessions::table
                            .find(&token.session_id)
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .execute(connection)?;
                    Ok(Decision::ReuseDetected)
                })
            })
            .await?;

        Ok(match decision {
            Decision::Rotated {
                session_id,
                user_id,
            } => {
                let (session_id, user_id) = session_ids(&session_id, &user_id)?;
                RotationOutcome::Rotated {
                    session_id,
                    user_id,
                    rotated_at: request.now,
                }
            }
            Decision::Retried {
                session_id,
                user_id,
                rotated_at,
            } => {
                let (session_id, user_id) = session_ids(&session_id, &user_id)?;
                RotationOutcome::Retried {
                    session_id,
                    user_id,
                    rotated_at: instant("rotate refresh token", rotated_at)?,
                }
            }
            Decision::ReuseDetected => RotationOutcome::ReuseDetected,
            Decision::Rejected => RotationOutcome::Rejected,
        })
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
