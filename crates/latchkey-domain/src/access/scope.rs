//! Scopes: the permissions a personal token or an API key carries.

use std::fmt;
use std::str::FromStr;

/// One permission. A session holds every scope; a personal token or API key holds those it was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scope {
    /// `profile:read`: read the account.
    ProfileRead,
    /// `profile:write`: change the account's profile.
    ProfileWrite,
    /// `credits:read`: read the balance and the ledger.
    CreditsRead,
    /// `credits:charge`: spend credits.
    CreditsCharge,
}

impl Scope {
    /// Every scope, in canonical order.
    pub const ALL: [Scope; 4] = [
        Scope::ProfileRead,
        Scope::ProfileWrite,
        Scope::CreditsRead,
        Scope::CreditsCharge,
    ];

    /// The scope's name on the wire (`profile:read`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::ProfileRead => "profile:read",
            Scope::ProfileWrite => "profile:write",
            Scope::CreditsRead => "credits:read",
            Scope::CreditsCharge => "credits:charge",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a scope name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// Not the name of any scope.
    #[error("unknown scope `{0}`")]
    Unknown(String),
}

/// Longest unknown name echoed back in a [`ScopeError`], so a huge input is not copied into error messages.
const MAX_ECHOED: usize = 64;

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(name: &str) -> Result<Self, ScopeError> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == name)
            .ok_or_else(|| ScopeError::Unknown(name.chars().take(MAX_ECHOED).collect()))
    }
}

/// A set of scopes; written as their names separated by spaces (RFC 6749 §3.3), in canonical order.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every scope: what a session holds.
    pub fn all() -> Self {
        Scope::ALL.into_iter().collect()
    }

    /// Parses space-separated scope names; an empty string is the empty set.
    ///
    /// # Errors
    /// [`ScopeError::Unknown`] naming the first name that is no scope.
    pub fn parse(names: &str) -> Result<Self, ScopeError> {
        names.split_whitespace().map(Scope::from_str).collect()
    }

    /// Whether the set holds `scope`.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The set with `scope` added.
    #[must_use]
    pub const fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes held, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .into_iter()
            .filter(move |scope| self.contains(*scope))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(scopes: I) -> Self {
        scopes.into_iter().fold(Self::empty(), Self::with)
    }
}

impl FromStr for Scopes {
    type Err = ScopeError;

    fn from_str(names: &str) -> Result<Self, ScopeError> {
        Self::parse(names)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for scope in self.iter() {
            write!(f, "{separator}{scope}")?;
            separator = " ";
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!(
            "profile:admin".parse::<Scope>(),
            Err(ScopeError::Unknown("profile:admin".into()))
        );
        assert_eq!(
            "x".repeat(1000).parse::<Scope>(),
            Err(ScopeError::Unknown("x".repeat(MAX_ECHOED)))
        );
    }

    #[test]
    fn sets_parse_and_print_space_separated_in_canonical_order() {
        let scopes = Scopes::parse(" credits:read  profile:read credits:read").unwrap();
        assert!(scopes.contains(Scope::CreditsRead));
        assert!(scopes.contains(Scope::ProfileRead));
        assert!(!scopes.contains(Scope::CreditsCharge));
        assert_eq!(scopes.to_string(), "profile:read credits:read");
        assert_eq!(scopes.to_string().parse::<Scopes>(), Ok(scopes));
        assert_eq!(Scopes::parse(""), Ok(Scopes::empty()));
        assert!(Scopes::empty().is_empty());
        assert_eq!(
            Scopes::parse("profile:read nope"),
            Err(ScopeError::Unknown("nope".into()))
        );
        assert_eq!(
            Scopes::all().to_string(),
            "profile:read profile:write credits:read credits:charge"
        );
        assert_eq!(format!("{scopes:?}"), "{ProfileRead, CreditsRead}");
    }
}
