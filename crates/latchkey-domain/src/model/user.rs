//! User accounts.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{DisplayName, Email, PasswordHash, UserId, Username};

/// A user account as the API shows it.
#[derive(Debug, Clone, PartialEq)]
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
}

/// A user together with the hash of their password: what a login needs, and nothing shows.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// Its current password hash.
    pub password_hash: PasswordHash,
}

/// Everything needed to create an account.
#[derive(Debug, Clone)]
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
    /// Opening balance (the welcome credits).
    pub credits: i64,
    /// Creation time; also the first `updated_at`.
    pub created_at: DateTime<Utc>,
}
