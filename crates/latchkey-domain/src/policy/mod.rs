//! Policies: the tunable rules. Each validates itself, so a policy that exists is one the service can apply, and
//! each holds its own defaults: the server's configuration defaults are read from here, not restated.
//!
//! Start from `Default` and change what you need; every `with_*` checks its value:
//!
//! ```
//! # use latchkey_domain::{CreditsPolicy, Policies, TokenPolicy};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut policies = Policies::default();
//! policies.tokens = TokenPolicy::default().with_access_ttl(chrono::TimeDelta::minutes(5))?;
//! policies.credits = CreditsPolicy::default().with_welcome_credits(250)?;
//! # Ok(())
//! # }
//! ```

mod credentials;
mod credits;
mod delivery;
mod events;
mod password;
mod throttle;
mod tokens;
mod verification;

pub use credentials::{CredentialPolicy, CredentialPolicyError};
pub use credits::{CreditsPolicy, CreditsPolicyError, WelcomeOn};
pub use delivery::{DeliveryPolicy, DeliveryPolicyError};
pub use events::{EventPolicy, EventPolicyError};
pub use password::{PasswordPolicy, PasswordPolicyError};
pub use throttle::{Rate, RateError, ThrottlePolicy};
pub use tokens::{Lifetime, TokenPolicy, TokenPolicyError};
pub use verification::{
    ChallengePolicyError, ChallengeSetting, PublicUrl, PublicUrlError, ResetPolicy,
    VerificationPolicy,
};

/// Every policy the service applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policies {
    /// Password length rules.
    pub password: PasswordPolicy,
    /// Token lifetimes.
    pub tokens: TokenPolicy,
    /// Welcome credits and prices.
    pub credits: CreditsPolicy,
    /// Email verification.
    pub verification: VerificationPolicy,
    /// Password reset.
    pub reset: ResetPolicy,
    /// The base of every link in an email.
    pub public_url: PublicUrl,
    /// Personal tokens and API keys.
    pub credentials: CredentialPolicy,
    /// Rate limits of the actions an attacker would repeat.
    pub throttle: ThrottlePolicy,
    /// The security event log's retention.
    pub events: EventPolicy,
}
