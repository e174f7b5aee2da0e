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

impl Email {
    /// Parses and trims an address.
    ///
    /// # Errors
    /// A message fit to show the user when the address is empty, too long, or not of the form `local@domain.tld`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let address = raw.trim();
        if address.is_empty() {
            return Err("must not be empty".into());
        }
        if address.chars().count() > MAX_LENGTH {
            return Err(format!("must be at most {MAX_LENGTH} characters"));
        }
        let invalid = || "is not a valid email address".to_owned();
        let (local, domain) = address.rsplit_once('@').ok_or_else(invalid)?;
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
            return Err(invalid());
        }
        Ok(Self {
            address: address.to_owned(),
            key: address.to_lowercase(),
        })
    }

    /// Rebuilds an address read back from storage, where it was validated on the way in.
    pub fn from_trusted(address: String) -> Self {
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
