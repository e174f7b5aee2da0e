//! Display names.

/// Why a display name was refused. `Display` is a phrase to follow the field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisplayNameError {
    /// Nothing but whitespace.
    #[error("must not be blank")]
    Blank,
    /// Longer than `max` characters.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The longest name accepted.
        max: usize,
    },
    /// A control character (a newline, a tab, …).
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// A person's display name: trimmed, non-empty, at most [`DisplayName::MAX_LENGTH`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name accepted, in characters.
    pub const MAX_LENGTH: usize = 100;

    /// Parses a display name.
    ///
    /// # Errors
    /// [`DisplayNameError`] when the name is blank, too long or holds control characters.
    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(DisplayNameError::Blank);
        }
        if name.chars().count() > Self::MAX_LENGTH {
            return Err(DisplayNameError::TooLong {
                max: Self::MAX_LENGTH,
            });
        }
        if name.chars().any(char::is_control) {
            return Err(DisplayNameError::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// Rebuilds a name read back from storage (see [`super::User::from_stored`]).
    pub(crate) fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_refused_for_a_reason() {
        assert_eq!(
            DisplayName::parse("  Jane Doe ").unwrap().as_str(),
            "Jane Doe"
        );
        assert_eq!(DisplayName::parse("   "), Err(DisplayNameError::Blank));
        assert_eq!(
            DisplayName::parse(&"a".repeat(101)),
            Err(DisplayNameError::TooLong { max: 100 })
        );
        assert_eq!(
            DisplayName::parse("Jane\nDoe"),
            Err(DisplayNameError::ControlCharacter)
        );
    }
}
