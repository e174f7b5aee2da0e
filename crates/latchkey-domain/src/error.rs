//! Errors shared by every area: the opaque infrastructure failure and field validation.

use std::error::Error as StdError;
use std::fmt;

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

/// One rejected input field, with a message fit to show the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the API spells it (e.g. `password`).
    pub field: &'static str,
    /// What is wrong with it (e.g. `must be at least 8 characters`).
    pub message: String,
}

/// Every field error of one request, so a client can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// A set holding a single error.
    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field,
            message: message.into(),
        }])
    }

    /// Adds one error.
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// Records the error of `result`, if any, and returns its value.
    pub fn collect<T>(&mut self, field: &'static str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.push(field, message);
                None
            }
        }
    }

    /// `true` when no field was rejected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The rejected fields, in the order they were checked.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for error in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{} {}", error.field, error.message)?;
        }
        Ok(())
    }
}

impl StdError for ValidationErrors {}
