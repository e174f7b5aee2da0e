use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use latchkey_domain::ports::SecretGenerator;
use latchkey_domain::{PlainSecret, TokenHash};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;

/// Alphabet of identifiers: lower-case letters and digits, so ids survive case-insensitive systems.
const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// 26 symbols of a 36-letter alphabet: about 134 bits.
const ID_LENGTH: usize = 26;
/// 256 bits per secret.
const SECRET_BYTES: usize = 32;

/// A fresh 32-byte key from the OS CSPRNG.
pub fn random_key() -> [u8; 32] {
    random_bytes()
}

/// `N` bytes from the OS CSPRNG in one read. (`OsRng.gen::<[u8; N]>()` draws each byte on its own: N system calls.)
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Identifiers and secrets from the operating system's CSPRNG.
///
/// Successors of rotated secrets are `HMAC-SHA256(rotation_key, parent)`: deterministic for a retried rotation,
/// unpredictable to anyone without the key. Codes are stored as `HMAC-SHA256(code_key, code)`, with a key derived
/// from the rotation key, so a database reader cannot try the million six-digit codes against them. Every instance
/// sharing a database must share the key.
#[derive(Clone)]
pub struct OsSecrets {
    rotation_key: [u8; 32],
    code_key: [u8; 32],
}

impl std::fmt::Debug for OsSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OsSecrets { rotation_key: <redacted>, code_key: <redacted> }")
    }
}

impl OsSecrets {
    /// A generator deriving rotation successors with `rotation_key` (and the key of code hashes from it).
    pub fn new(rotation_key: [u8; 32]) -> Self {
        Self {
            rotation_key,
            code_key: hmac_sha256(&rotation_key, b"latchkey/code-hash/v1"),
        }
    }

    /// Derives the rotation key from a longer-lived master secret (such as the JWT secret), so one configured
    /// secret serves both without the two uses ever sharing a key.
    pub fn derived_from(master_secret: &[u8]) -> Self {
        Self::new(hmac_sha256(
            master_secret,
            b"latchkey/refresh-token-rotation/v1",
        ))
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

impl SecretGenerator for OsSecrets {
    fn new_id(&self) -> String {
        // One read from the OS per id (drawing each symbol separately made 26 or more system calls of 4 bytes,
        // over a hundred per login). A byte maps to a symbol only below the largest multiple of the alphabet's
        // size, so every symbol stays equally likely; 64 bytes hold the 26 accepted ones all but always.
        const UNBIASED_BELOW: usize = 256 / ID_ALPHABET.len() * ID_ALPHABET.len();
        let mut id = String::with_capacity(ID_LENGTH);
        let mut bytes = [0u8; 64];
        while id.len() < ID_LENGTH {
            OsRng.fill_bytes(&mut bytes);
            let symbols = bytes
                .iter()
                .filter(|&&byte| usize::from(byte) < UNBIASED_BELOW)
                .map(|&byte| char::from(ID_ALPHABET[usize::from(byte) % ID_ALPHABET.len()]));
            id.extend(symbols.take(ID_LENGTH - id.len()));
        }
        id
    }

    fn new_secret(&self, prefix: &str) -> PlainSecret {
        let bytes: [u8; SECRET_BYTES] = random_bytes();
        PlainSecret::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    fn successor(&self, prefix: &str, parent: &PlainSecret) -> PlainSecret {
        let derived = hmac_sha256(&self.rotation_key, parent.expose().as_bytes());
        PlainSecret::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(derived)))
    }

    fn code_hash(&self, code: &PlainSecret) -> TokenHash {
        TokenHash::from_bytes(hmac_sha256(&self.code_key, code.expose().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_lowercase_alphanumerics_and_distinct() {
        let secrets = OsSecrets::new([7; 32]);
        let (a, b) = (secrets.new_id(), secrets.new_id());
        assert_eq!(a.len(), ID_LENGTH);
        assert!(a.bytes().all(|c| ID_ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn every_id_symbol_is_about_equally_likely() {
        let secrets = OsSecrets::new([7; 32]);
        let mut counts = [0u32; 36];
        for _ in 0..20_000 {
            for byte in secrets.new_id().bytes() {
                counts[ID_ALPHABET.iter().position(|&c| c == byte).unwrap()] += 1;
            }
        }
        // 520 000 symbols: 14 444 expected of each, with a standard deviation of about 119. Plain modulo
        // (256 = 7 x 36 + 4) would give the first four symbols 8/256 of the draws, 16 250 each, 15 deviations
        // above; the bounds are 6 deviations either side.
        for (symbol, count) in ID_ALPHABET.iter().zip(counts) {
            assert!(
                (13_730..=15_160).contains(&count),
                "{}: {count}",
                char::from(*symbol)
            );
        }
    }

    #[test]
    fn secrets_carry_the_prefix_and_256_bits() {
        let secrets = OsSecrets::new([7; 32]);
        let secret = secrets.new_secret("lkr_");
        let body = secret.expose().strip_prefix("lkr_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_ne!(secret, secrets.new_secret("lkr_"));
    }

    #[test]
    fn code_hashes_are_keyed() {
        let code = PlainSecret::new("123456");
        let (one, other) = (OsSecrets::new([7; 32]), OsSecrets::new([8; 32]));
        assert_eq!(
            one.code_hash(&code),
            OsSecrets::new([7; 32]).code_hash(&code),
            "one key, one hash"
        );
        assert_ne!(
            one.code_hash(&code),
            other.code_hash(&code),
            "another key, another hash"
        );
        assert_ne!(
            one.code_hash(&code),
            code.hash(),
            "not the plain digest a reader could reverse"
        );
        assert_ne!(
            one.code_hash(&code),
            one.code_hash(&PlainSecret::new("123457"))
        );
    }

    #[test]
    fn successors_are_deterministic_per_key_and_parent() {
        let parent = PlainSecret::new("lkr_parent");
        let one = OsSecrets::new([1; 32]);
        assert_eq!(
            one.successor("lkr_", &parent),
            one.successor("lkr_", &parent)
        );
        assert_ne!(
            one.successor("lkr_", &parent),
            OsSecrets::new([2; 32]).successor("lkr_", &parent)
        );
        assert_ne!(
            one.successor("lkr_", &parent),
            one.successor("lkr_", &PlainSecret::new("lkr_other"))
        );
        assert_ne!(
            OsSecrets::derived_from(b"master").successor("lkr_", &parent),
            one.successor("lkr_", &parent)
        );
    }
}
