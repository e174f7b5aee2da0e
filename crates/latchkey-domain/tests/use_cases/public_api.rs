//! The crate root names every public error type, so an embedder never has to know which module one lives in.

use std::error::Error;

use latchkey_domain::{
    AccessError, AuthError, BuildError, ChangePasswordError, ChargeError, CreditsPolicyError,
    DecodeError, DisplayNameError, EmailError, GrantError, IdempotencyKeyError, InsertUserError,
    LedgerError, LoginError, PasswordError, PasswordPolicyError, PortError, RefreshError,
    RefundError, RegisterError, RegistrationErrors, RevokeSessionError, ScopeError,
    TokenPolicyError, UsernameError,
};

fn is_error<E: Error + Send + Sync + 'static>() {}

#[test]
fn every_error_type_is_at_the_crate_root_and_is_a_std_error() {
    is_error::<AccessError>();
    is_error::<AuthError>();
    is_error::<BuildError>();
    is_error::<ChangePasswordError>();
    is_error::<ChargeError>();
    is_error::<GrantError>();
    is_error::<IdempotencyKeyError>();
    is_error::<LedgerError>();
    is_error::<RefundError>();
    is_error::<CreditsPolicyError>();
    is_error::<DecodeError>();
    is_error::<DisplayNameError>();
    is_error::<EmailError>();
    is_error::<InsertUserError>();
    is_error::<LoginError>();
    is_error::<PasswordError>();
    is_error::<PasswordPolicyError>();
    is_error::<PortError>();
    is_error::<RefreshError>();
    is_error::<RegisterError>();
    is_error::<RegistrationErrors>();
    is_error::<RevokeSessionError>();
    is_error::<ScopeError>();
    is_error::<TokenPolicyError>();
    is_error::<UsernameError>();
}

#[test]
fn parse_errors_are_typed_and_phrased_to_follow_the_field_name() {
    assert_eq!(
        latchkey_domain::Email::parse("nope").unwrap_err(),
        EmailError::Malformed
    );
    assert_eq!(
        latchkey_domain::Username::parse("a b c")
            .unwrap_err()
            .to_string(),
        "may contain only letters, digits and underscores"
    );
    assert_eq!(
        latchkey_domain::DisplayName::parse(" ").unwrap_err(),
        DisplayNameError::Blank
    );
}
