use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::PortError;
use crate::model::UserId;
use crate::policy::Rate;
use crate::secret::TokenHash;

/// What a rate limit counts: one action by one subject (an account, a client address, an identifier), as an
/// opaque hash, so the store keeps neither addresses nor email addresses in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LimitKey(TokenHash);

impl LimitKey {
    /// The key of `action` (a short, fixed name such as `login:address`) done by `subject`.
    pub fn new(action: &str, subject: &str) -> Self {
        Self(TokenHash::of(&format!("{action}\u{0}{subject}")))
    }

    /// The hash that identifies the key in a store.
    pub fn hash(&self) -> &TokenHash {
        &self.0
    }
}

/// The answer of [`RateLimiter::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Admission {
    /// The attempt was within the rate and has been counted.
    Admitted,
    /// The rate is spent; nothing was counted. The earliest an attempt would be admitted is `retry_after` from now.
    Refused {
        /// How long until one attempt is admitted again (at least a second).
        retry_after: TimeDelta,
    },
}

/// Counts attempts per key in the shared store, so that limits hold across instances and restarts.
///
/// The rule is the generic cell rate algorithm (GCRA): a key admits `rate.max` attempts at once and then one more
/// every `rate.period / rate.max`; each key is one row holding its theoretical arrival time, moved in one atomic
/// statement, so concurrent attempts from several instances cannot overshoot.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one attempt of `key` at `now` if the rate allows it, atomically.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn acquire(
        &self,
        key: &LimitKey,
        rate: Rate,
        now: DateTime<Utc>,
    ) -> Result<Admission, PortError>;

    /// Gives back one attempt that an [`Admission::Admitted`] counted for `key` (a login that turned out to be
    /// right counts as no failure). Giving back to a key with nothing counted does nothing.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn release(&self, key: &LimitKey, rate: Rate) -> Result<(), PortError>;

    /// Remembers that `user_id` logged in successfully from the client address `address` at `now`.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn remember_address(
        &self,
        user_id: &UserId,
        address: &LimitKey,
        now: DateTime<Utc>,
    ) -> Result<(), PortError>;

    /// Whether `user_id` logged in successfully from `address` at or after `since`.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn knows_address(
        &self,
        user_id: &UserId,
        address: &LimitKey,
        since: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Forgets every address `user_id` logged in from (after a password change or reset: whoever logged in with
    /// the old password must not keep an exemption).
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn forget_addresses(&self, user_id: &UserId) -> Result<(), PortError>;

    /// Deletes what no longer limits anything: keys whose every counted attempt has expired at `now`, and
    /// addresses remembered before `remembered_before`. Returns how many rows went.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn purge_limits(
        &self,
        now: DateTime<Utc>,
        remembered_before: DateTime<Utc>,
    ) -> Result<u64, PortError>;
}
