//! Ports: the traits through which the domain reaches the outside world. Adapters implement them.
//!
//! Every repository method is one atomic step of a use case, so the domain never holds a transaction.

mod clock;
mod hasher;
mod health;
mod secrets;
mod sessions;
mod tokens;
mod users;

use std::sync::Arc;

pub use clock::{Clock, SystemClock};
pub use hasher::PasswordHasher;
pub use health::HealthCheck;
pub use secrets::SecretGenerator;
pub use sessions::{RotationOutcome, RotationRequest, SessionRepository};
pub use tokens::{AccessClaims, AccessTokenCodec, DecodeError};
pub use users::{InsertUserError, UserLookup, UserRepository};

/// The set of adapters a [`crate::Latchkey`] service runs on.
#[derive(Clone)]
pub struct Ports {
    /// Stores accounts.
    pub users: Arc<dyn UserRepository>,
    /// Stores sessions and their refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Hashes and verifies passwords.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Signs and checks access tokens.
    pub access_tokens: Arc<dyn AccessTokenCodec>,
    /// Makes ids and opaque secrets.
    pub secrets: Arc<dyn SecretGenerator>,
    /// Tells the time.
    pub clock: Arc<dyn Clock>,
    /// Tells whether the store is reachable.
    pub health: Arc<dyn HealthCheck>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}
