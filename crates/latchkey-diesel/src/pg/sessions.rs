//! [`SessionRepository`] on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use latchkey_domain::model::NewSession;
use latchkey_domain::ports::{RotationOutcome, RotationRequest, SessionRepository};
use latchkey_domain::{PortError, Session, SessionId, UserId};

use super::rows::{session_ids, NewTokenRow, PresentedToken, SessionRow};
use super::schema::{refresh_tokens, sessions};
use super::PgStore;

/// What a rotation decided, before the ids are parsed (which cannot happen inside the transaction's error type).
enum Decision {
    Rotated {
        session_id: String,
        user_id: String,
    },
    Retried {
        session_id: String,
        user_id: String,
        rotated_at: DateTime<Utc>,
    },
    ReuseDetected,
    Rejected,
}

#[async_trait]
impl SessionRepository for PgStore {
    async fn create(&self, session: &NewSession) -> Result<Session, PortError> {
        const CONTEXT: &str = "create session";
        let mut connection = self.connection(CONTEXT).await?;
        let token = &session.refresh_token;
        let row = connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                let row = diesel::insert_into(sessions::table)
                    .values(SessionRow::new(session))
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
            .map_err(|e| PortError::new(CONTEXT, e))?;
        row.into_session()
    }

    async fn rotate(&self, request: &RotationRequest) -> Result<RotationOutcome, PortError> {
        const CONTEXT: &str = "rotate refresh token";
        let mut connection = self.connection(CONTEXT).await?;
        let presented = request.presented.as_bytes().as_slice();
        let successor = request.successor.as_bytes().as_slice();
        let now = request.now;
        let decision = connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                // Spend the token only if it is still live. A concurrent rotation of the same token blocks on this
                // row's lock and, once the first commits, re-evaluates `used_at IS NULL` on the new row version and
                // updates nothing: exactly one rotation wins, on any number of instances.
                let live_sessions = sessions::table
                    .filter(sessions::revoked_at.is_null())
                    .select(sessions::id);
                let spent = diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(presented))
                        .filter(refresh_tokens::used_at.is_null())
                        .filter(refresh_tokens::expires_at.gt(now))
                        .filter(refresh_tokens::session_id.eq_any(live_sessions)),
                )
                .set((
                    refresh_tokens::used_at.eq(now),
                    refresh_tokens::successor_hash.eq(successor),
                ))
                .returning(refresh_tokens::session_id)
                .get_result::<String>(connection)
                .await
                .optional()?;

                if let Some(session_id) = spent {
                    let expires_at = now + request.successor_ttl;
                    diesel::insert_into(refresh_tokens::table)
                        .values(NewTokenRow {
                            token_hash: successor,
                            session_id: &session_id,
                            issued_at: now,
                            expires_at,
                        })
                        .execute(connection)
                        .await?;
                    let user_id = diesel::update(sessions::table.find(&session_id))
                        .set((
                            sessions::last_used_at.eq(now),
                            sessions::expires_at.eq(expires_at),
                        ))
                        .returning(sessions::user_id)
                        .get_result::<String>(connection)
                        .await?;
                    return Ok(Decision::Rotated {
                        session_id,
                        user_id,
                    });
                }

                // Not spendable: read why. At READ COMMITTED this statement sees the rotation that beat us.
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
                    .await
                    .optional()?;
                let Some(token) = token else {
                    return Ok(Decision::Rejected);
                };
                if token.session_revoked_at.is_some() || token.expires_at <= now {
                    return Ok(Decision::Rejected);
                }
                let Some(used_at) = token.used_at else {
                    // Live yet not updated: only a concurrent change to its session explains it; refuse.
                    return Ok(Decision::Rejected);
                };
                if token.successor_hash.as_deref() == Some(successor)
                    && now - used_at <= request.grace
                {
                    let successor_unused = refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(successor))
                        .filter(refresh_tokens::used_at.is_null())
                        .count()
                        .get_result::<i64>(connection)
                        .await?
                        > 0;
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
                .execute(connection)
                .await?;
                Ok(Decision::ReuseDetected)
            })
            .await
            .map_err(|e| PortError::new(CONTEXT, e))?;

        Ok(match decision {
            Decision::Rotated {
                session_id,
                user_id,
            } => {
                let (session_id, user_id) = session_ids(&session_id, &user_id)?;
                RotationOutcome::Rotated {
                    session_id,
                    user_id,
                    rotated_at: now,
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
                    rotated_at,
                }
            }
            Decision::ReuseDetected => RotationOutcome::ReuseDetected,
            Decision::Rejected => RotationOutcome::Rejected,
        })
    }

    async fn is_active(&self, id: &SessionId, user_id: &UserId) -> Result<bool, PortError> {
        const CONTEXT: &str = "check session";
        let mut connection = self.connection(CONTEXT).await?;
        diesel::select(diesel::dsl::exists(
            sessions::table
                .find(id.as_str())
                .filter(sessions::user_id.eq(user_id.as_str()))
                .filter(sessions::revoked_at.is_null()),
        ))
        .get_result(&mut connection)
        .await
        .map_err(|e| PortError::new(CONTEXT, e))
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, PortError> {
        const CONTEXT: &str = "list sessions";
        let mut connection = self.connection(CONTEXT).await?;
        let rows = sessions::table
            .filter(sessions::user_id.eq(user_id.as_str()))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .order((sessions::created_at.desc(), sessions::id.desc()))
            .select(SessionRow::as_select())
            .load(&mut connection)
            .await
            .map_err(|e| PortError::new(CONTEXT, e))?;
        rows.into_iter().map(SessionRow::into_session).collect()
    }

    async fn revoke(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        const CONTEXT: &str = "revoke session";
        let mut connection = self.connection(CONTEXT).await?;
        let revoked = diesel::update(
            sessions::table
                .find(id.as_str())
                .filter(sessions::user_id.eq(user_id.as_str()))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(&mut connection)
        .await
        .map_err(|e| PortError::new(CONTEXT, e))?;
        Ok(revoked > 0)
    }

    async fn revoke_all(&self, user_id: &UserId, now: DateTime<Utc>) -> Result<u64, PortError> {
        const CONTEXT: &str = "revoke all sessions";
        let mut connection = self.connection(CONTEXT).await?;
        let revoked = diesel::update(
            sessions::table
                .filter(sessions::user_id.eq(user_id.as_str()))
                .filter(sessions::revoked_at.is_null()),
        )
        .set(sessions::revoked_at.eq(now))
        .execute(&mut connection)
        .await
        .map_err(|e| PortError::new(CONTEXT, e))?;
        Ok(revoked as u64)
    }
}
