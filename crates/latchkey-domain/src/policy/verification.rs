//! Email verification and password reset: lifetimes, tries, throttles, and where links point.

use std::fmt;

use chrono::TimeDelta;

/// Which setting of a [`VerificationPolicy`] or [`ResetPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeSetting {
    /// [`VerificationPolicy::link_ttl`].
    LinkTtl,
    /// [`VerificationPolicy::code_ttl`].
    CodeTtl,
    /// [`VerificationPolicy::max_attempts`].
    MaxAttempts,
    /// [`VerificationPolicy::resend_interval`].
    ResendInterval,
    /// [`ResetPolicy::ttl`].
    ResetTtl,
    /// [`ResetPolicy::min_interval`].
    ResetInterval,
}

impl fmt::Display for ChallengeSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LinkTtl => "the verification link lifetime",
            Self::CodeTtl => "the verification code lifetime",
            Self::MaxAttempts => "the number of tries of a verification code",
            Self::ResendInterval => "the interval between verification emails",
            Self::ResetTtl => "the reset link lifetime",
            Self::ResetInterval => "the interval between reset emails",
        })
    }
}

/// Why a verification or reset policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengePolicyError {
    /// A duration outside its bounds.
    #[error("{setting} must be between {} and {} seconds", .min.num_seconds(), .max.num_seconds())]
    OutOfRange {
        /// The setting refused.
        setting: ChallengeSetting,
        /// Its smallest allowed value.
        min: TimeDelta,
        /// Its largest allowed value.
        max: TimeDelta,
    },
    /// A count outside its bounds.
    #[error("{setting} must be between {min} and {max}")]
    CountOutOfRange {
        /// The setting refused.
        setting: ChallengeSetting,
        /// Its smallest allowed value.
        min: u32,
        /// Its largest allowed value.
        max: u32,
    },
}

const DAY: TimeDelta = TimeDelta::days(1);

fn checked(
    setting: ChallengeSetting,
    value: TimeDelta,
    (min, max): (TimeDelta, TimeDelta),
) -> Result<TimeDelta, ChallengePolicyError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(ChallengePolicyError::OutOfRange { setting, min, max })
    }
}

/// How email addresses are verified: a link and a 6-digit code per email, either of which verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationPolicy {
    required_for_login: bool,
    link_ttl: TimeDelta,
    code_ttl: TimeDelta,
    max_attempts: u32,
    resend_interval: TimeDelta,
}

impl VerificationPolicy {
    /// Default link lifetime: 24 hours.
    pub const DEFAULT_LINK_TTL: TimeDelta = TimeDelta::hours(24);
    /// Default code lifetime: 15 minutes.
    pub const DEFAULT_CODE_TTL: TimeDelta = TimeDelta::minutes(15);
    /// Default wrong tries before a code burns: 5.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
    /// Default least time between two verification emails to one account: 1 minute.
    pub const DEFAULT_RESEND_INTERVAL: TimeDelta = TimeDelta::minutes(1);
    /// Digits of a code.
    pub const CODE_DIGITS: u32 = 6;

    /// The policy requiring (or not) a verified address before a login succeeds.
    pub fn with_required_for_login(self, required: bool) -> Self {
        Self {
            required_for_login: required,
            ..self
        }
    }

    /// The policy with links living `ttl` (5 minutes to 30 days).
    ///
    /// # Errors
    /// [`ChallengePolicyError::OutOfRange`].
    pub fn with_link_ttl(self, ttl: TimeDelta) -> Result<Self, ChallengePolicyError> {
        let bounds = (TimeDelta::minutes(5), DAY * 30);
        Ok(Self {
            link_ttl: checked(ChallengeSetting::LinkTtl, ttl, bounds)?,
            ..self
        })
    }

    /// The policy with codes living `ttl` (1 minute to 1 day).
    ///
    /// # Errors
    /// [`ChallengePolicyError::OutOfRange`].
    pub fn with_code_ttl(self, ttl: TimeDelta) -> Result<Self, ChallengePolicyError> {
        let bounds = (TimeDelta::minutes(1), DAY);
        Ok(Self {
            code_ttl: checked(ChallengeSetting::CodeTtl, ttl, bounds)?,
            ..self
        })
    }

    /// The policy burning a code after `attempts` wrong tries (1 to 10: each try is a one-in-a-million guess).
    ///
    /// # Errors
    /// [`ChallengePolicyError::CountOutOfRange`].
    pub fn with_max_attempts(self, attempts: u32) -> Result<Self, ChallengePolicyError> {
        let (min, max) = (1, 10);
        if !(min..=max).contains(&attempts) {
            return Err(ChallengePolicyError::CountOutOfRange {
                setting: ChallengeSetting::MaxAttempts,
                min,
                max,
            });
        }
        Ok(Self {
            max_attempts: attempts,
            ..self
        })
    }

    /// The policy sending at most one verification email per account per `interval` (0 to 1 day).
    ///
    /// # Errors
    /// [`ChallengePolicyError::OutOfRange`].
    pub fn with_resend_interval(self, interval: TimeDelta) -> Result<Self, ChallengePolicyError> {
        let bounds = (TimeDelta::zero(), DAY);
        Ok(Self {
            resend_interval: checked(ChallengeSetting::ResendInterval, interval, bounds)?,
            ..self
        })
    }

    /// Whether a login needs a verified address (refused with `EmailNotVerified` after the password check).
    pub fn required_for_login(&self) -> bool {
        self.required_for_login
    }

    /// How long a verification link works.
    pub fn link_ttl(&self) -> TimeDelta {
        self.link_ttl
    }

    /// How long a verification code works.
    pub fn code_ttl(&self) -> TimeDelta {
        self.code_ttl
    }

    /// Wrong tries after which a code is burnt.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Least time between two verification emails to one account; requests in between send nothing.
    pub fn resend_interval(&self) -> TimeDelta {
        self.resend_interval
    }
}

impl Default for VerificationPolicy {
    /// Not required for login; 24 hours, 15 minutes, 5 tries, 1 minute.
    fn default() -> Self {
        Self {
            required_for_login: false,
            link_ttl: Self::DEFAULT_LINK_TTL,
            code_ttl: Self::DEFAULT_CODE_TTL,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            resend_interval: Self::DEFAULT_RESEND_INTERVAL,
        }
    }
}

/// How passwords are reset: a single-use link by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetPolicy {
    ttl: TimeDelta,
    min_interval: TimeDelta,
}

impl ResetPolicy {
    /// Default link lifetime: 15 minutes.
    pub const DEFAULT_TTL: TimeDelta = TimeDelta::minutes(15);
    /// Default least time between two reset emails to one account: 1 minute.
    pub const DEFAULT_MIN_INTERVAL: TimeDelta = TimeDelta::minutes(1);

    /// The policy with reset links living `ttl` (1 minute to 1 day).
    ///
    /// # Errors
    /// [`ChallengePolicyError::OutOfRange`].
    pub fn with_ttl(self, ttl: TimeDelta) -> Result<Self, ChallengePolicyError> {
        let bounds = (TimeDelta::minutes(1), DAY);
        Ok(Self {
            ttl: checked(ChallengeSetting::ResetTtl, ttl, bounds)?,
            ..self
        })
    }

    /// The policy sending at most one reset email per account per `interval` (0 to 1 day).
    ///
    /// # Errors
    /// [`ChallengePolicyError::OutOfRange`].
    pub fn with_min_interval(self, interval: TimeDelta) -> Result<Self, ChallengePolicyError> {
        let bounds = (TimeDelta::zero(), DAY);
        Ok(Self {
            min_interval: checked(ChallengeSetting::ResetInterval, interval, bounds)?,
            ..self
        })
    }

    /// How long a reset link works.
    pub fn ttl(&self) -> TimeDelta {
        self.ttl
    }

    /// Least time between two reset emails to one account; requests in between send nothing (and answer the same).
    pub fn min_interval(&self) -> TimeDelta {
        self.min_interval
    }
}

impl Default for ResetPolicy {
    /// 15 minutes, 1 minute.
    fn default() -> Self {
        Self {
            ttl: Self::DEFAULT_TTL,
            min_interval: Self::DEFAULT_MIN_INTERVAL,
        }
    }
}

/// The address people reach this service at, from which every link in an email is built. Configured, never taken
/// from a request's `Host` or `X-Forwarded-Host`, which a client controls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

/// Why a public URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicUrlError {
    /// Not `http://host…` or `https://host…`, or it has a query, fragment, user info or white space.
    #[error("must be an http:// or https:// URL without query, fragment or credentials")]
    Malformed,
}

impl PublicUrl {
    /// Parses a base URL such as `https://auth.example.com` or `https://example.com/auth/` (a trailing `/` is
    /// dropped).
    ///
    /// # Errors
    /// [`PublicUrlError::Malformed`].
    pub fn parse(raw: &str) -> Result<Self, PublicUrlError> {
        let url = raw.trim().trim_end_matches('/');
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or(PublicUrlError::Malformed)?;
        let host = rest.split('/').next().unwrap_or_default();
        let clean = !host.is_empty()
            && !host.contains('@')
            && !url.contains(['?', '#'])
            && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        if clean {
            Ok(Self(url.to_owned()))
        } else {
            Err(PublicUrlError::Malformed)
        }
    }

    /// The URL without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{self}{path}?token={token}`; the token is URL-safe by construction.
    pub(crate) fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.0)
    }
}

impl Default for PublicUrl {
    /// `http://127.0.0.1:8080`, the server's default listen address.
    fn default() -> Self {
        Self("http://127.0.0.1:8080".to_owned())
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_their_own_bounds() {
        let v = VerificationPolicy::default();
        let rebuilt = VerificationPolicy::default()
            .with_link_ttl(v.link_ttl())
            .and_then(|p| p.with_code_ttl(v.code_ttl()))
            .and_then(|p| p.with_max_attempts(v.max_attempts()))
            .and_then(|p| p.with_resend_interval(v.resend_interval()));
        assert_eq!(rebuilt, Ok(v));
        let r = ResetPolicy::default();
        let rebuilt = ResetPolicy::default()
            .with_ttl(r.ttl())
            .and_then(|p| p.with_min_interval(r.min_interval()));
        assert_eq!(rebuilt, Ok(r));
    }

    #[test]
    fn out_of_range_values_are_refused_naming_the_setting() {
        let error = VerificationPolicy::default()
            .with_code_ttl(TimeDelta::seconds(30))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the verification code lifetime must be between 60 and 86400 seconds"
        );
        assert!(VerificationPolicy::default().with_max_attempts(0).is_err());
        assert!(VerificationPolicy::default()
            .with_resend_interval(TimeDelta::seconds(-1))
            .is_err());
        assert!(ResetPolicy::default().with_ttl(TimeDelta::days(2)).is_err());
    }

    #[test]
    fn public_urls_are_plain_bases() {
        assert_eq!(
            PublicUrl::parse("https://auth.example.com/")
                .unwrap()
                .as_str(),
            "https://auth.example.com"
        );
        assert_eq!(
            PublicUrl::parse("http://127.0.0.1:8080/latchkey")
                .unwrap()
                .link("/verify-email", "abc"),
            "http://127.0.0.1:8080/latchkey/verify-email?token=abc"
        );
        for bad in [
            "",
            "ftp://x",
            "https://",
            "https://a@b",
            "https://x/?q",
            "https://x y",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
