//! Passwords in plain text (briefly) and their stored hashes.

use std::fmt;

use crate::policy::PasswordPolicy;

/// Why a new password was refused. `Display` is a phrase to follow the field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Fewer than `min` characters.
    #[error("must be at least {min} characters")]
    TooShort {
        /// The policy's minimum.
        min: usize,
    },
    /// More than `max` characters.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The policy's maximum.
        max: usize,
    },
}

/// A password in plain text, on its way to the hasher.
///
/// It is never truncated, trimmed or case-folded, and `Debug` does not print it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Parses a new password against the policy (length counted in characters, no composition rules).
    ///
    /// # Errors
    /// [`PasswordError`] when the password is shorter or longer than the policy allows.
    pub fn parse_new(raw: String, policy: &PasswordPolicy) -> Result<Self, PasswordError> {
        let length = raw.chars().count();
        if length < policy.min_length() {
            return Err(PasswordError::TooShort {
                min: policy.min_length(),
            });
        }
        if length > policy.max_length() {
            return Err(PasswordError::TooLong {
                max: policy.max_length(),
            });
        }
        Ok(Self(raw))
    }

    /// Wraps a password to check against a stored hash (a login, a current password).
    ///
    /// Returns `None` when it is longer than any password the policy lets anyone set, so it cannot match and need
    /// not be hashed.
    pub fn for_verification(raw: String, policy: &PasswordPolicy) -> Option<Self> {
        (raw.chars().count() <= policy.max_length()).then_some(Self(raw))
    }

    /// The plain text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format (e.g. `$argon2id$v=19$m=19456,t=2,p=1$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a [`crate::ports::PasswordHasher`] or read back from storage.
    pub fn new(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::default().with_length(8..=12).unwrap()
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        // Seven characters but fourteen bytes: still too short.
        assert_eq!(
            Password::parse_new("ééééééé".into(), &policy()).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        // Twelve characters but 24 bytes: still allowed.
        assert!(Password::parse_new("éééééééééééé".into(), &policy()).is_ok());
        assert_eq!(
            Password::parse_new("a".repeat(13), &policy()).unwrap_err(),
            PasswordError::TooLong { max: 12 }
        );
    }

    #[test]
    fn password_is_kept_exactly_and_never_printed() {
        let password = Password::parse_new(" Secret Pass".into(), &policy()).unwrap();
        assert_eq!(password.expose(), " Secret Pass");
        assert!(!format!("{password:?}").contains("Secret"));
    }

    #[test]
    fn overlong_passwords_are_not_even_verified() {
        assert!(Password::for_verification("a".repeat(13), &policy()).is_none());
        assert!(Password::for_verification("short".into(), &policy()).is_some());
    }
}
