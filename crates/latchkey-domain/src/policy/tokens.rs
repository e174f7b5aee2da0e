//! How long the tokens a login hands out live.

use std::fmt;

use chrono::TimeDelta;

/// Lifetimes of the tokens a login hands out.
///
/// Each lifetime is bounded, so no date arithmetic can overflow and no token outlives what anyone could mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    access_ttl: TimeDelta,
    refresh_ttl: TimeDelta,
    refresh_reuse_grace: TimeDelta,
    session_max_age: TimeDelta,
    max_sessions_per_user: u32,
}

/// Which lifetime of a [`TokenPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifetime {
    /// [`TokenPolicy::access_ttl`].
    Access,
    /// [`TokenPolicy::refresh_ttl`].
    Refresh,
    /// [`TokenPolicy::refresh_reuse_grace`].
    RefreshReuseGrace,
    /// [`TokenPolicy::session_max_age`].
    SessionMaxAge,
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lifetime::Access => "the access token lifetime",
            Lifetime::Refresh => "the refresh token lifetime",
            Lifetime::RefreshReuseGrace => "the refresh token reuse grace",
            Lifetime::SessionMaxAge => "the session maximum age",
        })
    }
}

/// Why a token policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenPolicyError {
    /// A lifetime outside its bounds.
    #[error("{lifetime} must be between {} and {} seconds", .min.num_seconds(), .max.num_seconds())]
    OutOfRange {
        /// The lifetime refused.
        lifetime: Lifetime,
        /// Its shortest allowed value.
        min: TimeDelta,
        /// Its longest allowed value.
        max: TimeDelta,
    },
    /// A cap on live sessions per user outside its bounds.
    #[error("the maximum number of sessions per user must be between {min} and {max}")]
    SessionCapOutOfRange {
        /// The smallest cap allowed.
        min: u32,
        /// The largest cap allowed.
        max: u32,
    },
}

const DAY: i64 = 86_400;

impl TokenPolicy {
    /// Default access token lifetime: 15 minutes.
    pub const DEFAULT_ACCESS_TTL: TimeDelta = TimeDelta::minutes(15);
    /// Default refresh token lifetime: 30 days.
    pub const DEFAULT_REFRESH_TTL: TimeDelta = TimeDelta::days(30);
    /// Default reuse grace: 10 seconds.
    pub const DEFAULT_REFRESH_REUSE_GRACE: TimeDelta = TimeDelta::seconds(10);
    /// Default absolute session lifetime: 90 days.
    pub const DEFAULT_SESSION_MAX_AGE: TimeDelta = TimeDelta::days(90);
    /// Default cap on live sessions per user: 100.
    pub const DEFAULT_MAX_SESSIONS_PER_USER: u32 = 100;
    /// The bounds of [`TokenPolicy::max_sessions_per_user`], inclusive.
    pub const MAX_SESSIONS_PER_USER_BOUNDS: (u32, u32) = (1, 10_000);

    /// The bounds of each lifetime, inclusive.
    pub const fn bounds(lifetime: Lifetime) -> (TimeDelta, TimeDelta) {
        match lifetime {
            Lifetime::Access => (TimeDelta::seconds(1), TimeDelta::seconds(DAY)),
            Lifetime::Refresh => (TimeDelta::seconds(60), TimeDelta::seconds(366 * DAY)),
            // A spent token stays usable by whoever holds it for the grace; a minute covers a retry after a lost
            // response, and anything longer is a window for a thief.
            Lifetime::RefreshReuseGrace => (TimeDelta::zero(), TimeDelta::seconds(60)),
            Lifetime::SessionMaxAge => (TimeDelta::seconds(60), TimeDelta::seconds(3660 * DAY)),
        }
    }

    /// The policy with access tokens living `ttl` (1 second to 1 day).
    ///
    /// # Errors
    /// [`TokenPolicyError::OutOfRange`].
    pub fn with_access_ttl(self, ttl: TimeDelta) -> Result<Self, TokenPolicyError> {
        Ok(Self {
            access_ttl: checked(Lifetime::Access, ttl)?,
            ..self
        })
    }

    /// The policy with refresh tokens living `ttl` from their issue, each rotation starting a new one (1 minute to
    /// 366 days).
    ///
    /// # Errors
    /// [`TokenPolicyError::OutOfRange`].
    pub fn with_refresh_ttl(self, ttl: TimeDelta) -> Result<Self, TokenPolicyError> {
        Ok(Self {
            refresh_ttl: checked(Lifetime::Refresh, ttl)?,
            ..self
        })
    }

    /// The policy with a spent refresh token retriable for `grace` (0 to 60 seconds).
    ///
    /// # Errors
    /// [`TokenPolicyError::OutOfRange`].
    pub fn with_refresh_reuse_grace(self, grace: TimeDelta) -> Result<Self, TokenPolicyError> {
        Ok(Self {
            refresh_reuse_grace: checked(Lifetime::RefreshReuseGrace, grace)?,
            ..self
        })
    }

    /// The policy with every session ending `max_age` after its login, however often it is refreshed (1 minute to
    /// 3660 days).
    ///
    /// # Errors
    /// [`TokenPolicyError::OutOfRange`].
    pub fn with_session_max_age(self, max_age: TimeDelta) -> Result<Self, TokenPolicyError> {
        Ok(Self {
            session_max_age: checked(Lifetime::SessionMaxAge, max_age)?,
            ..self
        })
    }

    /// The policy with at most `max` live sessions per user (1 to 10 000): a login beyond it ends the oldest.
    ///
    /// # Errors
    /// [`TokenPolicyError::SessionCapOutOfRange`].
    pub fn with_max_sessions_per_user(self, max: u32) -> Result<Self, TokenPolicyError> {
        let (min, most) = Self::MAX_SESSIONS_PER_USER_BOUNDS;
        if !(min..=most).contains(&max) {
            return Err(TokenPolicyError::SessionCapOutOfRange { min, max: most });
        }
        Ok(Self {
            max_sessions_per_user: max,
            ..self
        })
    }

    /// Lifetime of an access token.
    pub fn access_ttl(&self) -> TimeDelta {
        self.access_ttl
    }

    /// Lifetime of a refresh token; each rotation starts a new one.
    pub fn refresh_ttl(&self) -> TimeDelta {
        self.refresh_ttl
    }

    /// How long after a rotation the spent refresh token may be presented again and get the same new pair, so a
    /// client that lost the response can retry. After that, presenting it is treated as theft and revokes the
    /// whole session.
    pub fn refresh_reuse_grace(&self) -> TimeDelta {
        self.refresh_reuse_grace
    }

    /// The absolute lifetime of a session, counted from its login: no refresh token of the session lives past it,
    /// so rotation cannot keep a stolen session alive for ever, and access checks refuse the session from then on.
    pub fn session_max_age(&self) -> TimeDelta {
        self.session_max_age
    }

    /// How many live sessions one user may have: a login that would exceed it revokes the user's oldest live
    /// sessions, in the transaction that creates the new one, so a script logging in in a loop cannot grow the
    /// table without bound.
    pub fn max_sessions_per_user(&self) -> u32 {
        self.max_sessions_per_user
    }
}

fn checked(lifetime: Lifetime, value: TimeDelta) -> Result<TimeDelta, TokenPolicyError> {
    let (min, max) = TokenPolicy::bounds(lifetime);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(TokenPolicyError::OutOfRange { lifetime, min, max })
    }
}

impl Default for TokenPolicy {
    /// 15 minutes, 30 days, 10 seconds, 90 days, 100 sessions.
    fn default() -> Self {
        Self {
            access_ttl: Self::DEFAULT_ACCESS_TTL,
            refresh_ttl: Self::DEFAULT_REFRESH_TTL,
            refresh_reuse_grace: Self::DEFAULT_REFRESH_REUSE_GRACE,
            session_max_age: Self::DEFAULT_SESSION_MAX_AGE,
            max_sessions_per_user: Self::DEFAULT_MAX_SESSIONS_PER_USER,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_their_own_bounds() {
        let defaults = TokenPolicy::default();
        let rebuilt = TokenPolicy::default()
            .with_access_ttl(defaults.access_ttl())
            .and_then(|p| p.with_refresh_ttl(defaults.refresh_ttl()))
            .and_then(|p| p.with_refresh_reuse_grace(defaults.refresh_reuse_grace()))
            .and_then(|p| p.with_session_max_age(defaults.session_max_age()))
            .and_then(|p| p.with_max_sessions_per_user(defaults.max_sessions_per_user()));
        assert_eq!(rebuilt, Ok(defaults));
    }

    #[test]
    fn the_session_cap_is_bounded() {
        let policy = TokenPolicy::default();
        for refused in [0, 10_001] {
            assert_eq!(
                policy.clone().with_max_sessions_per_user(refused),
                Err(TokenPolicyError::SessionCapOutOfRange {
                    min: 1,
                    max: 10_000
                })
            );
        }
        let one = policy.with_max_sessions_per_user(1).unwrap();
        assert_eq!(one.max_sessions_per_user(), 1);
    }

    #[test]
    fn the_refresh_reuse_grace_is_capped_at_a_minute() {
        let policy = TokenPolicy::default();
        let minute = TimeDelta::seconds(60);
        assert_eq!(
            policy
                .clone()
                .with_refresh_reuse_grace(minute)
                .map(|p| p.refresh_reuse_grace()),
            Ok(minute)
        );
        assert_eq!(
            policy.with_refresh_reuse_grace(TimeDelta::seconds(61)),
            Err(TokenPolicyError::OutOfRange {
                lifetime: Lifetime::RefreshReuseGrace,
                min: TimeDelta::zero(),
                max: minute,
            })
        );
    }

    #[test]
    fn lifetimes_out_of_bounds_are_refused_naming_the_lifetime() {
        let policy = TokenPolicy::default();
        assert_eq!(
            policy.clone().with_access_ttl(TimeDelta::zero()),
            Err(TokenPolicyError::OutOfRange {
                lifetime: Lifetime::Access,
                min: TimeDelta::seconds(1),
                max: TimeDelta::days(1),
            })
        );
        assert!(policy.clone().with_refresh_ttl(TimeDelta::MAX).is_err());
        assert!(policy
            .clone()
            .with_refresh_reuse_grace(TimeDelta::seconds(-1))
            .is_err());
        assert!(policy
            .clone()
            .with_session_max_age(TimeDelta::seconds(59))
            .is_err());
        let error = policy.with_refresh_ttl(TimeDelta::seconds(59)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the refresh token lifetime must be between 60 and 31622400 seconds"
        );
    }
}
