//! Use cases. [`Latchkey`] is the one service embedders call; each submodule adds the methods of one area.

mod account;
mod authenticate;
mod builder;
mod credentials;
mod credits;
mod delivery;
mod email_change;
mod events;
mod lifecycle;
mod login;
mod oauth;
mod profile;
mod purge;
mod reauth;
mod refresh;
mod register;
mod reset;
mod sessions;
mod throttle;
mod verification;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use account::{ChangePasswordError, ChangePasswordInput, CreditsView};
pub use authenticate::AuthError;
pub use builder::{BuildError, LatchkeyBuilder};
pub use credentials::{
    default_scopes, CreateCredentialInput, CreatedCredential, CredentialError, LAST_USED_PRECISION,
};
pub use credits::{
    ChargeError, ChargeInput, ChargeReceipt, GrantError, LedgerError, LedgerPage, RefundError,
    LEDGER_PAGE_MAX, MAX_REASON_LENGTH,
};
pub use delivery::{Delivered, OutboxDelivery};
pub use email_change::{ChangeEmailError, EMAIL_CHANGE_TOKEN_PREFIX};
pub use events::{EventPage, ListEventsError, EVENT_PAGE_MAX};
pub use lifecycle::{DeleteAccountError, DISABLE_REASON_MAX_LENGTH};
pub use login::{LoginError, LoginInput, LoginOutcome};
pub use oauth::{ActiveToken, IntrospectError, Introspection, RevokeTokenError};
pub use profile::{ProfileErrors, ProfileUpdate, UpdateProfileError};
pub use purge::Purged;
pub use refresh::RefreshError;
pub use register::{RegisterError, RegisterInput, RegisterOutcome, RegistrationErrors};
pub use reset::{ResetPasswordError, RESET_PASSWORD_PATH, RESET_TOKEN_PREFIX};
pub use sessions::{LogoutScope, RevokeSessionError, SessionView};
pub use throttle::{EmailRequestError, TooManyAttempts};
pub use verification::{
    ResendTarget, VerifyEmailError, VERIFICATION_TOKEN_PREFIX, VERIFY_EMAIL_PATH,
};

use crate::error::PortError;
use crate::model::{SessionId, UserId};
use crate::policy::Policies;
use crate::ports::{
    AccessClaims, AccessTokenCodec, ChallengeRepository, Clock, CredentialRepository, CreditLedger,
    EventLog, HealthCheck, PasswordHasher, RateLimiter, SecretGenerator, SessionRepository,
    UserRepository,
};
use crate::secret::{PlainSecret, TokenHash};

/// Prefix of refresh tokens, so secret scanners can recognise a leaked one.
pub const REFRESH_TOKEN_PREFIX: &str = "lkr_";

/// The Latchkey service: every use case, over a set of ports and policies.
///
/// Built with [`Latchkey::builder`]. Cheap to share: wrap it in an `Arc` (the ports are `Arc`s already).
pub struct Latchkey {
    ports: Ports,
    policies: Policies,
    usage: credentials::UsageLog,
}

impl fmt::Debug for Latchkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latchkey")
            .field("policies", &self.policies)
            .finish_non_exhaustive()
    }
}

/// The adapters a [`Latchkey`] runs on; filled by [`LatchkeyBuilder`].
struct Ports {
    users: Arc<dyn UserRepository>,
    sessions: Arc<dyn SessionRepository>,
    challenges: Arc<dyn ChallengeRepository>,
    credentials: Arc<dyn CredentialRepository>,
    ledger: Arc<dyn CreditLedger>,
    limiter: Arc<dyn RateLimiter>,
    events: Arc<dyn EventLog>,
    health: Arc<dyn HealthCheck>,
    hasher: Arc<dyn PasswordHasher>,
    access_tokens: Arc<dyn AccessTokenCodec>,
    secrets: Arc<dyn SecretGenerator>,
    clock: Arc<dyn Clock>,
}

impl Latchkey {
    /// Starts building a service: set each port, optionally the clock and the policies, then
    /// [`LatchkeyBuilder::build`].
    pub fn builder() -> LatchkeyBuilder {
        LatchkeyBuilder::default()
    }

    /// The policies in force.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Whether the backing store answers; what `/readyz` reports.
    ///
    /// # Errors
    /// [`PortError`] when it does not.
    pub async fn ready(&self) -> Result<(), PortError> {
        self.ports.health.check().await
    }

    fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// Builds the access and refresh token pair of a session at `issued_at`.
    ///
    /// The access token is a pure function of the refresh token and `issued_at`, so a retried rotation rebuilds
    /// exactly the pair it first returned.
    fn token_pair(
        &self,
        user_id: &UserId,
        session_id: &SessionId,
        refresh_token: PlainSecret,
        issued_at: DateTime<Utc>,
        session_ends_at: DateTime<Utc>,
    ) -> Result<TokenPair, PortError> {
        let tokens = &self.policies.tokens;
        // Neither token outlives its session's absolute end (the store caps the refresh token's expiry the same
        // way), so the lifetimes announced are the real ones.
        let access_expires_at = (issued_at + tokens.access_ttl()).min(session_ends_at);
        let refresh_expires_at = (issued_at + tokens.refresh_ttl()).min(session_ends_at);
        let claims = AccessClaims {
            user_id: user_id.clone(),
            session_id: session_id.clone(),
            // Hash of a hash: unique per refresh token, yet reveals nothing about it.
            token_id: TokenHash::of(&refresh_token.hash().to_hex()).to_hex()[..32].to_owned(),
            issued_at,
            expires_at: access_expires_at,
        };
        let now = self.now();
        Ok(TokenPair {
            access_token: PlainSecret::new(self.ports.access_tokens.encode(&claims)?),
            access_expires_in: (access_expires_at - now).num_seconds().max(0),
            refresh_token,
            refresh_expires_in: (refresh_expires_at - now).num_seconds().max(0),
        })
    }
}

/// An access token and a refresh token, as a login or a refresh returns them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenPair {
    /// The signed access token (a JWT with the default codec).
    pub access_token: PlainSecret,
    /// Seconds until the access token expires.
    pub access_expires_in: i64,
    /// The opaque refresh token; only its hash is stored.
    pub refresh_token: PlainSecret,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}
