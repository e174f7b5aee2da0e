//! How often each throttled action may be attempted, per client address and per account.

use chrono::TimeDelta;

/// At most `max` attempts per `period`: a burst of `max` at once, then one every `period / max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    max: u32,
    period: TimeDelta,
}

/// Why a rate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateError {
    /// The count is outside 1 to 1 000 000.
    #[error("a rate allows 1 to 1000000 attempts")]
    CountOutOfRange,
    /// The period is outside 1 second to 1 day.
    #[error("a rate's period must be between 1 second and 1 day")]
    PeriodOutOfRange,
}

impl Rate {
    /// `max` attempts per `period` (1 to 1 000 000 attempts, 1 second to 1 day).
    ///
    /// # Errors
    /// [`RateError`] for a count or period out of range.
    pub fn new(max: u32, period: TimeDelta) -> Result<Self, RateError> {
        if !(1..=1_000_000).contains(&max) {
            return Err(RateError::CountOutOfRange);
        }
        if !(TimeDelta::seconds(1)..=TimeDelta::days(1)).contains(&period) {
            return Err(RateError::PeriodOutOfRange);
        }
        Ok(Self { max, period })
    }

    /// `new` for the constants below, whose values are in range.
    const fn known(max: u32, period: TimeDelta) -> Self {
        Self { max, period }
    }

    /// The most attempts per period.
    pub fn max(self) -> u32 {
        self.max
    }

    /// The period.
    pub fn period(self) -> TimeDelta {
        self.period
    }

    /// The time one attempt occupies: `period / max`, at least a microsecond (what the stores resolve).
    pub fn interval(self) -> TimeDelta {
        let micros = self.period.num_microseconds().unwrap_or(i64::MAX) / i64::from(self.max);
        TimeDelta::microseconds(micros.max(1))
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}s", self.max, self.period.num_seconds())
    }
}

/// The rates of every throttled action; `None` turns one off.
///
/// Failed attempts are what the login and password-change limits count (a right password gives its attempt back);
/// the other limits count every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottlePolicy {
    /// Failed logins per account (or per unknown identifier, so the answer reveals nothing).
    pub login_per_account: Option<Rate>,
    /// Failed logins per client address.
    pub login_per_address: Option<Rate>,
    /// Failed password changes per account (a stolen session guessing the current password).
    pub password_change_per_account: Option<Rate>,
    /// Email-change requests per account with the right password. Each one mails a new link and code to an address
    /// that may not be the requester's, so without a bound an account could mail any address without end, and
    /// each fresh code would be a fresh set of guesses at claiming an address its requester does not control.
    pub email_change_per_account: Option<Rate>,
    /// Registrations per client address.
    pub registration_per_address: Option<Rate>,
    /// Forgot-password requests per client address.
    pub forgot_password_per_address: Option<Rate>,
    /// Verification resends per client address.
    pub resend_verification_per_address: Option<Rate>,
    /// Verification-code attempts per client address (each code also burns after a few wrong tries).
    pub verify_code_per_address: Option<Rate>,
    /// Refreshes per client address.
    pub refresh_per_address: Option<Rate>,
    /// How long an address where an account logged in stays exempt from that account's login limit, so an
    /// attacker flooding the account from elsewhere cannot lock its owner out.
    pub known_address_ttl: TimeDelta,
}

impl ThrottlePolicy {
    /// 10 failed logins per account per 15 minutes.
    pub const DEFAULT_LOGIN_PER_ACCOUNT: Rate = Rate::known(10, TimeDelta::minutes(15));
    /// 100 failed logins per address per 15 minutes.
    pub const DEFAULT_LOGIN_PER_ADDRESS: Rate = Rate::known(100, TimeDelta::minutes(15));
    /// 10 failed password changes per account per 15 minutes.
    pub const DEFAULT_PASSWORD_CHANGE_PER_ACCOUNT: Rate = Rate::known(10, TimeDelta::minutes(15));
    /// 5 email-change requests per account per hour.
    pub const DEFAULT_EMAIL_CHANGE_PER_ACCOUNT: Rate = Rate::known(5, TimeDelta::hours(1));
    /// 100 registrations, forgot-password requests or resends per address per hour (each).
    pub const DEFAULT_EMAIL_REQUESTS_PER_ADDRESS: Rate = Rate::known(100, TimeDelta::hours(1));
    /// 100 code attempts per address per 15 minutes.
    pub const DEFAULT_VERIFY_CODE_PER_ADDRESS: Rate = Rate::known(100, TimeDelta::minutes(15));
    /// 600 refreshes per address per minute.
    pub const DEFAULT_REFRESH_PER_ADDRESS: Rate = Rate::known(600, TimeDelta::minutes(1));
    /// A login address stays known for 30 days.
    pub const DEFAULT_KNOWN_ADDRESS_TTL: TimeDelta = TimeDelta::days(30);

    /// Every limit off: for tests and for deployments that throttle in front of Latchkey.
    pub fn off() -> Self {
        Self {
            login_per_account: None,
            login_per_address: None,
            password_change_per_account: None,
            email_change_per_account: None,
            registration_per_address: None,
            forgot_password_per_address: None,
            resend_verification_per_address: None,
            verify_code_per_address: None,
            refresh_per_address: None,
            known_address_ttl: Self::DEFAULT_KNOWN_ADDRESS_TTL,
        }
    }
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            login_per_account: Some(Self::DEFAULT_LOGIN_PER_ACCOUNT),
            login_per_address: Some(Self::DEFAULT_LOGIN_PER_ADDRESS),
            password_change_per_account: Some(Self::DEFAULT_PASSWORD_CHANGE_PER_ACCOUNT),
            email_change_per_account: Some(Self::DEFAULT_EMAIL_CHANGE_PER_ACCOUNT),
            registration_per_address: Some(Self::DEFAULT_EMAIL_REQUESTS_PER_ADDRESS),
            forgot_password_per_address: Some(Self::DEFAULT_EMAIL_REQUESTS_PER_ADDRESS),
            resend_verification_per_address: Some(Self::DEFAULT_EMAIL_REQUESTS_PER_ADDRESS),
            verify_code_per_address: Some(Self::DEFAULT_VERIFY_CODE_PER_ADDRESS),
            refresh_per_address: Some(Self::DEFAULT_REFRESH_PER_ADDRESS),
            known_address_ttl: Self::DEFAULT_KNOWN_ADDRESS_TTL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_out_of_range_are_refused() {
        assert_eq!(
            Rate::new(0, TimeDelta::minutes(1)),
            Err(RateError::CountOutOfRange)
        );
        assert_eq!(
            Rate::new(1, TimeDelta::days(2)),
            Err(RateError::PeriodOutOfRange)
        );
        assert_eq!(
            Rate::new(1, TimeDelta::milliseconds(10)),
            Err(RateError::PeriodOutOfRange)
        );
    }

    #[test]
    fn the_interval_spreads_the_period_over_the_attempts() {
        let rate = Rate::new(10, TimeDelta::minutes(15)).unwrap();
        assert_eq!(rate.interval(), TimeDelta::seconds(90));
        assert_eq!(ThrottlePolicy::DEFAULT_LOGIN_PER_ACCOUNT, rate);
    }
}
