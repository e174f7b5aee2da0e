//! Rows as SQLite stores them, and their conversion to and from the domain's records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use latchkey_domain::model::NewSession;
use latchkey_domain::{
    ClientInfo, NewUser, PasswordHash, PortError, Session, SessionId, StoredUser, User,
    UserCredentials, UserId,
};
use serde_json::{Map, Value};

use super::schema::{refresh_tokens, sessions, users};
use crate::error::corrupt;
use crate::rotation::PresentedState;

/// Microseconds since the Unix epoch: exact for chrono's `DateTime<Utc>` down to what the domain keeps, and ordered
/// like the instants.
pub(super) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Reads back an instant stored by [`micros`].
pub(super) fn instant(context: &'static str, micros: i64) -> Result<DateTime<Utc>, PortError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| corrupt(context, "timestamp out of range"))
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct UserRow {
    id: String,
    email: String,
    email_key: String,
    username: Option<String>,
    username_key: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    metadata: String,
    credits: i64,
    is_verified: bool,
    password_hash: String,
    created_at: i64,
    updated_at: i64,
}

impl UserRow {
    pub(super) fn new(user: &NewUser) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            email_key: user.email.key().to_owned(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            username_key: user.username.as_ref().map(|u| u.key().to_owned()),
            name: user.name.as_ref().map(|n| n.as_str().to_owned()),
            phone: None,
            metadata: "{}".to_owned(),
            credits: user.credits,
            is_verified: false,
            password_hash: user.password_hash.as_str().to_owned(),
            created_at: micros(user.created_at),
            updated_at: micros(user.created_at),
        }
    }

    pub(super) fn email_key(&self) -> &str {
        &self.email_key
    }

    pub(super) fn into_credentials(self) -> Result<UserCredentials, PortError> {
        const CONTEXT: &str = "read user";
        let metadata: Map<String, Value> = serde_json::from_str(&self.metadata)
            .map_err(|_| corrupt(CONTEXT, "stored metadata is not a JSON object"))?;
        let user = User::from_stored(StoredUser {
            id: UserId::parse(&self.id).ok_or_else(|| corrupt(CONTEXT, "malformed user id"))?,
            email: self.email,
            username: self.username,
            name: self.name,
            phone: self.phone,
            metadata,
            credits: self.credits,
            is_verified: self.is_verified,
            created_at: instant(CONTEXT, self.created_at)?,
            updated_at: instant(CONTEXT, self.updated_at)?,
        });
        Ok(UserCredentials {
            user,
            password_hash: PasswordHash::new(self.password_hash),
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct SessionRow {
    id: String,
    user_id: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl SessionRow {
    pub(super) fn new(session: &NewSession) -> Self {
        Self {
            id: session.id.as_str().to_owned(),
            user_id: session.user_id.as_str().to_owned(),
            created_at: micros(session.created_at),
            last_used_at: micros(session.created_at),
            expires_at: micros(session.refresh_token.expires_at),
            revoked_at: None,
            user_agent: session.client.user_agent.clone(),
            ip: session.client.ip.clone(),
        }
    }

    pub(super) fn into_session(self) -> Result<Session, PortError> {
        const CONTEXT: &str = "read session";
        Ok(Session {
            id: SessionId::parse(&self.id)
                .ok_or_else(|| corrupt(CONTEXT, "malformed session id"))?,
            user_id: UserId::parse(&self.user_id)
                .ok_or_else(|| corrupt(CONTEXT, "malformed user id"))?,
            created_at: instant(CONTEXT, self.created_at)?,
            last_used_at: instant(CONTEXT, self.last_used_at)?,
            expires_at: instant(CONTEXT, self.expires_at)?,
            revoked_at: self.revoked_at.map(|at| instant(CONTEXT, at)).transpose()?,
            client: ClientInfo::new(self.user_agent.as_deref(), self.ip),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::sqlite::Sqlite))]
pub(super) struct NewTokenRow {
    pub(super) token_hash: Vec<u8>,
    pub(super) session_id: String,
    pub(super) issued_at: i64,
    pub(super) expires_at: i64,
}

/// A presented token with what `rotate` needs of its session.
#[derive(Debug, Queryable)]
pub(super) struct PresentedToken {
    pub(super) session_id: String,
    pub(super) expires_at: i64,
    pub(super) used_at: Option<i64>,
    pub(super) successor_hash: Option<Vec<u8>>,
    pub(super) user_id: String,
    pub(super) session_revoked_at: Option<i64>,
}

impl PresentedToken {
    /// The state the rotation rules decide on; see [`PresentedState::requested_successor_unused`].
    ///
    /// # Errors
    /// A deserialisation error when a stored instant is out of range.
    pub(super) fn into_state(
        self,
        requested_successor_unused: bool,
    ) -> QueryResult<PresentedState> {
        let instant = |micros| {
            DateTime::from_timestamp_micros(micros).ok_or_else(|| {
                diesel::result::Error::DeserializationError("timestamp out of range".into())
            })
        };
        Ok(PresentedState {
            session_id: self.session_id,
            user_id: self.user_id,
            session_revoked: self.session_revoked_at.is_some(),
            expires_at: instant(self.expires_at)?,
            used_at: self.used_at.map(instant).transpose()?,
            successor_hash: self.successor_hash,
            requested_successor_unused,
        })
    }
}
