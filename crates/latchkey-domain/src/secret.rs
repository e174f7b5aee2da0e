//! Opaque secrets (refresh tokens, and later personal tokens and API keys) and their stored form.

use std::fmt;
use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret in plain text, held only between its creation and the one response that shows it.
///
/// `Debug` prints the type name only, so the value cannot reach a log line by accident.
#[derive(Clone)]
pub struct PlainSecret(String);

impl PartialEq for PlainSecret {
    /// Compares the digests in constant time, so equality leaks nothing about where two secrets differ.
    fn eq(&self, other: &Self) -> bool {
        self.hash() == other.hash()
    }
}

impl Eq for PlainSecret {}

impl PlainSecret {
    /// Wraps a secret received from a client or produced by a [`crate::ports::SecretGenerator`].
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain text, for the single place that must show or transmit it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 digest under which the secret is stored and looked up.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret(<redacted>)")
    }
}

/// The SHA-256 digest of an opaque secret: the only form in which secrets are stored.
///
/// Secrets carry at least 128 bits of entropy, so an unsalted fast hash is enough to make a leaked table useless,
/// and it lets the database find a token by its hash in one indexed lookup.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a secret's plain text.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// Rebuilds a hash read back from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Rebuilds a hash from a stored byte slice; `None` unless it is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal, for storage as text and for deriving identifiers.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl PartialEq for TokenHash {
    /// Constant-time, so that comparing a presented secret's hash leaks nothing about the stored one.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Hash for TokenHash {
    /// Hashes the digest bytes, consistent with the constant-time [`PartialEq`].
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash prefix is enough to correlate log lines and reveals nothing usable.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = PlainSecret::new("lkr_super-secret");
        assert!(!format!("{secret:?}").contains("super-secret"));
    }

    #[test]
    fn hash_is_sha256_of_the_plain_text() {
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::of("abc"), PlainSecret::new("abc").hash());
        assert_ne!(TokenHash::of("abc"), TokenHash::of("abd"));
    }
}
