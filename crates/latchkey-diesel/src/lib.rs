//! Latchkey's repositories on PostgreSQL ([`pg::PgStore`]) and SQLite ([`sqlite::SqliteStore`]).
//!
//! Each store implements [`UserRepository`](latchkey_domain::ports::UserRepository),
//! [`SessionRepository`](latchkey_domain::ports::SessionRepository),
//! [`ChallengeRepository`](latchkey_domain::ports::ChallengeRepository), [`Outbox`](latchkey_domain::ports::Outbox)
//! and [`HealthCheck`](latchkey_domain::ports::HealthCheck); every port method is one transaction, and the invariants
//! the domain relies on (unique email and username keys, unique token hashes, non-negative credits) are also
//! constraints of the schema. The migrations are embedded per backend and applied by `run_migrations`.
//!
//! SQL lives only in this crate.
//!
//! # One body for both backends
//!
//! Both backends share one schema (`schema.rs`), one set of rows (`rows.rs`) and one body of queries per port
//! (`repositories/*.rs`). The column types whose storage differs (instants, JSON) are custom SQL types mapped per
//! backend (`sql_types.rs`), so the rows need no twin. Each `repositories/*.rs` file is compiled twice, as a child
//! module of `pg` and of `sqlite` (`#[path]`), against the names its backend module provides:
//!
//! - `Store`, the type the ports are implemented for, with `run` / `run_raw` (detached connection work) and `read`
//!   (one lookup by key outside any transaction, which SQLite runs in place on the async worker: its body must be
//!   that one statement, built inside the body's async block, and never a write transaction, which is refused);
//! - `write_transaction`: READ COMMITTED on PostgreSQL, `BEGIN IMMEDIATE` on SQLite;
//! - `locked!`: `FOR UPDATE` on PostgreSQL, nothing on SQLite (the transaction already holds the write lock);
//! - `locked_or_skipped!`: `FOR UPDATE SKIP LOCKED` on PostgreSQL, where a row another transaction holds is passed
//!   over instead of waited for (outbox workers on several instances claim different rows at once; a retried
//!   refresh never waits for its successor's lock); nothing on SQLite.
//!
//! A body awaits only its connection's calls: on SQLite the whole of it runs in one blocking call, driven by
//! `Handle::block_on`, where no timer, socket or other task could wake it.
//!
//! Only that locking and the connection setup differ per backend. A new table costs a migration per backend, its
//! `table!` and rows here, and one repository file.
//!
//! # Lookups by a unique key use `get_result`, never `first`
//!
//! `first` appends `LIMIT ?` with the limit as a bound parameter. SQLite's planner reads a bound LIMIT's value, so
//! it marks the statement to be prepared again whenever that parameter is bound, which is every use: the cached
//! statement is re-parsed and re-planned per request. That was 46 % of the instructions of `GET /auth/me`, and the
//! reason an API key measured 0.8 of a JWT on SQLite (`docs/benchmarks.md`). Every lookup here is by a primary or
//! unique key, so `get_result` (no LIMIT) returns the same row; `clippy.toml` refuses `first`. A list that needs a
//! limit (the paginated ones) still binds one and pays the re-prepare: it is not on a hot path.
//!
//! # Writes are kept prepared: `.cached()`
//!
//! diesel keeps a connection's prepared statements, but never an `INSERT`, an `UPDATE` or an upsert's `DO UPDATE`
//! (their SQL could take too many shapes). Unkept, every login, refresh and charge parsed and planned each of its
//! writes again: on PostgreSQL a `Parse` round trip more per statement. Every write here whose SQL takes few shapes
//! ends in `.cached()` (`cached.rs`), which keeps it keyed by its SQL text; a write whose SQL grows with
//! its input (an `IN` list of bound values) does not. A test per backend (`repositories/prepared_tests.rs`) fails
//! when a statement of a login, refresh or charge is prepared again on a later use.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cached;
mod error;
pub mod pg;
mod pool;
mod redact;
mod rows;
mod schema;
mod sql_types;
pub mod sqlite;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use error::ConnectError;
pub use redact::redact_url;
