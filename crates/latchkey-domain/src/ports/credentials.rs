use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::model::{
    CredentialId, CredentialKind, IssuedCredential, NewCredential, PresentedCredential, SessionId,
    User, UserId,
};
use crate::secret::TokenHash;

/// Why a credential was not stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InsertCredentialError {
    /// The user already holds the most live credentials of this kind the limit allows.
    #[error("the user holds the most credentials of this kind allowed")]
    LimitReached,
    /// The session that asked ([`NewCredential::requested_by`]) is no longer active: revoked (by a logout, a
    /// password change or reset, a disable) or expired since the request was authenticated.
    #[error("the session that asked has ended")]
    SessionEnded,
    /// The store failed (including a duplicate secret hash, which a CSPRNG makes impossible in practice).
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// A new secret for a credential, as [`CredentialRepository::rotate_credential`] stores it.
#[derive(Debug, Clone)]
pub struct CredentialRotation {
    /// The credential.
    pub id: CredentialId,
    /// Its owner, who asked.
    pub user_id: UserId,
    /// The SHA-256 of the new secret.
    pub secret_hash: TokenHash,
    /// The first characters of the new secret.
    pub hint: String,
    /// The login session that asked, if any: the store rotates only while it is active, as for
    /// [`NewCredential::requested_by`], so a session ended after it was authenticated gets no fresh secret.
    pub requested_by: Option<SessionId>,
    /// When: an expired credential is not rotated (its new secret would be refused at once).
    pub now: DateTime<Utc>,
}

/// Why a credential was not rotated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateCredentialError {
    /// The user holds no such live credential: unknown, someone else's, revoked or expired.
    #[error("no such live credential")]
    NotFound,
    /// The session that asked ([`CredentialRotation::requested_by`]) is no longer active.
    #[error("the session that asked has ended")]
    SessionEnded,
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// A credential found by its secret, with its owner: what authenticating a request with it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialMatch {
    /// The credential, as a request presenting it needs it (its `last_used_at` is what the store holds).
    pub credential: PresentedCredential,
    /// Its owner's account.
    pub user: User,
}

/// Stores personal tokens and API keys.
///
/// A revoked credential is gone for every method: it is never found, listed, rotated or revoked again.
#[async_trait]
pub trait CredentialRepository: Send + Sync {
    /// Stores a new credential, unless its owner already holds `limit` live (unrevoked, unexpired at `now`)
    /// credentials of its kind, or the session that asked for it is no longer active at `now`. The checks and the
    /// insert are one atomic step, so concurrent creations cannot pass the limit together, and a revocation of the
    /// asking session that commits first (a reset, a disable, a logout) refuses the creation.
    ///
    /// # Errors
    /// [`InsertCredentialError::LimitReached`] past the limit and [`InsertCredentialError::SessionEnded`] for an
    /// ended session (nothing is written);
    /// [`InsertCredentialError::Unavailable`] when the store fails.
    async fn insert_credential(
        &self,
        new: &NewCredential,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<IssuedCredential, InsertCredentialError>;

    /// The unrevoked credentials of `kind` that `user_id` holds, expired ones included, newest first.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn list_credentials(
        &self,
        user_id: &UserId,
        kind: CredentialKind,
    ) -> Result<Vec<IssuedCredential>, PortError>;

    /// The unrevoked credential whose secret hashes to `secret_hash`, with its owner, expired or not (the caller
    /// tells an expired credential from an unknown one). One indexed lookup, no write.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn find_credential(
        &self,
        secret_hash: &TokenHash,
    ) -> Result<Option<CredentialMatch>, PortError>;

    /// Gives the user's live (unrevoked, unexpired at `rotation.now`) credential a new secret: from this step on,
    /// the old secret is never found and the new one is. Name, scopes, creation and expiry stay. Nothing is
    /// written when the user holds no such credential, or when `requested_by` is given and is no longer an active
    /// session of the user (checked in the same transaction, after locking the account, as for creation).
    ///
    /// # Errors
    /// [`RotateCredentialError`]: not found, the session ended, or the store failed.
    async fn rotate_credential(
        &self,
        rotation: &CredentialRotation,
    ) -> Result<IssuedCredential, RotateCredentialError>;

    /// Revokes `user_id`'s credential `id`; `false` when the user holds no such unrevoked credential.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn revoke_credential(
        &self,
        id: &CredentialId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Revokes every credential of `user_id` (a password reset, a disabled or deleted account); returns how many.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn revoke_all_credentials(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, PortError>;

    /// Records that credential `id` was used at `at`, unless a use at or after `at - precision` is already recorded.
    /// Stores may complete the write after returning: the caller is a request that must not wait for it.
    ///
    /// # Errors
    /// [`PortError`] when the store fails before handing the write off.
    async fn record_credential_use(
        &self,
        id: &CredentialId,
        at: DateTime<Utc>,
        precision: chrono::TimeDelta,
    ) -> Result<(), PortError>;
}
