//! Usernames: an optional second login identifier.

use std::fmt;

/// Why a username was refused. `Display` is a phrase to follow the field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsernameError {
    /// Shorter than `min` or longer than `max` characters.
    #[error("must be {min} to {max} characters long")]
    Length {
        /// The shortest username accepted.
        min: usize,
        /// The longest username accepted.
        max: usize,
    },
    /// A character outside `[A-Za-z0-9_]`.
    #[error("may contain only letters, digits and underscores")]
    InvalidCharacter,
}

/// A username of 3 to 32 characters from `[A-Za-z0-9_]`, unique case-insensitively.
#[derive(Debug, Clone)]
pub struct Username {
    name: String,
    key: String,
}

impl Username {
    /// Shortest username accepted.
    pub const MIN_LENGTH: usize = 3;
    /// Longest username accepted.
    pub const MAX_LENGTH: usize = 32;

    /// Parses a username.
    ///
    /// # Errors
    /// [`UsernameError`] when the length or the alphabet is wrong.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let name = raw.trim();
        if name.len() < Self::MIN_LENGTH || name.len() > Self::MAX_LENGTH {
            return Err(UsernameError::Length {
                min: Self::MIN_LENGTH,
                max: Self::MAX_LENGTH,
            });
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(UsernameError::InvalidCharacter);
        }
        Ok(Self::from_stored(name.to_owned()))
    }

    /// Rebuilds a username read back from storage, where it was validated on the way in (see
    /// [`super::User::from_stored`]).
    pub(crate) fn from_stored(name: String) -> Self {
        let key = name.to_ascii_lowercase();
        Self { name, key }
    }

    /// The username as the user spelled it.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The case-folded form under which the username is unique.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Username {}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_alphabet_are_enforced() {
        assert_eq!(
            Username::parse("ab"),
            Err(UsernameError::Length { min: 3, max: 32 })
        );
        assert_eq!(
            Username::parse("jane.doe"),
            Err(UsernameError::InvalidCharacter)
        );
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert!(Username::parse("jane.doe").is_err());
        assert!(Username::parse("jané").is_err());
        assert_eq!(
            Username::parse("Jane_D").unwrap(),
            Username::parse("jane_d").unwrap()
        );
    }
}
