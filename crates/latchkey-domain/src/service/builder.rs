//! Assembling a [`Latchkey`] one named port at a time.
//!
//! A builder rather than a struct literal of every port: when a later version adds a port, code that builds the
//! service still compiles, and [`LatchkeyBuilder::build`] names the port it lacks instead of a compiler error in
//! every embedder and test helper.

use std::fmt;
use std::sync::Arc;

use super::{Latchkey, Ports};
use crate::policy::Policies;
use crate::ports::{
    AccessTokenCodec, ChallengeRepository, Clock, CredentialRepository, CreditLedger, EventLog,
    HealthCheck, PasswordHasher, RateLimiter, SecretGenerator, SessionRepository, SystemClock,
    UserRepository,
};

/// Why [`LatchkeyBuilder::build`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A port without a default was never set.
    #[error("the `{port}` port was not set (LatchkeyBuilder::{port})")]
    MissingPort {
        /// The port, named as its builder method.
        port: &'static str,
    },
}

/// Collects the ports and policies of a [`Latchkey`]; start with [`Latchkey::builder`].
///
/// Every port must be set except the clock (the system clock by default); the policies default to
/// [`Policies::default`]. Setting a port twice keeps the last value, so a test can start from a complete set of
/// in-memory ports and replace one.
#[must_use]
#[derive(Clone)]
pub struct LatchkeyBuilder {
    users: Option<Arc<dyn UserRepository>>,
    sessions: Option<Arc<dyn SessionRepository>>,
    challenges: Option<Arc<dyn ChallengeRepository>>,
    credentials: Option<Arc<dyn CredentialRepository>>,
    ledger: Option<Arc<dyn CreditLedger>>,
    limiter: Option<Arc<dyn RateLimiter>>,
    events: Option<Arc<dyn EventLog>>,
    health: Option<Arc<dyn HealthCheck>>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    access_tokens: Option<Arc<dyn AccessTokenCodec>>,
    secrets: Option<Arc<dyn SecretGenerator>>,
    clock: Arc<dyn Clock>,
    policies: Policies,
}

impl Default for LatchkeyBuilder {
    fn default() -> Self {
        Self {
            users: None,
            sessions: None,
            challenges: None,
            credentials: None,
            ledger: None,
            limiter: None,
            events: None,
            health: None,
            hasher: None,
            access_tokens: None,
            secrets: None,
            clock: Arc::new(SystemClock),
            policies: Policies::default(),
        }
    }
}

impl fmt::Debug for LatchkeyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The ports are trait objects without Debug; which ones are set is what a reader needs.
        f.debug_struct("LatchkeyBuilder")
            .field("users", &self.users.is_some())
            .field("sessions", &self.sessions.is_some())
            .field("challenges", &self.challenges.is_some())
            .field("credentials", &self.credentials.is_some())
            .field("ledger", &self.ledger.is_some())
            .field("limiter", &self.limiter.is_some())
            .field("events", &self.events.is_some())
            .field("health", &self.health.is_some())
            .field("hasher", &self.hasher.is_some())
            .field("access_tokens", &self.access_tokens.is_some())
            .field("secrets", &self.secrets.is_some())
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

impl LatchkeyBuilder {
    /// Where accounts are stored.
    pub fn users(mut self, users: Arc<dyn UserRepository>) -> Self {
        self.users = Some(users);
        self
    }

    /// Where sessions and their refresh tokens are stored.
    pub fn sessions(mut self, sessions: Arc<dyn SessionRepository>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// Where verification challenges and reset tokens are stored, with the emails that carry them (the store's
    /// outbox, which a [`super::OutboxDelivery`] delivers).
    pub fn challenges(mut self, challenges: Arc<dyn ChallengeRepository>) -> Self {
        self.challenges = Some(challenges);
        self
    }

    /// Where personal tokens and API keys are stored.
    pub fn credentials(mut self, credentials: Arc<dyn CredentialRepository>) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Where balances, charges, their idempotency keys and the credits ledger are stored.
    pub fn ledger(mut self, ledger: Arc<dyn CreditLedger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Where rate limits count attempts (the shared store, so limits hold across instances).
    pub fn limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Where security events are recorded.
    pub fn events(mut self, events: Arc<dyn EventLog>) -> Self {
        self.events = Some(events);
        self
    }

    /// What `/readyz` asks whether the store answers.
    pub fn health(mut self, health: Arc<dyn HealthCheck>) -> Self {
        self.health = Some(health);
        self
    }

    /// Hashes and verifies passwords.
    pub fn hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// Signs and checks access tokens.
    pub fn access_tokens(mut self, access_tokens: Arc<dyn AccessTokenCodec>) -> Self {
        self.access_tokens = Some(access_tokens);
        self
    }

    /// Makes ids and opaque secrets.
    pub fn secrets(mut self, secrets: Arc<dyn SecretGenerator>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Tells the time (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The rules to apply (default: [`Policies::default`]).
    pub fn policies(mut self, policies: Policies) -> Self {
        self.policies = policies;
        self
    }

    /// Builds the service.
    ///
    /// # Errors
    /// [`BuildError::MissingPort`] naming the first port that was not set.
    pub fn build(self) -> Result<Latchkey, BuildError> {
        fn required<T: ?Sized>(
            port: Option<Arc<T>>,
            name: &'static str,
        ) -> Result<Arc<T>, BuildError> {
            port.ok_or(BuildError::MissingPort { port: name })
        }
        let ports = Ports {
            users: required(self.users, "users")?,
            sessions: required(self.sessions, "sessions")?,
            challenges: required(self.challenges, "challenges")?,
            credentials: required(self.credentials, "credentials")?,
            ledger: required(self.ledger, "ledger")?,
            limiter: required(self.limiter, "limiter")?,
            events: required(self.events, "events")?,
            health: required(self.health, "health")?,
            hasher: required(self.hasher, "hasher")?,
            access_tokens: required(self.access_tokens, "access_tokens")?,
            secrets: required(self.secrets, "secrets")?,
            clock: self.clock,
        };
        Ok(Latchkey {
            ports,
            policies: self.policies,
            usage: Default::default(),
        })
    }
}
