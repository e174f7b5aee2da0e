use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};
use latchkey_domain::ports::Clock;

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// A clock showing 2026-01-01T00:00:00Z.
    pub fn starting_at_epoch() -> Self {
        Self::new(DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default())
    }

    /// Moves the clock forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        *crate::lock(&self.now) += by;
    }

    /// Sets the clock.
    pub fn set(&self, now: DateTime<Utc>) {
        *crate::lock(&self.now) = now;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *crate::lock(&self.now)
    }
}
