use std::any::Any;
use std::fmt;

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

    /// Takes a place in the queue now, for a hash the caller will ask for after some other work (a login's lookup
    /// and attempt count), or refuses at once with [`PortError::overloaded`] when the queue is full. The place is
    /// spent by [`PasswordHasher::verify_reserved`] or [`PasswordHasher::verify_nothing_reserved`]; dropped unspent,
    /// it is given back. So a use case under a flood refuses before any database work, and the verification it
    /// reserved for is never refused for want of room. The place counts against the queue from now on, through
    /// the caller's other work: a wrapper around a hasher that reserves must forward this method and both
    /// `_reserved` methods together, or its callers lose the guarantee.
    ///
    /// The default holds nothing, for hashers without a queue.
    ///
    /// # Errors
    /// [`PortError::overloaded`] when the queue is full.
    fn reserve(&self) -> Result<HashPlace, PortError> {
        Ok(HashPlace::none())
    }

    /// [`PasswordHasher::verify`] in a place [`PasswordHasher::reserve`] took. The default gives the place back and
    /// verifies as [`PasswordHasher::verify`] does.
    ///
    /// # Errors
    /// As [`PasswordHasher::verify`]; a hasher that reserves refuses no reserved verification for want of room.
    async fn verify_reserved(
        &self,
        place: HashPlace,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, PortError> {
        drop(place);
        self.verify(password, hash).await
    }

    /// [`PasswordHasher::verify_nothing`] in a place [`PasswordHasher::reserve`] took. The default gives the place
    /// back and spends the work as [`PasswordHasher::verify_nothing`] does.
    ///
    /// # Errors
    /// As [`PasswordHasher::verify_nothing`]; a hasher that reserves refuses no reserved verification for want of
    /// room.
    async fn verify_nothing_reserved(
        &self,
        place: HashPlace,
        password: &Password,
    ) -> Result<(), PortError> {
        drop(place);
        self.verify_nothing(password).await
    }
}

/// A place in a [`PasswordHasher`]'s queue, taken by [`PasswordHasher::reserve`]: what the hasher put in it, opaque
/// to everyone else. Dropping it gives the place back.
#[must_use = "a place is given back when dropped; spend it on the hash it was taken for"]
pub struct HashPlace(Option<Box<dyn Any + Send + Sync>>);

impl HashPlace {
    /// A place that holds nothing: what a hasher without a queue reserves.
    pub fn none() -> Self {
        Self(None)
    }

    /// A place holding `held`, which the hasher that made it takes back with [`HashPlace::into_held`].
    pub fn holding<T: Any + Send + Sync>(held: T) -> Self {
        Self(Some(Box::new(held)))
    }

    /// What the place holds, when it is a `T`; `None` for a place that holds nothing or something else.
    pub fn into_held<T: Any>(self) -> Option<T> {
        self.0?.downcast::<T>().ok().map(|held| *held)
    }
}

impl fmt::Debug for HashPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "HashPlace(held)"
        } else {
            "HashPlace(none)"
        })
    }
}
