//! The error shared by every area: the opaque infrastructure failure.

use std::error::Error as StdError;
use std::time::Duration;

/// An infrastructure failure behind a port (database down, pool exhausted, hashing pool gone or full).
///
/// It is deliberately opaque: callers cannot branch on what failed, only report it. The one thing they may learn is
/// whether the failure is an *overload* ([`PortError::retry_after`]): the adapter refused work it had no room to
/// queue, nothing is broken, and the client should come back after the hinted delay. Every use case passes a
/// `PortError` on unchanged, so the overload reaches the caller without any use case knowing which adapter
/// refused.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct PortError {
    context: &'static str,
    #[source]
    source: Box<dyn StdError + Send + Sync>,
    retry_after: Option<Duration>,
}

/// The source of an overload: the adapter's queue was full.
#[derive(Debug, thiserror::Error)]
#[error("overloaded: no room to queue the work")]
struct Overloaded;

impl PortError {
    /// Wraps an adapter's error with a short, non-secret description of what was being attempted.
    pub fn new(context: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            context,
            source: source.into(),
            retry_after: None,
        }
    }

    /// An adapter refused work because its queue is full (e.g. the password hasher under a login flood); the client
    /// may retry after `retry_after`.
    pub fn overloaded(context: &'static str, retry_after: Duration) -> Self {
        Self {
            context,
            source: Box::new(Overloaded),
            retry_after: Some(retry_after),
        }
    }

    /// What was being attempted when the failure happened.
    pub fn context(&self) -> &'static str {
        self.context
    }

    /// For an overload ([`PortError::overloaded`]), how long the client should wait before retrying; `None` for
    /// any other failure.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_overload_carries_a_retry_hint() {
        assert_eq!(PortError::new("query", "down").retry_after(), None);
        let overloaded = PortError::overloaded("hash password", Duration::from_secs(2));
        assert_eq!(overloaded.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(overloaded.context(), "hash password");
    }
}
