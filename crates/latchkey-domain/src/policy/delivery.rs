//! How the outbox is delivered: tries, backoff and leases.

use chrono::TimeDelta;

/// Why a delivery policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryPolicyError {
    /// Fewer than 1 or more than 50 tries.
    #[error("the number of delivery tries must be between 1 and 50")]
    Attempts,
    /// A backoff that is not positive, or a first backoff longer than the longest.
    #[error("retry delays must be positive, the first no longer than the longest")]
    Backoff,
}

/// Tries and retry delays of email delivery: exponential backoff from `first_retry`, doubling up to
/// `max_retry`, for at most `max_attempts` tries, after which the email is given up and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    max_attempts: u32,
    first_retry: TimeDelta,
    max_retry: TimeDelta,
    lease: TimeDelta,
}

impl DeliveryPolicy {
    /// Default tries: 8 (about 2 hours of retries with the default delays).
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
    /// Default first retry delay: 30 seconds.
    pub const DEFAULT_FIRST_RETRY: TimeDelta = TimeDelta::seconds(30);
    /// Default longest retry delay: 1 hour.
    pub const DEFAULT_MAX_RETRY: TimeDelta = TimeDelta::hours(1);
    /// How long a claimed email is reserved for the worker that claimed it: far longer than one SMTP exchange may
    /// take, so no other instance takes it over while it is being sent; a worker that died with it releases it
    /// when this runs out.
    pub const LEASE: TimeDelta = TimeDelta::minutes(5);
    /// How long a sent or given-up email stays in the outbox (content erased, recipient and outcome kept) for an
    /// operator looking into a delivery, before [`crate::service::OutboxDelivery::purge_finished`] deletes it.
    pub const FINISHED_RETENTION: TimeDelta = TimeDelta::days(7);

    /// The policy with at most `attempts` tries per email (1 to 50).
    ///
    /// # Errors
    /// [`DeliveryPolicyError::Attempts`].
    pub fn with_max_attempts(self, attempts: u32) -> Result<Self, DeliveryPolicyError> {
        if !(1..=50).contains(&attempts) {
            return Err(DeliveryPolicyError::Attempts);
        }
        Ok(Self {
            max_attempts: attempts,
            ..self
        })
    }

    /// The policy retrying first after `first`, doubling up to `max`.
    ///
    /// # Errors
    /// [`DeliveryPolicyError::Backoff`].
    pub fn with_backoff(
        self,
        first: TimeDelta,
        max: TimeDelta,
    ) -> Result<Self, DeliveryPolicyError> {
        if first <= TimeDelta::zero() || first > max || max > TimeDelta::days(1) {
            return Err(DeliveryPolicyError::Backoff);
        }
        Ok(Self {
            first_retry: first,
            max_retry: max,
            ..self
        })
    }

    /// Tries per email.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How long a claim lasts.
    pub fn lease(&self) -> TimeDelta {
        self.lease
    }

    /// The delay before the try after try number `attempt` (1-based): `first_retry · 2^(attempt-1)`, at most
    /// `max_retry`.
    pub fn retry_delay(&self, attempt: u32) -> TimeDelta {
        let doublings = attempt.saturating_sub(1).min(30);
        self.first_retry
            .checked_mul(1 << doublings)
            .map_or(self.max_retry, |delay| delay.min(self.max_retry))
    }
}

impl Default for DeliveryPolicy {
    /// 8 tries, 30 seconds doubling to 1 hour, 5-minute leases.
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            first_retry: Self::DEFAULT_FIRST_RETRY,
            max_retry: Self::DEFAULT_MAX_RETRY,
            lease: Self::LEASE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = DeliveryPolicy::default();
        let delays: Vec<i64> = (1..=9)
            .map(|a| policy.retry_delay(a).num_seconds())
            .collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(policy.retry_delay(u32::MAX), TimeDelta::hours(1));
        assert!(policy.clone().with_max_attempts(0).is_err());
        assert!(policy
            .with_backoff(TimeDelta::minutes(2), TimeDelta::minutes(1))
            .is_err());
    }
}
