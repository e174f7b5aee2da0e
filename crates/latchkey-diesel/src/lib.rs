//! Latchkey's repositories on PostgreSQL ([`pg::PgStore`]) and SQLite ([`sqlite::SqliteStore`]).
//!
//! Each store implements [`UserRepository`](latchkey_domain::ports::UserRepository),
//! [`SessionRepository`](latchkey_domain::ports::SessionRepository) and
//! [`HealthCheck`](latchkey_domain::ports::HealthCheck); every port method is one transaction, and the invariants
//! the domain relies on (unique email and username keys, unique token hashes, non-negative credits) are also
//! constraints of the schema. The migrations are embedded per backend and applied by `run_migrations`.
//!
//! SQL lives only in this crate.

#![warn(missing_docs)]

mod error;
pub mod pg;
mod pool;
mod rotation;
pub mod sqlite;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use error::{redact_url, ConnectError};
