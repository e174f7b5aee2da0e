//! Latchkey's [`Mailer`](latchkey_domain::ports::Mailer) adapters.
//!
//! - [`SmtpMailer`] sends over SMTP with lettre's async transport: `smtp://host:port` (plain, for a local relay),
//!   `smtp://host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465` (implicit TLS), TLS by rustls.
//! - [`LogMailer`] writes each email, with its link and code, to the log: for development, so a server with no
//!   mail set up still lets someone verify an address or reset a password.
//!
//! Both render the same [`templates`]: a plain-text and an HTML part per email.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod log;
mod smtp;
pub mod templates;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use log::LogMailer;
pub use smtp::{SmtpConfigError, SmtpMailer};
