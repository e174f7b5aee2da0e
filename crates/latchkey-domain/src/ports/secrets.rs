use crate::secret::{PlainSecret, TokenHash};

/// Makes identifiers and opaque secrets.
pub trait SecretGenerator: Send + Sync {
    /// A random identifier body (at least 96 bits, `[A-Za-z0-9]` only); the caller adds the type prefix.
    fn new_id(&self) -> String;

    /// A fresh secret with at least 128 bits from a CSPRNG, starting with `prefix` so leaks are recognisable.
    fn new_secret(&self, prefix: &str) -> PlainSecret;

    /// The secret that succeeds `parent` on rotation, derived with a server-side key.
    ///
    /// Deterministic, so a client retrying a rotation whose response it lost gets the same successor, and keyed,
    /// so that holding one secret does not let anyone compute the next.
    fn successor(&self, prefix: &str, parent: &PlainSecret) -> PlainSecret;

    /// The hash under which a code for a person to type ([`SecretGenerator::new_code`]) is stored and compared.
    ///
    /// A six-digit code has a million values, all hashed in a blink: a plain digest would give every pending code
    /// away to whoever reads the database (a leaked backup, a read-only replica). The production generator keys it
    /// with a server-side key, which every instance sharing the database shares. This default is the plain
    /// SHA-256 of [`PlainSecret::hash`], for test doubles.
    fn code_hash(&self, code: &PlainSecret) -> TokenHash {
        code.hash()
    }

    /// A fresh code of `digits` decimal digits (1 to 18), for a person to type.
    ///
    /// By default it is derived from [`SecretGenerator::new_secret`]: the first 64 bits of the secret's SHA-256,
    /// reduced modulo `10^digits`, whose bias (below 2^-44 for six digits) no attacker can use.
    fn new_code(&self, digits: u32) -> PlainSecret {
        let digits = digits.clamp(1, 18);
        let secret = self.new_secret("code");
        let bytes = secret.hash();
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes.as_bytes()[..8]);
        let value = u64::from_be_bytes(first) % 10u64.pow(digits);
        PlainSecret::new(format!("{value:0width$}", width = digits as usize))
    }
}
