//! Access tokens this process has already verified. A client sends the same access token with every request for
//! its whole lifetime, and checking an Ed25519 signature costs 30–40 µs; a SHA-256 of the token and a lookup cost
//! well under one.
//!
//! Only tokens that passed every check of [`super::JwtCodec::decode`] are kept, under the SHA-256 of the whole token,
//! so a token that differs in any byte is checked afresh; the keys cannot change while the process runs. Expiry is
//! not the codec's business (the domain compares `exp` with its clock on every request), so an entry may outlive
//! its token harmlessly until the bound clears it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use latchkey_domain::ports::AccessClaims;
use sha2::{Digest, Sha256};

/// How many verified tokens are kept: about 200 bytes each, so a few MB at most. When full, all are dropped at once;
/// the clients still active fill it again on their next request.
pub(super) const CAPACITY: usize = 16_384;

/// Verified access tokens, shared by every clone of the codec.
#[derive(Debug, Default)]
pub(super) struct VerifiedTokens {
    claims: Mutex<HashMap<[u8; 32], AccessClaims>>,
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified before.
    pub(super) fn get(&self, token: &str) -> Option<AccessClaims> {
        let key = digest(token);
        self.lock().get(&key).cloned()
    }

    /// Remembers the claims of a token that passed every check.
    pub(super) fn insert(&self, token: &str, claims: AccessClaims) {
        let key = digest(token);
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, claims);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// A panic while holding the lock cannot leave the map half-updated in a way that matters: every entry in it
    /// is a verified token's claims.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], AccessClaims>> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
