//! Opaque secrets (refresh tokens, personal tokens, API keys) and their stored form.

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
        // By hand rather than `format!("{byte:02x}")` per byte: that allocated 32 strings per hash, and a login
        // encodes several (about 38 000 instructions a login, under callgrind).
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(self.0.len() * 2);
        for byte in self.0 {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        hex
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

/// Characters of the checksum that ends every personal token and API key.
pub const CHECKSUM_LENGTH: usize = 6;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The checksum of a long-lived credential's text before it: CRC-32 in six base-62 digits.
///
/// Not a security measure (the secret's entropy is); it lets the server refuse a mistyped or truncated secret
/// without a database query, and lets secret scanners tell a real token from a look-alike.
fn checksum(text: &str) -> [u8; CHECKSUM_LENGTH] {
    let mut value = crc32fast::hash(text.as_bytes());
    let mut digits = [b'0'; CHECKSUM_LENGTH];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits
}

/// A personal token or API key: `prefix`, then `body` (the random part), then its [`CHECKSUM_LENGTH`]-character
/// checksum.
pub fn checksummed(prefix: &str, body: &str) -> PlainSecret {
    let text = format!("{prefix}{body}");
    let sum = checksum(&text);
    PlainSecret(format!("{text}{}", String::from_utf8_lossy(&sum)))
}

/// Whether `secret` starts with `prefix` and ends with the checksum of what precedes it.
pub fn has_valid_checksum(secret: &str, prefix: &str) -> bool {
    if !secret.starts_with(prefix) || secret.len() <= prefix.len() + CHECKSUM_LENGTH {
        return false;
    }
    let Some((text, sum)) = secret
        .is_char_boundary(secret.len() - CHECKSUM_LENGTH)
        .then(|| secret.split_at(secret.len() - CHECKSUM_LENGTH))
    else {
        return false;
    };
    checksum(text).as_slice() == sum.as_bytes()
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

    #[test]
    fn checksummed_secrets_verify_and_any_typo_or_truncation_fails() {
        let secret = checksummed("lk_pat_", "Xb3q9KzR0aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
        let text = secret.expose();
        assert!(has_valid_checksum(text, "lk_pat_"));
        assert!(!has_valid_checksum(text, "sk_live_"), "another prefix");
        assert!(
            !has_valid_checksum(&text[..text.len() - 1], "lk_pat_"),
            "truncated"
        );
        let mut typo = text.to_owned();
        typo.replace_range(10..11, if &text[10..11] == "a" { "b" } else { "a" });
        assert!(
            !has_valid_checksum(&typo, "lk_pat_"),
            "one character changed"
        );
        for junk in ["", "lk_pat_", "lk_pat_abcdef", "lk_pat_é", "lk_pat_ééééééé"] {
            assert!(!has_valid_checksum(junk, "lk_pat_"), "{junk}");
        }
    }
}
