//! Latchkey's domain: the rules of accounts, sessions and credits, independent of any framework or database.
//!
//! Embedders build a [`Latchkey`] service from a set of [`Ports`] (repositories, password hasher, token codec,
//! secret generator, clock) and a set of [`Policies`], then call its use cases directly:
//!
//! - [`Latchkey::register`], [`Latchkey::login`], [`Latchkey::refresh`], [`Latchkey::logout`]
//! - [`Latchkey::authenticate`] turns an access token into a [`Principal`]
//! - [`Latchkey::list_sessions`], [`Latchkey::revoke_session`]
//! - [`Latchkey::current_user`], [`Latchkey::credits`], [`Latchkey::change_password`]
//!
//! The crate performs no I/O itself: every effect goes through a port, so the same rules run on PostgreSQL, SQLite
//! or the in-memory adapters of `latchkey-memory`.

#![warn(missing_docs)]

pub mod error;
pub mod model;
pub mod policy;
pub mod ports;
pub mod rotation;
pub mod secret;
pub mod service;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{FieldError, PortError, ValidationErrors};
pub use model::{
    ClientInfo, DisplayName, Email, NewUser, Password, PasswordHash, Pricing, Session, SessionId,
    User, UserCredentials, UserId, Username,
};
pub use policy::{CreditsPolicy, PasswordPolicy, Policies, TokenPolicy};
pub use ports::Ports;
pub use secret::{PlainSecret, TokenHash};
pub use service::{Latchkey, Principal, TokenPair};
