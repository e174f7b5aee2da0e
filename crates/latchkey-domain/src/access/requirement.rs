//! Requirements as types, so an entry point states once what its caller must hold (`Authenticated<CreditsRead>`
//! in `latchkey-http`) and receives what that grants.

use super::{AccessError, Principal, Scope, SessionPrincipal};

/// What a use case asks of its caller.
pub trait Requirement {
    /// What a caller meeting the requirement is known as from then on.
    type Granted;

    /// Checks the principal.
    ///
    /// # Errors
    /// The [`AccessError`] that says what the caller lacks.
    fn check(principal: Principal) -> Result<Self::Granted, AccessError>;
}

/// A login session: personal tokens and API keys are refused with [`AccessError::SessionRequired`].
#[derive(Debug)]
pub enum SessionOnly {}

impl Requirement for SessionOnly {
    type Granted = SessionPrincipal;

    fn check(principal: Principal) -> Result<SessionPrincipal, AccessError> {
        principal.into_session()
    }
}

macro_rules! scope_requirement {
    ($(#[$doc:meta])* $name:ident => $scope:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}

        impl Requirement for $name {
            type Granted = Principal;

            fn check(principal: Principal) -> Result<Principal, AccessError> {
                principal.require(Scope::$scope)?;
                Ok(principal)
            }
        }
    };
}

scope_requirement!(
    /// Any credential holding `profile:read`.
    ProfileRead => ProfileRead
);
scope_requirement!(
    /// Any credential holding `profile:write`.
    ProfileWrite => ProfileWrite
);
scope_requirement!(
    /// Any credential holding `credits:read`.
    CreditsRead => CreditsRead
);
scope_requirement!(
    /// Any credential holding `credits:charge`.
    CreditsCharge => CreditsCharge
);
