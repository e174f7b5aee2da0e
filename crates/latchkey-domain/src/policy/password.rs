//! How long a password must and may be, and which passwords are too common to accept.

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::sync::OnceLock;

/// The 10 000 most common passwords of a public breach corpus, lowercase, one per line (source and licence in
/// `data/README.md`). Compiled in: nothing is fetched at run time.
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Password rules (NIST SP 800-63B): a length counted in characters, and no password from a list of the most common
/// ones; no composition rules. A new password equal to the account's email address or username is refused too
/// ([`crate::Password::check_against_account`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
    refuse_common: bool,
}

/// Why a password policy was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordPolicyError {
    /// A minimum of zero would accept the empty password.
    #[error("the shortest password allowed must be at least 1 character")]
    ZeroMinimum,
    /// The minimum exceeds the maximum, so no password would do.
    #[error("the shortest password allowed ({min}) exceeds the longest ({max})")]
    Inverted {
        /// The minimum asked for.
        min: usize,
        /// The maximum asked for.
        max: usize,
    },
}

impl PasswordPolicy {
    /// Default shortest password.
    pub const DEFAULT_MIN_LENGTH: usize = 8;
    /// Default longest password; bounds the work one hash can cost.
    pub const DEFAULT_MAX_LENGTH: usize = 256;

    /// The policy with passwords of `length` characters (e.g. `8..=256`).
    ///
    /// # Errors
    /// [`PasswordPolicyError`] for an empty range or one that admits the empty password.
    pub fn with_length(self, length: RangeInclusive<usize>) -> Result<Self, PasswordPolicyError> {
        let (min, max) = length.into_inner();
        if min == 0 {
            return Err(PasswordPolicyError::ZeroMinimum);
        }
        if min > max {
            return Err(PasswordPolicyError::Inverted { min, max });
        }
        Ok(Self {
            min_length: min,
            max_length: max,
            ..self
        })
    }

    /// The policy refusing (`true`, the default) or accepting the most common passwords. Turn it off only for tests
    /// that need a weak password.
    #[must_use]
    pub fn with_common_passwords_refused(self, refuse: bool) -> Self {
        Self {
            refuse_common: refuse,
            ..self
        }
    }

    /// Whether `password` is refused as one of the most common passwords, compared case-insensitively (`Password1`
    /// is guessed as early as `password1`). Always `false` when the policy accepts common passwords.
    ///
    /// The list is a hash set built on first use, so a check costs one lowercase copy and one lookup.
    pub fn is_common(&self, password: &str) -> bool {
        static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
        self.refuse_common
            && SET
                .get_or_init(|| COMMON_PASSWORDS.lines().collect())
                .contains(password.to_lowercase().as_str())
    }

    /// Shortest password accepted, in characters.
    pub fn min_length(&self) -> usize {
        self.min_length
    }

    /// Longest password accepted, in characters.
    pub fn max_length(&self) -> usize {
        self.max_length
    }
}

impl Default for PasswordPolicy {
    /// 8 to 256 characters, the most common passwords refused.
    fn default() -> Self {
        Self {
            min_length: Self::DEFAULT_MIN_LENGTH,
            max_length: Self::DEFAULT_MAX_LENGTH,
            refuse_common: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_ranges_must_admit_a_non_empty_password() {
        let policy = PasswordPolicy::default().with_length(12..=64).unwrap();
        assert_eq!((policy.min_length(), policy.max_length()), (12, 64));
        assert_eq!(
            PasswordPolicy::default().with_length(0..=64),
            Err(PasswordPolicyError::ZeroMinimum)
        );
        let (min, max) = (300, 256);
        assert_eq!(
            PasswordPolicy::default().with_length(min..=max),
            Err(PasswordPolicyError::Inverted { min: 300, max: 256 })
        );
        assert!(PasswordPolicy::default().with_length(1..=1).is_ok());
    }

    #[test]
    fn the_common_list_is_the_top_10_000_and_is_searched_case_insensitively() {
        assert_eq!(COMMON_PASSWORDS.lines().count(), 10_000);
        let policy = PasswordPolicy::default();
        for common in [
            "password",
            "12345678",
            "Password1",
            "QWERTYUI",
            "iloveyou",
            "eyphed",
        ] {
            assert!(policy.is_common(common), "{common}");
        }
        for uncommon in ["correct horse battery", "password 1", "", "pässword"] {
            assert!(!policy.is_common(uncommon), "{uncommon}");
        }
        let lenient = policy.with_common_passwords_refused(false);
        assert!(!lenient.is_common("password"));
        // Changing the length keeps the list setting.
        assert!(!lenient.with_length(4..=8).unwrap().is_common("password"));
    }
}
