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
    /// One of the most common passwords, which are guessed first ([`PasswordPolicy::is_common`]).
    #[error("is one of the most common passwords; choose one that is harder to guess")]
    Common,
    /// The account's email address, the part of it before the `@`, or its username, whatever the case.
    #[error("must not be your email address or username")]
    MatchesAccount,
}

/// A password in plain text, on its way to the hasher.
///
/// It is never truncated, trimmed or case-folded, and `Debug` does not print it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Parses a new password against the policy: its length (counted in characters) and the list of the most
    /// common passwords; no composition rules. What needs the account is checked by
    /// [`Password::check_against_account`], which every use case setting a password also calls.
    ///
    /// # Errors
    /// [`PasswordError::TooShort`] or [`PasswordError::TooLong`] when the password is shorter or longer than the
    /// policy allows, [`PasswordError::Common`] when it is one of the most common passwords.
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
        if policy.is_common(&raw) {
            return Err(PasswordError::Common);
        }
        Ok(Self(raw))
    }

    /// Refuses a new password that names the account it is for: its email address, the email's local part (before
    /// the last `@`), or its username, compared case-insensitively. Those are the first guesses of anyone who knows
    /// the account.
    ///
    /// `email` is taken as the client typed it (a registration checks it before, or even if, the address parses).
    ///
    /// # Errors
    /// [`PasswordError::MatchesAccount`].
    pub fn check_against_account(
        &self,
        email: &str,
        username: Option<&str>,
    ) -> Result<(), PasswordError> {
        let password = self.0.to_lowercase();
        let local_part = email.rsplit_once('@').map(|(local, _)| local);
        let names = [Some(email), local_part, username];
        if names
            .into_iter()
            .flatten()
            .filter(|name| !name.is_empty())
            .any(|name| name.to_lowercase() == password)
        {
            return Err(PasswordError::MatchesAccount);
        }
        Ok(())
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
    fn the_most_common_passwords_are_refused_whatever_their_case() {
        let policy = PasswordPolicy::default();
        for common in ["password", "PASSWORD1", "qwertyuiop", "iloveyou"] {
            assert_eq!(
                Password::parse_new(common.into(), &policy).unwrap_err(),
                PasswordError::Common,
                "{common}"
            );
        }
        assert!(Password::parse_new("correct horse battery".into(), &policy).is_ok());
        let lenient = policy.with_common_passwords_refused(false);
        assert!(Password::parse_new("password".into(), &lenient).is_ok());
        assert_eq!(
            PasswordError::Common.to_string(),
            "is one of the most common passwords; choose one that is harder to guess"
        );
    }

    #[test]
    fn a_password_naming_the_account_is_refused() {
        let policy = PasswordPolicy::default();
        let check = |raw: &str, email: &str, username: Option<&str>| {
            Password::parse_new(raw.into(), &policy)
                .unwrap()
                .check_against_account(email, username)
        };
        let refused = Err(PasswordError::MatchesAccount);
        assert_eq!(
            check("Jane.Doe@Example.com", "jane.doe@example.com", None),
            refused
        );
        assert_eq!(check("JANE.DOE", "jane.doe@example.com", None), refused);
        assert_eq!(
            check("JaneTheGreat", "j@example.com", Some("janethegreat")),
            refused
        );
        // Unicode case folding, not ASCII only.
        assert_eq!(
            check("ÉLODIE-LUMIÈRE", "élodie-lumière@example.com", None),
            refused
        );
        // Containing a name is not equal to it.
        assert_eq!(
            check("jane.doe rocks", "jane.doe@example.com", None),
            Ok(())
        );
        assert_eq!(
            check("example.com", "jane.doe@example.com", Some("jd")),
            Ok(())
        );
        assert_eq!(check("correct horse", "", Some("")), Ok(()));
    }

    #[test]
    fn overlong_passwords_are_not_even_verified() {
        assert!(Password::for_verification("a".repeat(13), &policy()).is_none());
        assert!(Password::for_verification("short".into(), &policy()).is_some());
    }
}
