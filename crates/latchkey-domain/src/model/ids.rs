//! Opaque, prefixed identifiers (`usr_…`, `ses_…`, `pat_…`, `key_…`): the prefix tells a reader what an id names.

use std::fmt;

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Builds an id from a freshly generated random body (see [`crate::ports::SecretGenerator::new_id`]).
            ///
            /// The id is always one [`Self::parse`] accepts: a body that would not be well formed (which a
            /// conforming generator never makes) is replaced by the hex of its SHA-256, so no id of this type is
            /// ever malformed, whatever an embedder's generator returns.
            pub fn from_random(body: &str) -> Self {
                Self::parse(&format!("{}{}", Self::PREFIX, body)).unwrap_or_else(|| {
                    let digest = crate::secret::TokenHash::of(body).to_hex();
                    Self(format!("{}{}", Self::PREFIX, &digest[..32]))
                })
            }

            /// Parses an id received from a client or read from storage.
            ///
            /// Returns `None` unless it has this kind's prefix and a non-empty body of ASCII letters, digits or `_`.
            pub fn parse(value: &str) -> Option<Self> {
                let body = value.strip_prefix(Self::PREFIX)?;
                let well_formed = !body.is_empty()
                    && body.len() <= 64
                    && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                well_formed.then(|| Self(value.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// Identifies a user account.
    UserId,
    "usr_"
);
prefixed_id!(
    /// Identifies a session: one login, and the family of refresh tokens descending from it.
    SessionId,
    "ses_"
);

prefixed_id!(
    /// Identifies a personal token (not its secret, which is never an id).
    PersonalTokenId,
    "pat_"
);
prefixed_id!(
    /// Identifies an API key (not its secret, which is never an id).
    ApiKeyId,
    "key_"
);
prefixed_id!(
    /// Identifies an outgoing email in the outbox.
    EmailId,
    "eml_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_requires_the_right_prefix_and_a_clean_body() {
        assert!(UserId::parse("usr_abc123").is_some());
        assert!(UserId::parse("ses_abc123").is_none());
        assert!(UserId::parse("usr_").is_none());
        assert!(SessionId::parse("ses_a-b").is_none());
        assert_eq!(SessionId::from_random("xyz").as_str(), "ses_xyz");
        assert!(PersonalTokenId::parse("pat_abc").is_some());
        assert!(PersonalTokenId::parse("key_abc").is_none());
        assert_eq!(ApiKeyId::from_random("xyz").as_str(), "key_xyz");
    }

    #[test]
    fn ids_from_any_body_are_well_formed() {
        for body in ["", "a-b", "spaces here", &"x".repeat(65), "é"] {
            let id = UserId::from_random(body);
            assert_eq!(UserId::parse(id.as_str()), Some(id.clone()), "{body:?}");
        }
        assert_ne!(UserId::from_random("a-b"), UserId::from_random("a+b"));
    }
}
prefixed_id!(
    /// Identifies a security event.
    EventId,
    "evt_"
);
prefixed_id!(
    /// Identifies a charge of credits (its ledger entry, and the refund that may follow, carry it).
    ChargeId,
    "chg_"
);
prefixed_id!(
    /// Identifies one entry of the credits ledger.
    LedgerEntryId,
    "led_"
);
