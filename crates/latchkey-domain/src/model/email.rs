//! Email addresses: validated on the way in, unique and looked up under one normalised key.
//!
//! The key must never make two different mailboxes one account: a password reset asked for `\u{212A}ate@x.com`
//! (KELVIN SIGN) must not find `kate@x.com`. So the local part, which only the receiving server interprets, is
//! folded as little as is safe: NFC (so one spelling in composed and decomposed form is one address) and ASCII
//! lowercase (what every mail provider already treats as one mailbox). Unicode lowercase is not used: it maps the
//! Kelvin sign to `k`, and its inverse maps the dotless `ı` to `I`. NFC itself replaces a few characters by others
//! (the Kelvin sign by `K`, the Ångström sign by `Å`, CJK compatibility ideographs): a local part holding one of
//! those does not normalise and is refused, rather than merged with the address it resembles. The domain is what
//! DNS resolves, so it takes the IDNA (UTS 46) ASCII form every mail client sends to: `Bücher.example` and
//! `xn--bcher-kva.example` are one host.

use std::borrow::Cow;
use std::fmt;

use icu_normalizer::ComposingNormalizerBorrowed;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

/// A syntactically valid email address.
///
/// The address keeps the spelling the user typed, in NFC (for display and for sending mail); [`Email::key`] is the
/// normalised form under which it is unique and looked up, so `Jane@Example.com` and `jane@example.com` are one
/// account while `\u{212A}ate@example.com` and `kate@example.com` are two (see `docs/security.md`).
#[derive(Debug, Clone)]
pub struct Email {
    address: String,
    key: String,
}

/// Longest address accepted (RFC 5321's path limit).
const MAX_LENGTH: usize = 254;

/// Longest local part accepted (RFC 5321).
const MAX_LOCAL_LENGTH: usize = 64;

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
    /// Not of the form `local@domain.tld`, or a domain that is not a valid (internationalised) host name.
    #[error("is not a valid email address")]
    Malformed,
}

impl Email {
    /// Parses and trims an address, and computes its key.
    ///
    /// # Errors
    /// [`EmailError`] when the address is empty, too long, not of the form `local@domain.tld`, or its domain has no
    /// IDNA ASCII form (a disallowed character, a malformed `xn--` label, a label longer than 63 octets).
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        let address = nfc(trimmed).into_owned();
        if address.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong { max: MAX_LENGTH });
        }
        let key = lookup_key(trimmed).ok_or(EmailError::Malformed)?;
        Ok(Self { address, key })
    }

    /// Rebuilds an address read back from storage, where it was validated on the way in (see
    /// [`super::User::from_stored`]).
    ///
    /// See [`Email::key_of_stored`] for an address that no longer normalises.
    pub(crate) fn from_stored(address: String) -> Self {
        let key = Self::key_of_stored(&address);
        Self { address, key }
    }

    /// The key of an address read back from storage: what a repository adapter stores when it migrates the keys of
    /// existing accounts.
    ///
    /// An address stored under older rules that no longer normalises (a Kelvin sign in its local part, a domain
    /// without IDNA form) gets its ASCII lowercase: no address [`Email::parse`] accepts has that key, since the
    /// character or domain that made it fail is still in it, so the account can no longer be found by email
    /// (nor can its address be typed in again), but it cannot be found in place of another either. For an ASCII
    /// address that is the key it always had.
    pub fn key_of_stored(address: &str) -> String {
        lookup_key(address).unwrap_or_else(|| address.to_ascii_lowercase())
    }

    /// The address as the user spelled it (in NFC).
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The normalised form under which the address is unique: the local part in NFC with ASCII letters lowercased,
    /// `@`, the domain in its lowercase IDNA ASCII form.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The address with its local part hidden but for its first character (`j***@example.com`): enough for its
    /// owner to recognise it, too little to write to it.
    pub fn masked(&self) -> String {
        let (local, domain) = self.address.rsplit_once('@').unwrap_or(("", &self.address));
        let first: String = local.chars().take(1).collect();
        format!("{first}***@{domain}")
    }
}

/// The composed (NFC) form of `text`, borrowed when it already is.
fn nfc(text: &str) -> Cow<'_, str> {
    ComposingNormalizerBorrowed::new_nfc().normalize(text)
}

/// The key of a trimmed address, or `None` when it is malformed or does not normalise.
fn lookup_key(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let stable = |c: char| {
        let mut buffer = [0; 4];
        let alone = c.encode_utf8(&mut buffer);
        nfc(alone) == *alone
    };
    if !local.chars().all(stable) {
        return None;
    }
    let local = nfc(local);
    let local_ok = !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_LENGTH
        && local.chars().all(|c| !c.is_whitespace() && !c.is_control());
    if !local_ok {
        return None;
    }
    // STD3 rules keep host names to letters, digits and hyphens; a hyphen may not start or end a label (RFC 952),
    // but may stand third and fourth as in real names. DNS label lengths are not a question of identity (a domain
    // with a 64-character label merely receives no mail), and refusing them would refuse addresses the API has
    // always accepted; empty labels are refused below.
    let domain = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Ignore,
        )
        .ok()?;
    if domain.split('.').any(str::is_empty) {
        return None;
    }
    // A top-level domain alone (`jane@localhost`) is no address to send mail to.
    if !domain.contains('.') {
        return None;
    }
    Some(format!("{}@{domain}", local.to_ascii_lowercase()))
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

    fn key(raw: &str) -> String {
        Email::parse(raw).unwrap().key().to_owned()
    }

    #[test]
    fn lowercases_only_ascii_letters_in_the_local_part() {
        // KELVIN SIGN: Unicode lowercase (and NFC, to `K`) would make it `k`, and this address would find kate's
        // account. It does not normalise, so it is refused; the Ångström and Ohm signs likewise.
        for singleton in [
            "\u{212A}ate@example.com",
            "\u{212B}sa@example.com",
            "\u{2126}mega@example.com",
        ] {
            assert_eq!(
                Email::parse(singleton),
                Err(EmailError::Malformed),
                "{singleton:?}"
            );
        }
        // Dotless and dotted capital I stay apart from `i` and `I`, as the mail server would keep them.
        assert_eq!(key("k\u{131}te@example.com"), "k\u{131}te@example.com");
        assert_ne!(key("k\u{131}te@example.com"), key("kite@example.com"));
        assert_eq!(key("K\u{130}TE@example.com"), "k\u{130}te@example.com");
        // Full-width letters are other characters to a mail server: kept, and not folded into ASCII.
        assert_eq!(key("\u{FF2B}ate@example.com"), "\u{FF2B}ate@example.com");
        assert_ne!(key("\u{FF2B}ate@example.com"), key("kate@example.com"));
        // Non-ASCII capitals keep their case: `Émile` and `émile` may be two mailboxes.
        assert_eq!(key("\u{C9}mile@example.com"), "\u{C9}mile@example.com");
        // Uppercase ASCII folds.
        assert_eq!(key("KATE.Doe+Tag@EXAMPLE.COM"), "kate.doe+tag@example.com");
    }

    #[test]
    fn composed_and_decomposed_spellings_are_one_address() {
        let composed = Email::parse("jos\u{E9}@example.com").unwrap();
        let decomposed = Email::parse("jose\u{301}@example.com").unwrap();
        assert_eq!(composed.key(), "jos\u{E9}@example.com");
        assert_eq!(decomposed.key(), composed.key());
        assert_eq!(decomposed, composed);
        assert_eq!(
            decomposed.as_str(),
            "jos\u{E9}@example.com",
            "stored in NFC"
        );
    }

    #[test]
    fn domains_take_their_idna_ascii_form() {
        assert_eq!(
            key("jane@B\u{FC}cher.example"),
            "jane@xn--bcher-kva.example"
        );
        assert_eq!(
            key("jane@XN--BCHER-KVA.example"),
            "jane@xn--bcher-kva.example"
        );
        assert_eq!(
            key("jane@bu\u{308}cher.example"),
            "jane@xn--bcher-kva.example"
        );
        // DNS resolves these spellings to one host, and mail clients send to that host: one address.
        assert_eq!(key("jane@\u{FF45}xample.com"), "jane@example.com");
        assert_eq!(key("jane@\u{212A}ite.example"), "jane@kite.example");
        assert_eq!(key("jane@example\u{3002}com"), "jane@example.com");
        // A dotless i in a domain is a distinct IDN label, not `i`.
        assert_eq!(key("jane@k\u{131}te.example"), "jane@xn--kte-jua.example");
        // The spelling typed is what is shown and mailed to.
        assert_eq!(
            Email::parse("Jane@B\u{FC}cher.example").unwrap().as_str(),
            "Jane@B\u{FC}cher.example"
        );
    }

    #[test]
    fn refuses_domains_that_do_not_normalise() {
        for bad in [
            "jane@xn--a.example",           // not valid punycode
            "jane@xn--bcher-kva\u{FC}.com", // an ACE label with non-ASCII
            "jane@exa_mple.com",            // outside letters, digits and hyphens
            "jane@\u{2615}\u{200D}.com",    // a joiner where the context rules forbid it
            "jane@\u{FF0E}example.com",     // a full-width dot making an empty label
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad:?}");
        }
        assert_eq!(
            Email::parse("jane@example..com"),
            Err(EmailError::Malformed)
        );
        // A label longer than DNS allows is no question of identity: accepted, as it always was.
        let long_label = format!("jane@{}.com", "a".repeat(64));
        assert!(Email::parse(&long_label).is_ok());
    }

    #[test]
    fn stored_addresses_that_no_longer_normalise_keep_their_ascii_lowercase_key() {
        let stored = Email::from_stored("Jane@exa_mple.com".to_owned());
        assert_eq!(stored.key(), "jane@exa_mple.com");
        // Stored before the Kelvin sign was refused: a key no parsed address has, kate's included.
        let stored = Email::from_stored("\u{212A}ate@Example.com".to_owned());
        assert_eq!(stored.key(), "\u{212A}ate@example.com");
        assert_ne!(stored, Email::parse("kate@example.com").unwrap());
        assert_eq!(
            Email::key_of_stored("jose\u{301}@B\u{FC}cher.example"),
            "jos\u{E9}@xn--bcher-kva.example"
        );
    }
}
