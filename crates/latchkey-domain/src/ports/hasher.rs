use async_trait::async_trait;

use crate::error::PortError;
use crate::model::{Password, PasswordHash};

/// Hashes and verifies passwords with a deliberately slow function.
///
/// Implementations must run the work off the async workers, on a pool bounded so that a flood of logins cannot
/// exhaust memory, and callers must not hold a database connection while awaiting it. The queue in front of the pool
/// is bounded too: when it is full, every method fails at once with [`PortError::overloaded`] rather than letting
/// the wait of every caller grow without bound.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password with the configured parameters and a fresh salt.
    ///
    /// # Errors
    /// [`PortError`] when the hashing pool is gone or hashing fails; [`PortError::overloaded`] when its queue is full.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError>;

    /// Checks a password against a stored hash. A malformed stored hash never matches.
    ///
    /// # Errors
    /// [`PortError`] when the hashing pool is gone; [`PortError::overloaded`] when its queue is full.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError>;

    /// Spends the same work as [`PasswordHasher::verify`] with nothing to match, for logins naming no account, so
    /// that response times do not reveal which accounts exist.
    ///
    /// # Errors
    /// [`PortError`] when the hashing pool is gone; [`PortError::overloaded`] when its queue is full.
    async fn verify_nothing(&self, password: &Password) -> Result<(), PortError>;

    /// Whether a stored hash (one that [`PasswordHasher::verify`] accepts) was made otherwise than
    /// [`PasswordHasher::hash`] would make it now: another algorithm, version or cost parameters. A login that
    /// verified such a hash stores a fresh one, so raising the configured cost reaches every account that logs in.
    ///
    /// Cheap (it reads the hash's parameters, it does not hash). The default says no, for hashers with nothing to
    /// upgrade.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        let _ = hash;
        false
    }

    /// Refuses at once, with the [`PortError::overloaded`] a hash asked for now would fail with, when the queue is
    /// already full; `Ok` otherwise. A cheap, racy hint (a hash asked for a moment later may still be refused), so
    /// that a use case under a flood can refuse before spending database work on a request that cannot be hashed.
    ///
    /// The default always has room, for hashers without a queue.
    ///
    /// # Errors
    /// [`PortError::overloaded`] when the queue is full.
    fn check_room(&self) -> Result<(), PortError> {
        Ok(())
    }
}
