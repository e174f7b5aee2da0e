//! Long-lived credentials: personal access tokens and API keys.
//!
//! Both are opaque secrets a user creates for programs: a personal token is sent as `Authorization: Bearer
//! lk_pat_…`, an API key as `X-API-Key: sk_live_…`. Each carries its own [`Scopes`], never reaches the session-only
//! use cases, and is stored only as the hash of its secret.

use std::fmt;

use chrono::{DateTime, Utc};

use super::{ApiKeyId, DisplayName, PersonalTokenId, SessionId, UserId};
use crate::access::Scopes;
use crate::secret::TokenHash;

/// Which kind of long-lived credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// A personal access token (`lk_pat_…`, sent as a bearer token; an expiry is required).
    PersonalToken,
    /// An API key (`sk_live_…` by default, sent as `X-API-Key`; an expiry is optional).
    ApiKey,
}

impl CredentialKind {
    /// How stores name the kind (`pat`, `key`).
    pub const fn as_str(self) -> &'static str {
        match self {
            CredentialKind::PersonalToken => "pat",
            CredentialKind::ApiKey => "key",
        }
    }

    /// The kind a store named with [`CredentialKind::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "pat" => Some(CredentialKind::PersonalToken),
            "key" => Some(CredentialKind::ApiKey),
            _ => None,
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CredentialKind::PersonalToken => "personal token",
            CredentialKind::ApiKey => "API key",
        })
    }
}

/// The id of a personal token or of an API key (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialId {
    /// A personal token's id (`pat_…`).
    PersonalToken(PersonalTokenId),
    /// An API key's id (`key_…`).
    ApiKey(ApiKeyId),
}

impl CredentialId {
    /// A fresh id of `kind` from a random body (see [`crate::ports::SecretGenerator::new_id`]).
    pub fn from_random(kind: CredentialKind, body: &str) -> Self {
        match kind {
            CredentialKind::PersonalToken => {
                CredentialId::PersonalToken(PersonalTokenId::from_random(body))
            }
            CredentialKind::ApiKey => CredentialId::ApiKey(ApiKeyId::from_random(body)),
        }
    }

    /// Parses an id of `kind`, from a client or from storage; `None` when malformed or of the other kind.
    pub fn parse(kind: CredentialKind, value: &str) -> Option<Self> {
        match kind {
            CredentialKind::PersonalToken => {
                PersonalTokenId::parse(value).map(CredentialId::PersonalToken)
            }
            CredentialKind::ApiKey => ApiKeyId::parse(value).map(CredentialId::ApiKey),
        }
    }

    /// Which kind of credential the id names.
    pub fn kind(&self) -> CredentialKind {
        match self {
            CredentialId::PersonalToken(_) => CredentialKind::PersonalToken,
            CredentialId::ApiKey(_) => CredentialKind::ApiKey,
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        match self {
            CredentialId::PersonalToken(id) => id.as_str(),
            CredentialId::ApiKey(id) => id.as_str(),
        }
    }
}

impl fmt::Display for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A personal token or API key as its owner sees it: everything but the secret, of which only the first characters
/// ([`IssuedCredential::hint`]) are kept so a person can tell their credentials apart.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedCredential {
    /// Its id; its kind is the id's.
    pub id: CredentialId,
    /// Its owner.
    pub user_id: UserId,
    /// What its owner called it.
    pub name: DisplayName,
    /// What it may do.
    pub scopes: Scopes,
    /// The first characters of its secret (prefix included), e.g. `lk_pat_Xb3q9K`.
    pub hint: String,
    /// When it was created (or last rotated: a rotation is a new secret, not a new credential, so this stays).
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to a minute's precision; `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl IssuedCredential {
    /// Rebuilds a credential a repository adapter read back from storage.
    ///
    /// The only way to make one outside this crate. It trusts the stored name, which was parsed on the way in.
    pub fn from_stored(stored: StoredCredential) -> Self {
        Self {
            id: stored.id,
            user_id: stored.user_id,
            name: DisplayName::from_stored(stored.name),
            scopes: stored.scopes,
            hint: stored.hint,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            last_used_at: stored.last_used_at,
        }
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

/// A credential as a request presenting its secret needs it: whose it is, what it may do, and how long it lives.
/// Lighter than [`IssuedCredential`] (no name or hint), because it is read on every request that presents one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCredential {
    /// Its id; its kind is the id's.
    pub id: CredentialId,
    /// Its owner.
    pub user_id: UserId,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to a minute's precision; `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl PresentedCredential {
    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

impl From<&IssuedCredential> for PresentedCredential {
    fn from(credential: &IssuedCredential) -> Self {
        Self {
            id: credential.id.clone(),
            user_id: credential.user_id.clone(),
            scopes: credential.scopes,
            created_at: credential.created_at,
            expires_at: credential.expires_at,
            last_used_at: credential.last_used_at,
        }
    }
}

/// A credential as a repository stores it, for [`IssuedCredential::from_stored`].
///
/// Deliberately exhaustive: when a credential gains a field, every adapter must fail to compile until it stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCredential {
    /// Its id.
    pub id: CredentialId,
    /// Its owner.
    pub user_id: UserId,
    /// Its name as stored.
    pub name: String,
    /// Its scopes.
    pub scopes: Scopes,
    /// The first characters of its secret.
    pub hint: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use, if any.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A credential to store: the record and the hash of its secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewCredential {
    /// The record.
    pub credential: IssuedCredential,
    /// The SHA-256 of its secret, under which it is found.
    pub secret_hash: TokenHash,
    /// The login session that asked for it, if any: the store writes the credential only while that session is
    /// active, so a request whose session ended after it was authenticated (a reset, a disable, a logout) creates
    /// nothing.
    pub requested_by: Option<SessionId>,
}
