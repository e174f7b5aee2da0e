//! Latchkey's domain: the rules of accounts, sessions and credits, independent of any framework or database.
//!
//! Embedders build a [`Latchkey`] service with [`Latchkey::builder`] from its ports (repositories, password hasher,
//! token codec, secret generator, clock) and its [`Policies`], then call its use cases directly:
//!
//! - [`Latchkey::register`], [`Latchkey::login`], [`Latchkey::refresh`], [`Latchkey::logout`]
//! - [`Latchkey::authenticate`] turns an access token into a [`Principal`]: who is calling, with which
//!   [`Credential`] and so which [`Scopes`]; session-only use cases take a [`SessionPrincipal`]
//! - [`Latchkey::list_sessions`], [`Latchkey::revoke_session`]
//! - [`Latchkey::revoke_token`] and [`Latchkey::introspect`]: OAuth2 revocation (RFC 7009) and introspection
//!   (RFC 7662) of any credential Latchkey issues
//! - [`Latchkey::current_user`], [`Latchkey::credits`], [`Latchkey::change_password`]
//! - [`Latchkey::charge`] (idempotent, by key), [`Latchkey::refund`], [`Latchkey::ledger`],
//!   [`Latchkey::grant_credits`]: credits that never go below zero, every change in a ledger
//! - [`Latchkey::verify_email_link`], [`Latchkey::verify_email_code`], [`Latchkey::resend_verification`]
//! - [`Latchkey::forgot_password`], [`Latchkey::reset_password`]
//!
//! Emails are queued in the store's outbox by the same call that stores what they carry; an [`OutboxDelivery`]
//! delivers them through a [`ports::Mailer`].
//!
//! The crate performs no I/O itself: every effect goes through a port, so the same rules run on PostgreSQL, SQLite
//! or the in-memory adapters of `latchkey-memory`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod error;
pub mod model;
pub mod policy;
pub mod ports;
pub mod rotation;
pub mod secret;
pub mod service;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use access::{AccessError, Credential, Principal, Scope, ScopeError, Scopes, SessionPrincipal};
pub use error::PortError;
pub use model::{
    ApiKeyId, Charge, ChargeId, ClaimedEmail, ClientInfo, CredentialId, CredentialKind,
    DisplayName, DisplayNameError, Email, EmailContent, EmailError, EmailId, EventId, EventKind,
    EventOutcome, IdempotencyKey, IdempotencyKeyError, IssuedCredential, LedgerEntry,
    LedgerEntryId, LedgerKind, Metadata, NewEmail, NewUser, Password, PasswordError, PasswordHash,
    PersonalTokenId, PhoneNumber, PresentedCredential, Pricing, ProfileChanges, SecurityEvent,
    Session, SessionId, StoredUser, User, UserCredentials, UserId, Username, UsernameError,
    MAX_BALANCE,
};
pub use policy::{
    ChallengePolicyError, ChallengeSetting, CredentialPolicy, CredentialPolicyError, CreditsPolicy,
    CreditsPolicyError, DeliveryPolicy, DeliveryPolicyError, EventPolicy, EventPolicyError,
    Lifetime, PasswordPolicy, PasswordPolicyError, Policies, PublicUrl, PublicUrlError, Rate,
    RateError, ResetPolicy, ThrottlePolicy, TokenPolicy, TokenPolicyError, VerificationPolicy,
    WelcomeOn,
};
pub use ports::{DecodeError, InsertCredentialError, InsertUserError, MailError};
pub use secret::{PlainSecret, TokenHash};
pub use service::{
    AuthError, BuildError, ChangePasswordError, ChargeError, ChargeInput, ChargeReceipt,
    CreateCredentialInput, CreatedCredential, CredentialError, Delivered, GrantError, Latchkey,
    LatchkeyBuilder, LedgerError, LedgerPage, LoginError, OutboxDelivery, RefreshError,
    RefundError, RegisterError, RegistrationErrors, ResetPasswordError, RevokeSessionError,
    TokenPair, VerifyEmailError,
};
pub use service::{
    ChangeEmailError, DeleteAccountError, EmailRequestError, EventPage, IntrospectError,
    ListEventsError, ProfileUpdate, RevokeTokenError, TooManyAttempts, UpdateProfileError,
};
