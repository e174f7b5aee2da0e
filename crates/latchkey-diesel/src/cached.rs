//! Prepared statements kept for the writes diesel would prepare again on every use.
//!
//! diesel caches a connection's prepared statements, but never an `INSERT` (on PostgreSQL each value may be
//! `DEFAULT`), an `UPDATE` (its `SET` list depends on the changeset) or an upsert's `DO UPDATE`: their SQL could take
//! too many shapes to keep one statement each. So every login, refresh and charge parsed and planned its writes
//! again: on PostgreSQL a `Parse` round trip and a plan per statement, on SQLite a compile per statement.
//!
//! The writes here take few shapes (a row's optional values are present or not), so [`Cached`] lets the connection
//! keep them. It keys the cache by the statement's SQL text and the types of its binds, never by its Rust type: a
//! shape it has not seen is prepared and kept beside the others, never mistaken for one it has. Wrap only statements
//! whose shapes are few; one whose SQL grows with its input (a list of values, `IN` with one bind per element on
//! SQLite) would grow the cache without bound.

use diesel::backend::{Backend, DieselReserveSpecialization};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::QueryResult;

/// A statement the connection keeps prepared, keyed by its SQL (see the module documentation).
#[derive(Debug, Clone, Copy)]
#[must_use = "a statement runs only when executed or loaded"]
pub(crate) struct Cached<Q>(Q);

/// `.cached()` on any statement: keep it prepared (see [`Cached`]).
pub(crate) trait CacheStatement: Sized {
    /// Wraps the statement so the connection keeps it prepared.
    fn cached(self) -> Cached<Self> {
        Cached(self)
    }
}

impl<Q> CacheStatement for Q {}

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    DB: Backend + DieselReserveSpecialization,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    // The one thing this type changes. The connection asks it of the statement it is given, so this answer (not
    // the inner statement's) decides; the key stays the SQL text because `HAS_STATIC_QUERY_ID` is false below.
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Cached<Q> {
    type QueryId = ();

    // Never keyed by type: one Rust type can write `DEFAULT` for a value in one call and bind it in the next.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

/// What a connection prepared and kept, for the tests that check a path's statements are all kept.
#[cfg(test)]
pub(crate) mod statement_log {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex, PoisonError};

    use diesel::connection::{Instrumentation, InstrumentationEvent};

    /// The statements a connection ran and those it kept prepared, by SQL text; transaction control left out.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct StatementLog(Arc<Mutex<Seen>>);

    #[derive(Debug, Default)]
    struct Seen {
        ran: BTreeSet<String>,
        kept: BTreeSet<String>,
        prepared_and_kept: usize,
    }

    impl StatementLog {
        /// The statements run that were not kept prepared: each of them was parsed and planned again on every use.
        pub(crate) fn not_kept(&self) -> Vec<String> {
            let seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            seen.ran.difference(&seen.kept).cloned().collect()
        }

        /// How many times a statement was prepared and kept (the same one twice counts twice).
        pub(crate) fn prepared_and_kept(&self) -> usize {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .prepared_and_kept
        }

        /// How many different statements ran.
        pub(crate) fn ran(&self) -> usize {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .ran
                .len()
        }
    }

    impl Instrumentation for StatementLog {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            match event {
                InstrumentationEvent::StartQuery { query, .. } => {
                    // The display is the SQL, then ` -- binds: […]`.
                    let text = query.to_string();
                    let sql = text
                        .split(" -- binds: ")
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let control = ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"];
                    if !control.iter().any(|word| sql.starts_with(word)) {
                        seen.ran.insert(sql);
                    }
                }
                InstrumentationEvent::CacheQuery { sql, .. } => {
                    seen.prepared_and_kept += 1;
                    seen.kept.insert(sql.to_owned());
                }
                _ => {}
            }
        }
    }
}
