//! The `latchkey` binary's library half: settings, adapter selection and the server, so tests can start the real
//! application in-process on a free port.

#![forbid(unsafe_code)]

pub mod app;
pub mod database;
pub mod mail;
pub mod operators;
pub mod purge;
pub mod secret;
pub mod settings;
pub mod signing_key;

pub use app::{build_service, migrate, Application, StartupError};
pub use settings::Settings;
