//! [`SessionRepository`], written once for both backends (see the crate documentation).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use latchkey_domain::model::NewSession;
use latchkey_domain::ports::{
    CreateSessionError, CreatedLogin, NewLogin, RotationOutcome, RotationRequest, SessionRepository,
};
use latchkey_domain::rotation::{self, Decision};
use latchkey_domain::{PortError, Session, SessionId, TokenHash, UserId};

use super::{write_transaction, Store};
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::{EventRow, NewTokenRow, SessionRow, TokenRow};
use crate::schema::{refresh_tokens, sessions, users};
use crate::sql_types::Timestamp;

type Connection = <Store as Pooled>::Connection;

/// Whether `session_id` is an active session of `user_id` at `now`, inside the caller's write transaction: what a
/// change a session asked for checks before writing, after locking the account's row. A reset, a disable, a
/// password or email change lock that row first too, so one that committed while the request was checking the
/// password is seen here, and one that comes later waits for this transaction. The session's own row is read, not
/// locked: a lock on it would order against refresh-token rotation (token, then session) and an account deletion's
/// cascade the other way round, and a bare logout racing the change may come first or second alike.
pub(super) async fn is_active_in(
    connection: &mut Connection,
    session_id: &str,
    user_id: &str,
    now: Timestamp,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .find(session_id)
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    ))
    .get_result(connection)
    .await
}

/// Locks `user_id`'s account row inside the caller's write transaction, the first lock of every writer of an
/// account's rows (see "Lock order" in `docs/architecture.md`); `false` when there is no such account.
pub(super) async fn lock_account(connection: &mut Connection, user_id: &str) -> QueryResult<bool> {
    Ok(locked!(users::table.find(user_id).select(users::id))
        .get_result::<String>(connection)
        .await
        .optional()?
        .is_some())
}

/// Locks `user_id`'s account row, then tells whether `session_id` is still one of its active sessions at `now`:
/// what a write a session asked for checks before writing (see [`is_active_in`]). `false` for an account gone,
/// which took its sessions with it.
pub(super) async fn lock_account_for(
    connection: &mut Connection,
    user_id: &str,
    session_id: &str,
    now: Timestamp,
) -> QueryResult<bool> {
    Ok(lock_account(connection, user_id).await?
        && is_active_in(connection, session_id, user_id, now).await?)
}

/// Creates a session with its first refresh token inside the caller's write transaction (see
/// [`SessionRepository::create`]), with the ids of the live sessions its cap revoked; `None`, with nothing written,
/// when its verified password is no longer the account's or the account is gone or disabled.
async fn insert_session(
    connection: &mut Connection,
    session: &NewSession,
) -> QueryResult<Option<(SessionRow, Vec<SessionId>)>> {
    let user_id = session.user_id.as_str();
    if session.verified_password.is_some() || session.max_live_sessions.is_some() {
        // Locked so that a concurrent password change waits for this transaction (and then
        // revokes the session it created) or, if it came first, is seen here; and so that
        // concurrent logins of one user count its live sessions one after the other.
        // A disabled account is checked here too, so a login racing the operator who
        // disables it either comes first (and its session is revoked) or is refused.
        let current = locked!(users::table
            .find(user_id)
            .select((users::password_hash, users::disabled_at.is_not_null())))
        .get_result::<(String, bool)>(connection)
        .await
        .optional()?;
        if let Some(verified) = &session.verified_password {
            let usable = current
                .as_ref()
                .is_some_and(|(hash, disabled)| hash == verified.as_str() && !disabled);
            if !usable {
                return Ok(None);
            }
        }
    }
    let ended = match session.max_live_sessions {
        None => Vec::new(),
        Some(max) => {
            let now = Timestamp(session.created_at);
            // The live sessions beyond the newest `max - 1` (which, with the new one, make `max`), picked and
            // revoked in one statement: a user at the cap sends back only those, not all of its live sessions, and
            // on PostgreSQL the choice is made on the statement's snapshot. A session revoked meanwhile is re-checked
            // by the outer filter once its row lock is released: it keeps the time it was revoked at, and is not
            // reported as ended. The subquery reads the table the update writes, so it names it by an alias.
            let live = diesel::alias!(sessions as live);
            let beyond_the_cap = live
                .filter(live.field(sessions::user_id).eq(user_id))
                .filter(live.field(sessions::revoked_at).is_null())
                .filter(live.field(sessions::expires_at).gt(now))
                .order((
                    live.field(sessions::created_at).desc(),
                    live.field(sessions::id).desc(),
                ))
                .select(live.field(sessions::id))
                .offset(i64::from(max.saturating_sub(1)));
            let revoked: Vec<String> = diesel::update(
                sessions::table
                    .filter(sessions::id.eq_any(beyond_the_cap))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .returning(sessions::id)
            .cached()
            .load(connection)
            .await?;
            revoked
                .iter()
                .map(|id| {
                    SessionId::parse(id).ok_or_else(|| {
                        diesel::result::Error::DeserializationError("malformed session id".into())
                    })
                })
                .collect::<QueryResult<_>>()?
        }
    };
    let token = &session.refresh_token;
    let row = diesel::insert_into(sessions::table)
        .values(SessionRow::new(session))
        .returning(SessionRow::as_returning())
        .cached()
        .get_result(connection)
        .await?;
    diesel::insert_into(refresh_tokens::table)
        .values(NewTokenRow {
            token_hash: token.hash.as_bytes(),
            session_id: session.id.as_str(),
            issued_at: Timestamp(token.issued_at),
            expires_at: Timestamp(token.expires_at),
        })
        .cached()
        .execute(connection)
        .await?;
    Ok(Some((row, ended)))
}

#[async_trait]
impl SessionRepository for Store {
    async fn create(&self, session: &NewSession) -> Result<Session, CreateSessionError> {
        let session = session.clone();
        let row = self
            .run("create session", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move { insert_session(connection, &session).await })
                })
            })
            .await?;
        let (row, _) = row.ok_or(CreateSessionError::StaleCredentials)?;
        Ok(row.into_session()?)
    }

    async fn create_login(&self, login: &NewLogin) -> Result<CreatedLogin, CreateSessionError> {
        let login = login.clone();
        let row = self
            .run("create login session", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let Some((row, ended)) = insert_session(connection, &login.session).await?
                        else {
                            return Ok(None);
                        };
                        // The session's insert proved the account exists (and, with a verified password, locked
                        // it), so neither the event nor the address can miss it: no fallback for a deleted account
                        // is needed here, unlike the ports' own methods.
                        super::events::insert(connection, EventRow::new(&login.event)).await?;
                        let mut revocations = Vec::with_capacity(ended.len());
                        for (index, ended) in ended.iter().enumerate() {
                            let revocation = login.ended_session_event(index, ended);
                            super::events::insert(connection, EventRow::new(&revocation)).await?;
                            revocations.push(revocation);
                        }
                        if let Some(address) = &login.known_address {
                            let seen_at = login.session.created_at;
                            super::limiter::remember(
                                connection,
                                &login.session.user_id,
                                address,
                                seen_at,
                            )
                            .await?;
                        }
                        for (key, rate) in &login.forgiven {
                            super::limiter::give_back(connection, key, *rate).await?;
                        }
                        Ok(Some((row, revocations)))
                    })
                })
            })
            .await?;
        let (row, revocations) = row.ok_or(CreateSessionError::StaleCredentials)?;
        Ok(CreatedLogin {
            session: row.into_session()?,
            revocations,
        })
    }

    async fn rotate(&self, request: &RotationRequest) -> Result<RotationOutcome, PortError> {
        let owned = request.clone();
        // Read, decide, then write, in one write transaction that makes the decision stick: on PostgreSQL the token
        // rows the decision rests on are locked (`locked!` is `FOR UPDATE` there), on SQLite the transaction holds
        // the database's write lock from its start. A concurrent rotation of the same token waits, then reads the
        // spent row. Locks are taken in one order only (the presented token, then its successor, then the session by
        // the writes), so rotations of consecutive tokens of one family cannot deadlock; that is why the session row
        // is read without a lock, and the rotation's write to it re-checks that it is still not revoked.
        let decision = self
            .run("rotate refresh token", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let request = owned;
                        let presented = request.presented.as_bytes().as_slice();
                        let successor = request.successor.as_bytes().as_slice();
                        let now = Timestamp(request.now);
                        let token = locked!(refresh_tokens::table.find(presented).select((
                            refresh_tokens::session_id,
                            refresh_tokens::expires_at,
                            refresh_tokens::used_at,
                            refresh_tokens::successor_hash,
                        )))
                        .get_result::<TokenRow>(connection)
                        .await
                        .optional()?;
                        let state = match token {
                            None => None,
                            Some(token) => {
                                let session = sessions::table
                                    .find(&token.session_id)
                                    .select((
                                        sessions::user_id,
                                        sessions::revoked_at,
                                        sessions::ends_at,
                                    ))
                                    .get_result::<(String, Option<Timestamp>, Timestamp)>(
                                        connection,
                                    )
                                    .await?;
                                // Locked so that a concurrent rotation of the successor cannot spend it between
                                // this read and the answer that hands it out again. Skipped, not waited for, when
                                // another transaction holds it: this one already holds the presented token, and an
                                // account deletion removing the session's tokens may hold the successor while it
                                // waits for the presented one. A successor held elsewhere counts as spent, which is
                                // what it is about to be (a rotation of it) or what no longer matters (a deletion).
                                let requested_successor_unused = token.used_at.is_some()
                                    && locked_or_skipped!(refresh_tokens::table
                                        .find(successor)
                                        .select(refresh_tokens::used_at))
                                    .get_result::<Option<Timestamp>>(connection)
                                    .await
                                    .optional()?
                                    .is_some_and(|used_at| used_at.is_none());
                                Some(token.into_presented(session, requested_successor_unused)?)
                            }
                        };

                        let decision = rotation::decide(state, &request);
                        match &decision {
                            Decision::Rotate {
                                session_id,
                                expires_at,
                                ..
                            } => {
                                let expires_at = Timestamp(*expires_at);
                                // First, because it waits for and re-checks a concurrent revocation of the session.
                                let extended = diesel::update(
                                    sessions::table
                                        .find(session_id.as_str())
                                        .filter(sessions::revoked_at.is_null()),
                                )
                                .set((
                                    sessions::last_used_at.eq(now),
                                    sessions::expires_at.eq(expires_at),
                                ))
                                .cached()
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
                                    .cached()
                                    .execute(connection)
                                    .await?;
                                diesel::insert_into(refresh_tokens::table)
                                    .values(NewTokenRow {
                                        token_hash: successor,
                                        session_id: session_id.as_str(),
                                        issued_at: now,
                                        expires_at,
                                    })
                                    .cached()
                                    .execute(connection)
                                    .await?;
                            }
                            Decision::RevokeSession { session_id, .. } => {
                                diesel::update(
                                    sessions::table
                                        .find(session_id.as_str())
                                        .filter(sessions::revoked_at.is_null()),
                                )
                                .set(sessions::revoked_at.eq(now))
                                .cached()
                                .execute(connection)
                                .await?;
                            }
                            Decision::Retry { .. } | Decision::Reject => {}
                        }
                        Ok(decision)
                    })
                })
            })
            .await?;
        Ok(decision.into_outcome(request))
    }

    async fn is_active(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let (id, user_id) = (id.as_str().to_owned(), user_id.as_str().to_owned());
        let now = Timestamp(now);
        self.read("check session", move |connection| {
            Box::pin(async move { is_active_in(connection, &id, &user_id, now).await })
        })
        .await
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, PortError> {
        let user_id = user_id.as_str().to_owned();
        let now = Timestamp(now);
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
        let now = Timestamp(now);
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
                    .cached()
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(revoked > 0)
    }

    async fn revoke_by_refresh_token(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, PortError> {
        let token = token.as_bytes().to_vec();
        let now = Timestamp(now);
        let revoked = self
            .run("revoke session by refresh token", move |connection| {
                Box::pin(async move {
                    // One statement, so finding the token's session and revoking it cannot be split by a rotation or
                    // another revocation.
                    let owner = refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(&token))
                        .filter(refresh_tokens::expires_at.gt(now))
                        .select(refresh_tokens::session_id);
                    diesel::update(
                        sessions::table
                            .filter(sessions::id.eq_any(owner))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .returning(SessionRow::as_returning())
                    .cached()
                    .get_result(connection)
                    .await
                    .optional()
                })
            })
            .await?;
        Ok(revoked.map(SessionRow::into_session).transpose()?)
    }

    async fn purge_sessions(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, PortError> {
        let now = Timestamp(now);
        let batch = i64::from(batch);
        self.run("purge sessions", move |connection| {
            Box::pin(async move {
                // A batch's keys are read, then deleted by key with the condition checked again: diesel has no
                // DELETE … LIMIT, nor a limited subselect as its target. A session goes with its tokens (ON DELETE
                // CASCADE); then the expired tokens of live sessions.
                let ended = sessions::table.filter(sessions::expires_at.le(now));
                let batch_keys: Vec<String> = ended
                    .select(sessions::id)
                    .limit(batch)
                    .load(connection)
                    .await?;
                let sessions = diesel::delete(ended.filter(sessions::id.eq_any(&batch_keys)))
                    .execute(connection)
                    .await?;
                let expired = refresh_tokens::table.filter(refresh_tokens::expires_at.le(now));
                let batch_keys: Vec<Vec<u8>> = expired
                    .select(refresh_tokens::token_hash)
                    .limit(batch)
                    .load(connection)
                    .await?;
                let tokens =
                    diesel::delete(expired.filter(refresh_tokens::token_hash.eq_any(&batch_keys)))
                        .execute(connection)
                        .await?;
                Ok((sessions + tokens) as u64)
            })
        })
        .await
    }

    async fn revoke_all(&self, user_id: &UserId, now: DateTime<Utc>) -> Result<u64, PortError> {
        let user_id = user_id.as_str().to_owned();
        let now = Timestamp(now);
        let revoked = self
            .run("revoke all sessions", move |connection| {
                Box::pin(async move {
                    diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now))
                    .cached()
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(revoked as u64)
    }
}
