use crate::secret::PlainSecret;

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
}
