//! Usernames: an optional second login identifier.

use std::fmt;

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
    /// A message fit to show the user when the length or the alphabet is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.len() < Self::MIN_LENGTH || name.len() > Self::MAX_LENGTH {
            return Err(format!(
                "must be {} to {} characters long",
                Self::MIN_LENGTH,
                Self::MAX_LENGTH
            ));
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err("may contain only letters, digits and underscores".into());
        }
        Ok(Self::from_trusted(name.to_owned()))
    }

    /// Rebuilds a username read back from storage, where it was validated on the way in.
    pub fn from_trusted(name: String) -> Self {
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
        assert!(Username::parse("ab").is_err());
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
