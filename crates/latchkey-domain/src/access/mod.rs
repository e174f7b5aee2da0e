//! Who is calling and what they may do: the [`Principal`] a credential stands for, the [`Scope`]s it carries, and
//! the [`Requirement`]s use cases state.
//!
//! A login session may do everything its user may; a personal token or an API key only what its scopes allow, and
//! never what needs a session (logging out, managing sessions, changing the password). Use cases that need a
//! session take a [`SessionPrincipal`], so a token-only caller cannot reach them by mistake: the only way to get
//! one from a [`Principal`] is [`Principal::into_session`], which refuses other credentials.

mod principal;
mod requirement;
mod scope;

pub use principal::{AccessError, Credential, Principal, SessionPrincipal};
pub use requirement::{
    CreditsCharge, CreditsRead, ProfileRead, ProfileWrite, Requirement, SessionOnly,
};
pub use scope::{Scope, ScopeError, Scopes};
