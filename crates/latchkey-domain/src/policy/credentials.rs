//! Limits of long-lived credentials: how long a personal token may live, how many a user may hold, and how API keys
//! are recognised.

use chrono::TimeDelta;

/// Personal tokens and API keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialPolicy {
    max_token_lifetime: TimeDelta,
    max_per_user: usize,
    api_key_prefix: String,
}

/// Why a credential policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialPolicyError {
    /// The longest personal token lifetime is outside 1 day to 10 years.
    #[error("the longest personal token lifetime must be between 1 and 3660 days")]
    LifetimeOutOfRange,
    /// The per-user limit is outside 1 to 1000.
    #[error("the number of personal tokens or API keys per user must be between 1 and 1000")]
    LimitOutOfRange,
    /// The API key prefix is unusable.
    #[error(
        "the API key prefix must be 2 to 16 ASCII letters, digits or `_`, end with `_`, and differ from `lk_pat_` \
         and `lkr_`"
    )]
    BadPrefix,
}

impl CredentialPolicy {
    /// Personal tokens may live at most a year by default.
    pub const DEFAULT_MAX_TOKEN_LIFETIME: TimeDelta = TimeDelta::days(365);
    /// At most 50 live personal tokens, and 50 live API keys, per user by default.
    pub const DEFAULT_MAX_PER_USER: usize = 50;
    /// API keys start with `sk_live_` by default.
    pub const DEFAULT_API_KEY_PREFIX: &'static str = "sk_live_";
    /// Personal tokens start with this; not configurable, since a bearer token is told apart from a JWT by it.
    pub const PERSONAL_TOKEN_PREFIX: &'static str = "lk_pat_";

    /// The policy with personal tokens living at most `lifetime` (1 day to 10 years).
    ///
    /// # Errors
    /// [`CredentialPolicyError::LifetimeOutOfRange`].
    pub fn with_max_token_lifetime(
        self,
        lifetime: TimeDelta,
    ) -> Result<Self, CredentialPolicyError> {
        if !(TimeDelta::days(1)..=TimeDelta::days(3660)).contains(&lifetime) {
            return Err(CredentialPolicyError::LifetimeOutOfRange);
        }
        Ok(Self {
            max_token_lifetime: lifetime,
            ..self
        })
    }

    /// The policy allowing `limit` live personal tokens and `limit` live API keys per user (1 to 1000).
    ///
    /// # Errors
    /// [`CredentialPolicyError::LimitOutOfRange`].
    pub fn with_max_per_user(self, limit: usize) -> Result<Self, CredentialPolicyError> {
        if !(1..=1000).contains(&limit) {
            return Err(CredentialPolicyError::LimitOutOfRange);
        }
        Ok(Self {
            max_per_user: limit,
            ..self
        })
    }

    /// The policy with API keys starting with `prefix`, e.g. `sk_test_` for a staging deployment.
    ///
    /// # Errors
    /// [`CredentialPolicyError::BadPrefix`] unless it is 2 to 16 ASCII letters, digits or `_`, ends with `_`, and is
    /// not one of the other secrets' prefixes.
    pub fn with_api_key_prefix(self, prefix: &str) -> Result<Self, CredentialPolicyError> {
        let well_formed = (2..=16).contains(&prefix.len())
            && prefix.ends_with('_')
            && prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        let distinct = ![
            Self::PERSONAL_TOKEN_PREFIX,
            crate::service::REFRESH_TOKEN_PREFIX,
        ]
        .iter()
        .any(|other| other.starts_with(prefix) || prefix.starts_with(other));
        if !(well_formed && distinct) {
            return Err(CredentialPolicyError::BadPrefix);
        }
        Ok(Self {
            api_key_prefix: prefix.to_owned(),
            ..self
        })
    }

    /// The longest a personal token may live.
    pub fn max_token_lifetime(&self) -> TimeDelta {
        self.max_token_lifetime
    }

    /// How many live personal tokens, and how many live API keys, a user may hold.
    pub fn max_per_user(&self) -> usize {
        self.max_per_user
    }

    /// What API keys start with.
    pub fn api_key_prefix(&self) -> &str {
        &self.api_key_prefix
    }
}

impl Default for CredentialPolicy {
    /// One year, 50 each, `sk_live_`.
    fn default() -> Self {
        Self {
            max_token_lifetime: Self::DEFAULT_MAX_TOKEN_LIFETIME,
            max_per_user: Self::DEFAULT_MAX_PER_USER,
            api_key_prefix: Self::DEFAULT_API_KEY_PREFIX.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_their_own_checks() {
        let defaults = CredentialPolicy::default();
        let rebuilt = CredentialPolicy::default()
            .with_max_token_lifetime(defaults.max_token_lifetime())
            .and_then(|p| p.with_max_per_user(defaults.max_per_user()))
            .and_then(|p| p.with_api_key_prefix(defaults.api_key_prefix()));
        assert_eq!(rebuilt, Ok(defaults));
    }

    #[test]
    fn unusable_values_are_refused() {
        let policy = CredentialPolicy::default();
        assert!(policy
            .clone()
            .with_max_token_lifetime(TimeDelta::hours(1))
            .is_err());
        assert!(policy.clone().with_max_per_user(0).is_err());
        for prefix in [
            "",
            "sk",
            "sk-live_",
            "lk_pat_",
            "lk_",
            "lkr_",
            "a_very_long_prefix_",
        ] {
            assert_eq!(
                policy.clone().with_api_key_prefix(prefix),
                Err(CredentialPolicyError::BadPrefix),
                "{prefix}"
            );
        }
        assert!(policy.with_api_key_prefix("sk_test_").is_ok());
    }
}
