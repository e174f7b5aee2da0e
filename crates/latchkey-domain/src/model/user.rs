//! User accounts.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{DisplayName, Email, LedgerEntryId, PasswordHash, UserId, Username};

/// A user account as the API shows it.
///
/// Built by the service, or by a repository adapter with [`User::from_stored`]; it grows fields as features land,
/// hence `#[non_exhaustive]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct User {
    /// Opaque id (`usr_…`).
    pub id: UserId,
    /// Email address, unique case-insensitively.
    pub email: Email,
    /// Optional username, unique case-insensitively.
    pub username: Option<Username>,
    /// Optional display name.
    pub name: Option<DisplayName>,
    /// Optional phone number.
    pub phone: Option<String>,
    /// Free-form JSON object owned by the client application.
    pub metadata: Map<String, Value>,
    /// Credit balance; never negative.
    pub credits: i64,
    /// Whether the email address has been verified.
    pub is_verified: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When the account was last changed.
    pub updated_at: DateTime<Utc>,
    /// When an operator disabled the account; `None` while it is enabled. A disabled account cannot log in and
    /// holds no live session or credential.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why, as the operator put it.
    pub disabled_reason: Option<String>,
}

impl User {
    /// Whether an operator has disabled the account.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// Rebuilds an account a repository adapter read back from storage.
    ///
    /// The only way to make a `User` outside this crate. It trusts the stored email, username and name, which were
    /// parsed on the way in: re-parsing them under rules tightened since would lock people out of their accounts.
    pub fn from_stored(stored: StoredUser) -> Self {
        Self {
            id: stored.id,
            email: Email::from_stored(stored.email),
            username: stored.username.map(Username::from_stored),
            name: stored.name.map(DisplayName::from_stored),
            phone: stored.phone,
            metadata: stored.metadata,
            credits: stored.credits,
            is_verified: stored.is_verified,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            disabled_at: stored.disabled_at,
            disabled_reason: stored.disabled_reason,
        }
    }
}

/// An account as a repository stores it, for [`User::from_stored`].
///
/// Deliberately exhaustive: when an account gains a field, every adapter must fail to compile until it stores and
/// reads that field too.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    /// Opaque id (`usr_…`).
    pub id: UserId,
    /// Email address as the user spelled it.
    pub email: String,
    /// Username as the user spelled it.
    pub username: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// The client application's JSON object.
    pub metadata: Map<String, Value>,
    /// Credit balance.
    pub credits: i64,
    /// Whether the email address has been verified.
    pub is_verified: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When an operator disabled it, if it is disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// The operator's reason.
    pub disabled_reason: Option<String>,
}

/// A user together with the hash of their password: what a login needs, and nothing shows.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// Its current password hash.
    pub password_hash: PasswordHash,
}

/// Everything needed to create an account; made by the service, stored by a [`crate::ports::UserRepository`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewUser {
    /// Freshly generated id.
    pub id: UserId,
    /// Email address.
    pub email: Email,
    /// Optional username.
    pub username: Option<Username>,
    /// Optional display name.
    pub name: Option<DisplayName>,
    /// Hash of the chosen password.
    pub password_hash: PasswordHash,
    /// Opening balance (the welcome credits); when above zero, the store writes it as the account's first ledger
    /// entry, in the same transaction as the account.
    pub credits: i64,
    /// The id of that welcome ledger entry.
    pub welcome_entry_id: LedgerEntryId,
    /// Creation time; also the first `updated_at`.
    pub created_at: DateTime<Utc>,
}
