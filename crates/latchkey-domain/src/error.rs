//! The error shared by every area: the opaque infrastructure failure.

use std::error::Error as StdError;

/// An infrastructure failure behind a port (database down, pool exhausted, hashing pool gone).
///
/// It is deliberately opaque: callers cannot branch on it, only report it. The source chain is kept for logs.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct PortError {
    context: &'static str,
    #[source]
    source: Box<dyn StdError + Send + Sync>,
}

impl PortError {
    /// Wraps an adapter's error with a short, non-secret description of what was being attempted.
    pub fn new(context: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            context,
            source: source.into(),
        }
    }

    /// What was being attempted when the failure happened.
    pub fn context(&self) -> &'static str {
        self.context
    }
}
