//! Rows as both backends store them, and their conversion to and from the domain's records.

use diesel::prelude::*;
use latchkey_domain::model::{NewCredential, NewSession, StoredCredential};
use latchkey_domain::rotation::PresentedToken;
use latchkey_domain::{ChargeId, LedgerEntry, LedgerEntryId, LedgerKind};
use latchkey_domain::{
    ClientInfo, NewUser, PasswordHash, PortError, ProfileChanges, Session, SessionId, StoredUser,
    TokenHash, User, UserCredentials, UserId,
};
use latchkey_domain::{
    CredentialId, CredentialKind, IssuedCredential, PresentedCredential, Scopes,
};
use latchkey_domain::{EventId, EventKind, EventOutcome, SecurityEvent};

use crate::error::corrupt;
use crate::schema::{
    credentials, credit_ledger, idempotency_keys, refresh_tokens, security_events, sessions, users,
};
use crate::sql_types::{Metadata, Timestamp};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct UserRow {
    id: String,
    email: String,
    email_key: String,
    username: Option<String>,
    username_key: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    metadata: Metadata,
    credits: i64,
    is_verified: bool,
    password_hash: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    disabled_at: Option<Timestamp>,
    disabled_reason: Option<String>,
}

impl UserRow {
    pub(crate) fn new(user: &NewUser) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            email_key: user.email.key().to_owned(),
            username: user.username.as_ref().map(|u| u.as_str().to_owned()),
            username_key: user.username.as_ref().map(|u| u.key().to_owned()),
            name: user.name.as_ref().map(|n| n.as_str().to_owned()),
            phone: None,
            metadata: Metadata(Default::default()),
            credits: user.credits,
            is_verified: false,
            password_hash: user.password_hash.as_str().to_owned(),
            created_at: Timestamp(user.created_at),
            updated_at: Timestamp(user.created_at),
            disabled_at: None,
            disabled_reason: None,
        }
    }

    pub(crate) fn into_credentials(self) -> Result<UserCredentials, PortError> {
        const CONTEXT: &str = "read user";
        let user = User::from_stored(StoredUser {
            id: UserId::parse(&self.id).ok_or_else(|| corrupt(CONTEXT, "malformed user id"))?,
            email: self.email,
            username: self.username,
            name: self.name,
            phone: self.phone,
            metadata: self.metadata.0,
            credits: self.credits,
            is_verified: self.is_verified,
            created_at: self.created_at.into(),
            updated_at: self.updated_at.into(),
            disabled_at: self.disabled_at.map(Into::into),
            disabled_reason: self.disabled_reason,
        });
        Ok(UserCredentials {
            user,
            password_hash: PasswordHash::new(self.password_hash),
        })
    }
}

/// A profile change as an `UPDATE`'s `SET`: a field left `None` is not set, `Some(None)` sets it to NULL.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = users)]
pub(crate) struct ProfileChangeset {
    name: Option<Option<String>>,
    username: Option<Option<String>>,
    username_key: Option<Option<String>>,
    phone: Option<Option<String>>,
    metadata: Option<Metadata>,
    updated_at: Timestamp,
}

impl ProfileChangeset {
    pub(crate) fn new(changes: &ProfileChanges, now: chrono::DateTime<chrono::Utc>) -> Self {
        let owned = |value: &str| value.to_owned();
        Self {
            name: changes
                .name
                .as_ref()
                .map(|name| name.as_ref().map(|n| owned(n.as_str()))),
            username: changes
                .username
                .as_ref()
                .map(|name| name.as_ref().map(|n| owned(n.as_str()))),
            username_key: changes
                .username
                .as_ref()
                .map(|name| name.as_ref().map(|n| owned(n.key()))),
            phone: changes
                .phone
                .as_ref()
                .map(|phone| phone.as_ref().map(|p| owned(p.as_str()))),
            metadata: changes
                .metadata
                .as_ref()
                .map(|metadata| Metadata(metadata.as_map().clone())),
            updated_at: Timestamp(now),
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct SessionRow {
    id: String,
    user_id: String,
    created_at: Timestamp,
    last_used_at: Timestamp,
    expires_at: Timestamp,
    revoked_at: Option<Timestamp>,
    user_agent: Option<String>,
    ip: Option<String>,
    ends_at: Timestamp,
}

impl SessionRow {
    pub(crate) fn new(session: &NewSession) -> Self {
        Self {
            id: session.id.as_str().to_owned(),
            user_id: session.user_id.as_str().to_owned(),
            created_at: Timestamp(session.created_at),
            last_used_at: Timestamp(session.created_at),
            expires_at: Timestamp(session.refresh_token.expires_at),
            revoked_at: None,
            user_agent: session.client.user_agent.clone(),
            ip: session.client.ip.clone(),
            ends_at: Timestamp(session.ends_at),
        }
    }

    pub(crate) fn into_session(self) -> Result<Session, PortError> {
        const CONTEXT: &str = "read session";
        Ok(Session {
            id: SessionId::parse(&self.id)
                .ok_or_else(|| corrupt(CONTEXT, "malformed session id"))?,
            user_id: UserId::parse(&self.user_id)
                .ok_or_else(|| corrupt(CONTEXT, "malformed user id"))?,
            created_at: self.created_at.into(),
            last_used_at: self.last_used_at.into(),
            expires_at: self.expires_at.into(),
            revoked_at: self.revoked_at.map(Into::into),
            ends_at: self.ends_at.into(),
            client: ClientInfo::new(self.user_agent.as_deref(), self.ip),
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct NewTokenRow<'a> {
    pub(crate) token_hash: &'a [u8],
    pub(crate) session_id: &'a str,
    pub(crate) issued_at: Timestamp,
    pub(crate) expires_at: Timestamp,
}

/// A presented refresh token as `rotate` reads (and, on PostgreSQL, locks) it; its session is read separately.
#[derive(Debug, Queryable)]
pub(crate) struct TokenRow {
    pub(crate) session_id: String,
    pub(crate) expires_at: Timestamp,
    pub(crate) used_at: Option<Timestamp>,
    pub(crate) successor_hash: Option<Vec<u8>>,
}

impl TokenRow {
    /// The state the rotation rules decide on, with its session's `user_id`, `revoked_at` and `ends_at`; see
    /// [`PresentedToken::requested_successor_unused`].
    pub(crate) fn into_presented(
        self,
        (user_id, revoked_at, ends_at): (String, Option<Timestamp>, Timestamp),
        requested_successor_unused: bool,
    ) -> QueryResult<PresentedToken> {
        // Inside the rotation's transaction, so reported as a diesel error: the transaction rolls back.
        let malformed = |what: &str| diesel::result::Error::DeserializationError(what.into());
        Ok(PresentedToken {
            session_id: SessionId::parse(&self.session_id)
                .ok_or_else(|| malformed("malformed session id"))?,
            user_id: UserId::parse(&user_id).ok_or_else(|| malformed("malformed user id"))?,
            session_revoked: revoked_at.is_some(),
            session_ends_at: ends_at.into(),
            expires_at: self.expires_at.into(),
            used_at: self.used_at.map(Into::into),
            successor: self
                .successor_hash
                .as_deref()
                .and_then(TokenHash::from_slice),
            requested_successor_unused,
        })
    }
}

/// A verification challenge as stored: hashes only.
#[derive(Debug, Insertable)]
#[diesel(table_name = crate::schema::verification_challenges)]
pub(crate) struct NewVerificationRow<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) link_hash: &'a [u8],
    pub(crate) code_hash: &'a [u8],
    pub(crate) link_expires_at: Timestamp,
    pub(crate) code_expires_at: Timestamp,
    pub(crate) attempts: i32,
    pub(crate) created_at: Timestamp,
}

/// A password reset token as stored: its hash only.
#[derive(Debug, Insertable)]
#[diesel(table_name = crate::schema::password_resets)]
pub(crate) struct NewResetRow<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) token_hash: &'a [u8],
    pub(crate) expires_at: Timestamp,
    pub(crate) created_at: Timestamp,
}

/// Outbox status values, as the migrations' CHECK constraints name them.
pub(crate) mod outbox_status {
    pub(crate) const PENDING: &str = "pending";
    pub(crate) const SENDING: &str = "sending";
    pub(crate) const SENT: &str = "sent";
    pub(crate) const FAILED: &str = "failed";
}

/// A newly queued email.
#[derive(Insertable)]
#[diesel(table_name = crate::schema::outbox)]
pub(crate) struct NewOutboxRow<'a> {
    id: &'a str,
    recipient: &'a str,
    kind: &'static str,
    payload: Option<Metadata>,
    status: &'static str,
    attempts: i32,
    due_at: Timestamp,
    created_at: Timestamp,
}

impl<'a> NewOutboxRow<'a> {
    /// `email`, addressed to `recipient`, due at once.
    pub(crate) fn new(email: &'a latchkey_domain::NewEmail, recipient: &'a str) -> Self {
        Self {
            id: email.id.as_str(),
            recipient,
            kind: email.content.kind(),
            payload: Some(Metadata(email.content.to_payload())),
            status: outbox_status::PENDING,
            attempts: 0,
            due_at: Timestamp(email.created_at),
            created_at: Timestamp(email.created_at),
        }
    }
}

/// An unfinished email as a worker claims it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = crate::schema::outbox)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct OutboxRow {
    pub(crate) id: String,
    pub(crate) recipient: String,
    pub(crate) payload: Option<Metadata>,
    pub(crate) attempts: i32,
    pub(crate) created_at: Timestamp,
}

impl OutboxRow {
    /// The claimed email, as the try after the stored count; `None` when the row cannot be read back (written by
    /// something else), which the claim then gives up on rather than retrying forever.
    pub(crate) fn into_claimed(self) -> Option<latchkey_domain::ClaimedEmail> {
        let content = latchkey_domain::EmailContent::from_payload(&self.payload?.0)?;
        Some(latchkey_domain::ClaimedEmail::new(
            latchkey_domain::EmailId::parse(&self.id)?,
            self.recipient,
            content,
            u32::try_from(self.attempts).ok()? + 1,
            self.created_at.into(),
        ))
    }
}

/// A credential as it is read back: everything but its secret's hash (only ever compared, by the lookup) and its
/// revocation (a revoked credential is never read). Each column left out is one less value built into the SQL,
/// copied and freed on every request authenticated by a key or token.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credentials)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct CredentialRow {
    id: String,
    user_id: String,
    kind: String,
    name: String,
    scopes: String,
    hint: String,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
}

/// A credential as a request presenting its secret reads it, with its owner's row (which gives its `user_id`):
/// only what authenticating needs, since this is read on every such request.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credentials)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct PresentedCredentialRow {
    id: String,
    kind: String,
    scopes: String,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
}

impl PresentedCredentialRow {
    pub(crate) fn into_credential(self, user_id: UserId) -> Result<PresentedCredential, PortError> {
        Ok(PresentedCredential {
            id: credential_id(&self.kind, &self.id)?,
            user_id,
            scopes: credential_scopes(&self.scopes)?,
            created_at: self.created_at.into(),
            expires_at: self.expires_at.map(Into::into),
            last_used_at: self.last_used_at.map(Into::into),
        })
    }
}

/// A new credential as it is written, with its secret's hash.
#[derive(Debug, Insertable)]
#[diesel(table_name = credentials)]
pub(crate) struct NewCredentialRow {
    id: String,
    user_id: String,
    kind: String,
    name: String,
    scopes: String,
    hint: String,
    secret_hash: Vec<u8>,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    last_used_at: Option<Timestamp>,
}

impl NewCredentialRow {
    pub(crate) fn new(new: &NewCredential) -> Self {
        let credential = &new.credential;
        Self {
            id: credential.id.as_str().to_owned(),
            user_id: credential.user_id.as_str().to_owned(),
            kind: credential.id.kind().as_str().to_owned(),
            name: credential.name.as_str().to_owned(),
            scopes: credential.scopes.to_string(),
            hint: credential.hint.clone(),
            secret_hash: new.secret_hash.as_bytes().to_vec(),
            created_at: Timestamp(credential.created_at),
            expires_at: credential.expires_at.map(Timestamp),
            last_used_at: credential.last_used_at.map(Timestamp),
        }
    }
}

/// What a corrupt credential row is reported as.
const CREDENTIAL_CONTEXT: &str = "read credential";

/// A stored credential's id, from its kind and id columns.
fn credential_id(kind: &str, id: &str) -> Result<CredentialId, PortError> {
    let kind = CredentialKind::parse(kind)
        .ok_or_else(|| corrupt(CREDENTIAL_CONTEXT, "unknown credential kind"))?;
    CredentialId::parse(kind, id)
        .ok_or_else(|| corrupt(CREDENTIAL_CONTEXT, "malformed credential id"))
}

/// A stored credential's scopes column.
fn credential_scopes(scopes: &str) -> Result<Scopes, PortError> {
    Scopes::parse(scopes).map_err(|_| corrupt(CREDENTIAL_CONTEXT, "unknown scope"))
}

impl CredentialRow {
    pub(crate) fn into_credential(self) -> Result<IssuedCredential, PortError> {
        Ok(IssuedCredential::from_stored(StoredCredential {
            id: credential_id(&self.kind, &self.id)?,
            user_id: UserId::parse(&self.user_id)
                .ok_or_else(|| corrupt(CREDENTIAL_CONTEXT, "malformed user id"))?,
            name: self.name,
            scopes: credential_scopes(&self.scopes)?,
            hint: self.hint,
            created_at: self.created_at.into(),
            expires_at: self.expires_at.map(Into::into),
            last_used_at: self.last_used_at.map(Into::into),
        }))
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = security_events)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct EventRow {
    id: String,
    pub(crate) user_id: Option<String>,
    kind: String,
    outcome: String,
    subject: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    at: Timestamp,
}

impl EventRow {
    pub(crate) fn new(event: &SecurityEvent) -> Self {
        Self {
            id: event.id.as_str().to_owned(),
            user_id: event.user_id.as_ref().map(|id| id.as_str().to_owned()),
            kind: event.kind.as_str().to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            subject: event.subject.clone(),
            ip: event.client.ip.clone(),
            user_agent: event.client.user_agent.clone(),
            at: Timestamp(event.at),
        }
    }

    pub(crate) fn into_event(self) -> Result<SecurityEvent, PortError> {
        const CONTEXT: &str = "read security event";
        Ok(SecurityEvent {
            id: EventId::parse(&self.id).ok_or_else(|| corrupt(CONTEXT, "malformed event id"))?,
            user_id: self
                .user_id
                .map(|id| UserId::parse(&id).ok_or_else(|| corrupt(CONTEXT, "malformed user id")))
                .transpose()?,
            kind: EventKind::parse(&self.kind)
                .ok_or_else(|| corrupt(CONTEXT, "unknown event kind"))?,
            outcome: EventOutcome::parse(&self.outcome)
                .ok_or_else(|| corrupt(CONTEXT, "unknown event outcome"))?,
            subject: self.subject,
            client: ClientInfo::new(self.user_agent.as_deref(), self.ip),
            at: self.at.into(),
        })
    }
}

/// A ledger entry as both backends store it; `sequence` is assigned by the database.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = credit_ledger)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct LedgerRow {
    sequence: i64,
    id: String,
    user_id: Option<String>,
    kind: String,
    amount: i64,
    balance_after: i64,
    charge_id: Option<String>,
    unit: Option<String>,
    quantity: Option<i64>,
    reason: Option<String>,
    created_at: Timestamp,
}

/// A ledger entry to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = credit_ledger)]
pub(crate) struct NewLedgerRow {
    pub(crate) id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) kind: &'static str,
    pub(crate) amount: i64,
    pub(crate) balance_after: i64,
    pub(crate) charge_id: Option<String>,
    pub(crate) unit: Option<String>,
    pub(crate) quantity: Option<i64>,
    pub(crate) reason: Option<String>,
    pub(crate) created_at: Timestamp,
}

impl NewLedgerRow {
    /// An entry of `kind` for `user_id`, with no charge, unit, quantity or reason yet.
    pub(crate) fn new(
        id: &LedgerEntryId,
        user_id: &UserId,
        kind: LedgerKind,
        (amount, balance_after): (i64, i64),
        at: Timestamp,
    ) -> Self {
        Self {
            id: id.as_str().to_owned(),
            user_id: Some(user_id.as_str().to_owned()),
            kind: kind.as_str(),
            amount,
            balance_after,
            charge_id: None,
            unit: None,
            quantity: None,
            reason: None,
            created_at: at,
        }
    }

    /// The entry as read back, once the database gave it `sequence`.
    pub(crate) fn stored(self, sequence: i64) -> LedgerRow {
        LedgerRow {
            sequence,
            id: self.id,
            user_id: self.user_id,
            kind: self.kind.to_owned(),
            amount: self.amount,
            balance_after: self.balance_after,
            charge_id: self.charge_id,
            unit: self.unit,
            quantity: self.quantity,
            reason: self.reason,
            created_at: self.created_at,
        }
    }
}

impl LedgerRow {
    /// What a refund of this charge entry gives back, and the unit and quantity it carries.
    pub(crate) fn charge_parts(&self) -> (i64, Option<String>, Option<i64>) {
        (-self.amount, self.unit.clone(), self.quantity)
    }

    pub(crate) fn into_entry(self) -> Result<LedgerEntry, PortError> {
        const CONTEXT: &str = "read ledger entry";
        Ok(LedgerEntry {
            id: LedgerEntryId::parse(&self.id)
                .ok_or_else(|| corrupt(CONTEXT, "malformed ledger entry id"))?,
            sequence: self.sequence,
            user_id: self
                .user_id
                .map(|id| UserId::parse(&id).ok_or_else(|| corrupt(CONTEXT, "malformed user id")))
                .transpose()?,
            kind: LedgerKind::parse(&self.kind)
                .ok_or_else(|| corrupt(CONTEXT, "unknown ledger entry kind"))?,
            amount: self.amount,
            balance_after: self.balance_after,
            charge_id: self
                .charge_id
                .map(|id| {
                    ChargeId::parse(&id).ok_or_else(|| corrupt(CONTEXT, "malformed charge id"))
                })
                .transpose()?,
            unit: self.unit,
            quantity: self.quantity,
            reason: self.reason,
            created_at: self.created_at.into(),
        })
    }
}

/// An idempotency key as both backends store it.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub(crate) struct IdempotencyKeyRow {
    pub(crate) user_id: String,
    pub(crate) key: String,
    pub(crate) fingerprint: Vec<u8>,
    pub(crate) charge_id: String,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
}

// Rows that hold a secret show only what names them: a password hash, or an email's payload (its single-use link
// and code, in clear until delivery), must not reach a log line through a `{:?}`.

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NewOutboxRow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOutboxRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OutboxRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRow")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use latchkey_domain::{EmailContent, EmailId, NewEmail, PlainSecret};

    #[test]
    fn an_outbox_row_does_not_show_its_link_or_code() {
        let email = NewEmail::new(
            EmailId::from_random("e1"),
            EmailContent::PasswordReset {
                link: PlainSecret::new("https://auth.example.com/reset?token=lkpw_secret"),
                valid_for: chrono::TimeDelta::minutes(15),
            },
            chrono::Utc.timestamp_opt(0, 0).unwrap(),
        );
        let shown = format!("{:?}", NewOutboxRow::new(&email, "jane@example.com"));
        assert!(!shown.contains("lkpw_secret"), "{shown}");
        assert!(shown.contains("NewOutboxRow"), "{shown}");
    }
}
