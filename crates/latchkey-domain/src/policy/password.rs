//! How long a password must and may be.

use std::ops::RangeInclusive;

/// Password rules: length only, counted in characters (NIST SP 800-63B: no composition rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_length: usize,
    max_length: usize,
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
        })
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
    /// 8 to 256 characters.
    fn default() -> Self {
        Self {
            min_length: Self::DEFAULT_MIN_LENGTH,
            max_length: Self::DEFAULT_MAX_LENGTH,
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
}
