use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::model::{
    Email, NewUser, PasswordHash, ProfileChanges, SessionId, User, UserCredentials, UserId,
    Username,
};

/// How a login names an account.
#[derive(Debug, Clone)]
pub enum UserLookup {
    /// By id (an authenticated user).
    Id(UserId),
    /// By email address, under its [`Email::key`](crate::model::Email::key).
    Email(Email),
    /// By username, case-insensitively.
    Username(Username),
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InsertUserError {
    /// Another account has the same email key.
    #[error("email already registered")]
    EmailTaken,
    /// Another account has the same username key.
    #[error("username already taken")]
    UsernameTaken,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Why a profile change was not stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateProfileError {
    /// Another account has the new username's key.
    #[error("username already taken")]
    UsernameTaken,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Which accounts an operator lists: newest first, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserQuery {
    /// Only accounts whose email key (lowercase) matches: a substring, or a pattern where `*` stands for any run
    /// of characters (`*@example.com`).
    pub email_pattern: Option<String>,
    /// At most this many.
    pub limit: u32,
}

impl UserQuery {
    /// The newest `limit` accounts.
    pub fn newest(limit: u32) -> Self {
        Self {
            email_pattern: None,
            limit,
        }
    }

    /// Only accounts whose email key matches `pattern` (lowercased here; see [`UserQuery::email_pattern`]).
    pub fn matching(mut self, pattern: &str) -> Self {
        self.email_pattern = Some(pattern.to_lowercase());
        self
    }

    /// Whether an email key matches the pattern; what the in-memory adapter uses, and the rule SQL adapters
    /// implement with `LIKE`.
    pub fn matches_email_key(&self, key: &str) -> bool {
        let Some(pattern) = &self.email_pattern else {
            return true;
        };
        if !pattern.contains('*') {
            return key.contains(pattern.as_str());
        }
        let parts: Vec<&str> = pattern.split('*').collect();
        let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
        let Some(mut remaining) = key.strip_prefix(first) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        for part in middle {
            match remaining.find(part) {
                Some(at) => remaining = &remaining[at + part.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last)
    }
}

/// Stores user accounts.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Creates an account.
    ///
    /// # Errors
    /// - [`InsertUserError::EmailTaken`] when an account with the same [`Email::key`] exists; this must hold under
    ///   concurrent inserts (a unique constraint, not a prior read).
    /// - [`InsertUserError::UsernameTaken`] likewise for [`Username::key`] (and only when the email was free).
    /// - [`InsertUserError::Unavailable`] when the store fails; nothing is written then.
    async fn insert(&self, user: &NewUser) -> Result<User, InsertUserError>;

    /// Finds an account by id.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; an unknown id is `Ok(None)`.
    async fn find(&self, id: &UserId) -> Result<Option<User>, PortError>;

    /// Finds the account of an active session, in one indexed lookup: what every request that needs the caller's
    /// account runs, so the revocation check and the account read cost a single round trip.
    ///
    /// Returns `None` when the session is unknown, revoked, expired at `now` (as
    /// [`crate::ports::SessionRepository::is_active`]), or does not belong to `user_id`.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn find_by_active_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, PortError>;

    /// Finds an account and its password hash.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; an unknown account is `Ok(None)`.
    async fn find_credentials(
        &self,
        lookup: &UserLookup,
    ) -> Result<Option<UserCredentials>, PortError>;

    /// Replaces the password hash and, in the same transaction, revokes every active session of the user except
    /// `keep` (the session that made the change, if any) and drops its pending email change (asked for under the
    /// old password) and its pending password reset (whoever holds that link would undo the change). Returns
    /// `false`, with nothing written, when the user does not exist or `keep` is given and is no longer an active
    /// session of the user at `now`: a reset, another change or a logout that revoked it while this change was
    /// checking the old password wins.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then neither the hash nor any session changed.
    async fn update_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        keep: Option<&SessionId>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Replaces the password hash `current` with `upgraded`, a new hash of the same password (made with the
    /// hasher's current parameters), only if `current` is still the account's hash: a compare-and-set in one
    /// statement, so an upgrade after a login never overwrites a password change or reset that landed since.
    /// Sessions and `updated_at` are left alone: the password did not change. Returns whether the hash was
    /// replaced.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then nothing changed.
    async fn rehash_password(
        &self,
        id: &UserId,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, PortError>;

    /// Applies a profile change (see [`ProfileChanges`]) and moves `updated_at` to `now`; returns the account as
    /// changed, or `None` when it does not exist. An empty change still moves `updated_at`.
    ///
    /// # Errors
    /// [`UpdateProfileError::UsernameTaken`] when another account holds the new username's key (decided by the
    /// unique constraint, so it holds under concurrent changes); [`UpdateProfileError::Unavailable`]. Nothing is
    /// written on error.
    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, UpdateProfileError>;

    /// Accounts, newest first (ties by id), as [`UserQuery`] selects them.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, PortError>;

    /// Disables an account (`reason` given; an account already disabled keeps its first time and takes the new
    /// reason) and, in the same transaction, revokes every session and every personal token and API key it holds,
    /// so none of them is accepted from this step on. With `None`, enables it again; revoked sessions and
    /// credentials stay revoked. Returns the account as changed, or `None` when it does not exist.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn set_disabled(
        &self,
        id: &UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, PortError>;

    /// Deletes an account and, in the same transaction, everything that identifies its owner: its sessions (with
    /// their addresses and user agents), refresh tokens, personal tokens, API keys, pending challenges and email
    /// change, known login addresses, the addresses and user agents of its security events (which stay, detached
    /// from the account), and the emails in the outbox addressed to it. Records that must outlive the account
    /// (the credit ledger) stay without the link to it. Its email address and username are free again from this
    /// step on.
    ///
    /// Returns `false`, with nothing deleted, when there was no such account, or when `asked_by` (the owner's
    /// session that asked; `None` for an operator) is no longer an active session of the account at `now`: a reset
    /// or a disable that revoked it while the deletion was checking the password wins.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is deleted then.
    async fn delete_user(
        &self,
        id: &UserId,
        asked_by: Option<&SessionId>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;
}
