//! Rows as PostgreSQL stores them, and their conversion to and from the domain's records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use latchkey_domain::model::NewSession;
use latchkey_domain::{
    ClientInfo, NewUser, PasswordHash, PortError, Session, SessionId, StoredUser, User,
    UserCredentials, UserId,
};
use serde_json::Value;

use super::schema::{refresh_tokens, sessions, users};
use crate::error::corrupt;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(super) struct UserRow {
    id: String,
    email: String,
    email_key: String,
    username: Option<String>,
    username_key: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    metadata: Value,
    credits: i64,
    is_verified: bool,
    password_hash: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
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
            metadata: Value::Object(Default::default()),
            credits: user.credits,
            is_verified: false,
            password_hash: user.password_hash.as_str().to_owned(),
            created_at: user.created_at,
            updated_at: user.created_at,
        }
    }

    pub(super) fn into_credentials(self) -> Result<UserCredentials, PortError> {
        const CONTEXT: &str = "read user";
        let Value::Object(metadata) = self.metadata else {
            return Err(corrupt(CONTEXT, "stored metadata is not a JSON object"));
        };
        let user = User::from_stored(StoredUser {
            id: UserId::parse(&self.id).ok_or_else(|| corrupt(CONTEXT, "malformed user id"))?,
            email: self.email,
            username: self.username,
            name: self.name,
            phone: self.phone,
            metadata,
            credits: self.credits,
            is_verified: self.is_verified,
            created_at: self.created_at,
            updated_at: self.updated_at,
        });
        Ok(UserCredentials {
            user,
            password_hash: PasswordHash::new(self.password_hash),
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub(super) struct SessionRow {
    id: String,
    user_id: String,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    user_agent: Option<String>,
    ip: Option<String>,
}

impl SessionRow {
    pub(super) fn new(session: &NewSession) -> Self {
        Self {
            id: session.id.as_str().to_owned(),
            user_id: session.user_id.as_str().to_owned(),
            created_at: session.created_at,
            last_used_at: session.created_at,
            expires_at: session.refresh_token.expires_at,
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
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            client: ClientInfo::new(self.user_agent.as_deref(), self.ip),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub(super) struct NewTokenRow<'a> {
    pub(super) token_hash: &'a [u8],
    pub(super) session_id: &'a str,
    pub(super) issued_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
}

/// A presented token as `rotate` locks it; its session is read separately (see `rotate`).
#[derive(Debug, Queryable)]
pub(super) struct LockedToken {
    pub(super) session_id: String,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) used_at: Option<DateTime<Utc>>,
    pub(super) successor_hash: Option<Vec<u8>>,
}
