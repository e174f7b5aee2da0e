//! Fast, predictable stand-ins for the cryptographic ports. Not secure: for tests only.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use latchkey_domain::ports::{
    AccessClaims, AccessTokenCodec, DecodeError, PasswordHasher, SecretGenerator,
};
use latchkey_domain::{Password, PasswordHash, PlainSecret, PortError, TokenHash};

/// A password "hasher" that stores an unsalted SHA-256: instant, and enough to tell passwords apart in tests.
///
/// It also verifies an older format of its own, [`FastTestHasher::legacy_hash`], which it reports as needing a
/// rehash ([`PasswordHasher::needs_rehash`]), as the argon2 hasher does for hashes made with other parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastTestHasher;

const FAST_HASH_PREFIX: &str = "$test-sha256$";
const LEGACY_HASH_PREFIX: &str = "$test-legacy-sha256$";

impl FastTestHasher {
    /// A hash of `password` in the legacy format: it verifies, and needs rehashing. For tests of the upgrade on
    /// login.
    pub fn legacy_hash(password: &Password) -> PasswordHash {
        PasswordHash::new(format!(
            "{LEGACY_HASH_PREFIX}{}",
            TokenHash::of(password.expose()).to_hex()
        ))
    }
}

#[async_trait]
impl PasswordHasher for FastTestHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        Ok(PasswordHash::new(format!(
            "{FAST_HASH_PREFIX}{}",
            TokenHash::of(password.expose()).to_hex()
        )))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        Ok(self.hash(password).await?.as_str() == hash.as_str()
            || Self::legacy_hash(password).as_str() == hash.as_str())
    }

    async fn verify_nothing(&self, _password: &Password) -> Result<(), PortError> {
        Ok(())
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        !hash.as_str().starts_with(FAST_HASH_PREFIX)
    }
}

/// Access tokens as opaque handles (`mat_1`, `mat_2`, …) remembered in memory; encoding the same claims twice
/// returns the same handle, as signing them twice would.
#[derive(Debug, Default)]
pub struct MemoryAccessTokens {
    issued: Mutex<Issued>,
}

#[derive(Debug, Default)]
struct Issued {
    by_token: HashMap<String, AccessClaims>,
    by_token_id: HashMap<String, String>,
}

impl MemoryAccessTokens {
    /// An empty codec.
    pub fn new() -> Self {
        Self::default()
    }
}

impl AccessTokenCodec for MemoryAccessTokens {
    fn encode(&self, claims: &AccessClaims) -> Result<String, PortError> {
        let mut issued = crate::lock(&self.issued);
        if let Some(token) = issued.by_token_id.get(&claims.token_id) {
            if issued.by_token.get(token) == Some(claims) {
                return Ok(token.clone());
            }
        }
        let token = format!("mat_{}", issued.by_token.len() + 1);
        issued.by_token.insert(token.clone(), claims.clone());
        issued
            .by_token_id
            .insert(claims.token_id.clone(), token.clone());
        Ok(token)
    }

    fn decode(&self, token: &str) -> Result<AccessClaims, DecodeError> {
        crate::lock(&self.issued)
            .by_token
            .get(token)
            .cloned()
            .ok_or(DecodeError::Invalid)
    }
}

/// Ids and secrets from a counter (`0000000001`, `lkr_0000000002`, …), so tests can predict them.
#[derive(Debug, Default)]
pub struct SequentialSecrets {
    next: AtomicU64,
}

impl SequentialSecrets {
    /// A generator starting at 1.
    pub fn new() -> Self {
        Self::default()
    }

    fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl SecretGenerator for SequentialSecrets {
    fn new_id(&self) -> String {
        format!("{:010}", self.next())
    }

    fn new_secret(&self, prefix: &str) -> PlainSecret {
        PlainSecret::new(format!("{prefix}{:010}", self.next()))
    }

    fn successor(&self, prefix: &str, parent: &PlainSecret) -> PlainSecret {
        let digest = TokenHash::of(&format!("successor:{}", parent.expose())).to_hex();
        PlainSecret::new(format!("{prefix}{}", &digest[..32]))
    }
}
