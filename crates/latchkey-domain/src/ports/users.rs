use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::model::{
    Email, NewUser, PasswordHash, SessionId, User, UserCredentials, UserId, Username,
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
    /// `keep` (the session that made the change, if any). Returns `false` when the user does not exist.
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
}
