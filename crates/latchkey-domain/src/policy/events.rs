//! How long security events are kept.

use chrono::TimeDelta;

/// The security event log's retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPolicy {
    retention: TimeDelta,
}

/// Why an event policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventPolicyError {
    /// The retention is outside 1 day to 10 years.
    #[error("the event retention must be between 1 day and 3660 days")]
    RetentionOutOfRange,
}

impl EventPolicy {
    /// Events are kept a year by default: long enough to investigate an incident noticed late.
    pub const DEFAULT_RETENTION: TimeDelta = TimeDelta::days(365);

    /// The policy keeping events for `retention` (1 day to 10 years).
    ///
    /// # Errors
    /// [`EventPolicyError::RetentionOutOfRange`].
    pub fn with_retention(self, retention: TimeDelta) -> Result<Self, EventPolicyError> {
        if !(TimeDelta::days(1)..=TimeDelta::days(3660)).contains(&retention) {
            return Err(EventPolicyError::RetentionOutOfRange);
        }
        Ok(Self { retention })
    }

    /// How long an event is kept.
    pub fn retention(self) -> TimeDelta {
        self.retention
    }
}

impl Default for EventPolicy {
    fn default() -> Self {
        Self {
            retention: Self::DEFAULT_RETENTION,
        }
    }
}
