//! Policies: the tunable rules, plain data filled from configuration by whoever builds the service.

use chrono::TimeDelta;

use crate::model::Pricing;

/// Every policy the service applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies {
    /// Password length rules.
    pub password: PasswordPolicy,
    /// Token lifetimes.
    pub tokens: TokenPolicy,
    /// Welcome credits and prices.
    pub credits: CreditsPolicy,
}

/// Password rules: length only, counted in characters (NIST SP 800-63B: no composition rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Shortest password accepted (default 8).
    pub min_length: usize,
    /// Longest password accepted (default 256); bounds the work one hash can cost.
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 256,
        }
    }
}

/// Lifetimes of the tokens a login hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Lifetime of an access token (default 15 minutes).
    pub access_ttl: TimeDelta,
    /// Lifetime of a refresh token; each rotation starts a new one (default 30 days).
    pub refresh_ttl: TimeDelta,
    /// How long after a rotation the spent refresh token may be presented again and get the same new pair, so a
    /// client that lost the response can retry (default 10 seconds). After that, presenting it is treated as theft
    /// and revokes the whole session.
    pub refresh_reuse_grace: TimeDelta,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_ttl: TimeDelta::minutes(15),
            refresh_ttl: TimeDelta::days(30),
            refresh_reuse_grace: TimeDelta::seconds(10),
        }
    }
}

/// Credits: what a new account starts with and what each unit costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditsPolicy {
    /// Balance of a new account (default 1000).
    pub welcome_credits: i64,
    /// Price per unit (default `second_video` = 10, `photo` = 100).
    pub pricing: Pricing,
}

impl Default for CreditsPolicy {
    fn default() -> Self {
        Self {
            welcome_credits: 1000,
            pricing: Pricing::from([("second_video".to_owned(), 10), ("photo".to_owned(), 100)]),
        }
    }
}
