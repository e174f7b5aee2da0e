//! The domain's values and records. Each value type is valid by construction: its constructor parses.

mod credential;
mod credits;
mod email;
mod event;
mod ids;
mod mail;
mod name;
mod password;
mod profile;
mod session;
mod user;
mod username;

pub use credential::{
    CredentialId, CredentialKind, IssuedCredential, NewCredential, PresentedCredential,
    StoredCredential,
};
pub use credits::{
    charge_fingerprint, Charge, IdempotencyKey, IdempotencyKeyError, LedgerEntry, LedgerKind,
    Pricing, MAX_BALANCE,
};
pub use email::{Email, EmailError};
pub use event::{EventKind, EventOutcome, SecurityEvent};
pub use ids::{
    ApiKeyId, ChargeId, EmailId, EventId, LedgerEntryId, PersonalTokenId, SessionId, UserId,
};
pub use mail::{ClaimedEmail, EmailContent, NewEmail};
pub use name::{DisplayName, DisplayNameError};
pub use password::{Password, PasswordError, PasswordHash};
pub use profile::{Metadata, MetadataError, PhoneNumber, PhoneNumberError, ProfileChanges};
pub use session::{ClientInfo, NewRefreshToken, NewSession, Session};
pub use user::{NewUser, StoredUser, User, UserCredentials};
pub use username::{Username, UsernameError};
