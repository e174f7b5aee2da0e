//! Display names.

/// A person's display name: trimmed, non-empty, at most [`DisplayName::MAX_LENGTH`] characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name accepted, in characters.
    pub const MAX_LENGTH: usize = 100;

    /// Parses a display name.
    ///
    /// # Errors
    /// A message fit to show the user when the name is blank, too long or holds control characters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("must not be blank".into());
        }
        if name.chars().count() > Self::MAX_LENGTH {
            return Err(format!("must be at most {} characters", Self::MAX_LENGTH));
        }
        if name.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(name.to_owned()))
    }

    /// Rebuilds a name read back from storage.
    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
