//! Email addresses: validated on the way in, compared case-insensitively.

use std::fmt;

/// A syntactically valid email address.
///
/// The address keeps the spelling the user typed (for display and for sending mail); [`Email::key`] is the
/// case-folded form under which it is unique and looked up, so `Jane@Example.com` and `jane@example.com` are one
/// account.
#[derive(Debug, Clone)]
pub struct Email {
    address: String,
    key: String,
}

/// Longest address accepted (RFC 5321's path limit).
const MAX_LENGTH: usize = 254;

/// Why an email address was refused. `Display` is a phrase to follow the field name (`email must not be empty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("must not be empty")]
    Empty,
    /// Longer than `max` characters.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The longest address accepted.
        max: usize,
    },
    /// Not of the form `local@domain.tld`.
    #[error("is not a valid email address")]
    Malformed,
}

impl Email {
    /// Parses and trims an address.
    ///
    /// # Errors
    /// [`EmailError`] when the address is empty, too long, or not of the form `local@domain.tld`.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let address = raw.trim();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong { max: MAX_LENGTH });
        }
        let (local, domain) = address.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && !local.contains('@')
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control());
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .split('.')
                .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if !local_ok || !domain_ok {
            return Err(EmailError::Malformed);
        }
        Ok(Self::from_stored(address.to_owned()))
    }

    /// Rebuilds an address read back from storage, where it was validated on the way in (see
    /// [`super::User::from_stored`]).
    pub(crate) fn from_stored(address: String) -> Self {
        let key = address.to_lowercase();
        Self { address, key }
    }

    /// The address as the user spelled it.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The case-folded form under which the address is unique.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Email {}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_folds_case_for_comparison() {
        let email = Email::parse("  Jane.Doe+tag@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe+tag@Example.COM");
        assert_eq!(email.key(), "jane.doe+tag@example.com");
        assert_eq!(email, Email::parse("jane.doe+TAG@example.com").unwrap());
    }

    #[test]
    fn rejects_malformed_addresses() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        assert_eq!(Email::parse("plain"), Err(EmailError::Malformed));
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong { max: 254 })
        );
        assert_eq!(
            EmailError::Malformed.to_string(),
            "is not a valid email address"
        );
        for bad in [
            "",
            "plain",
            "@example.com",
            "jane@",
            "jane@localhost",
            "jane@exa mple.com",
            "jane@.example.com",
            "jane@example..com",
            "jane doe@example.com",
            "jane@-example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
