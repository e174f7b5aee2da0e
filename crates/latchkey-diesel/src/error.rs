//! Start-up errors, and the translation of diesel's errors into the domain's.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use latchkey_domain::ports::{InsertUserError, UpdateProfileError};
use latchkey_domain::PortError;

/// Boxed cause of a start-up failure.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a store could not be opened or migrated.
///
/// The messages are one line each and name the database without its password, so they can be shown to an
/// operator as they are; the cause is part of the message rather than a separate `source`, so printing the chain
/// does not repeat it.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No connection to the PostgreSQL server could be made.
    #[error("cannot reach PostgreSQL at {target}: {reason}")]
    PostgresUnreachable {
        /// The connection URL with its password removed.
        target: String,
        /// What the driver reported.
        reason: Cause,
    },
    /// The SQLite database file could not be opened or created.
    #[error("cannot open SQLite database {path}: {reason}")]
    SqliteUnavailable {
        /// The file.
        path: String,
        /// What SQLite reported.
        reason: Cause,
    },
    /// The migrations could not be applied.
    #[error("cannot migrate the {backend} database: {reason}")]
    Migration {
        /// `PostgreSQL` or `SQLite`.
        backend: &'static str,
        /// What failed.
        reason: Cause,
    },
}

/// Constraint names from the migrations; SQLite reports the column instead, hence the second pattern.
const EMAIL_UNIQUE: (&str, &str) = ("users_email_key_unique", "users.email_key");
const USERNAME_UNIQUE: (&str, &str) = ("users_username_key_unique", "users.username_key");

/// Maps a failed user insert: a violated email or username key is the caller's business, anything else is not.
pub(crate) fn insert_user_error(error: DieselError) -> InsertUserError {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &error {
        let names = |(constraint, column): (&str, &str)| {
            info.constraint_name() == Some(constraint) || info.message().contains(column)
        };
        if names(EMAIL_UNIQUE) {
            return InsertUserError::EmailTaken;
        }
        if names(USERNAME_UNIQUE) {
            return InsertUserError::UsernameTaken;
        }
    }
    InsertUserError::Unavailable(PortError::new("insert user", error))
}

/// What a failed profile update means: the username's unique index refused it, or the store failed.
pub(crate) fn update_profile_error(error: DieselError) -> UpdateProfileError {
    match insert_user_error(error) {
        InsertUserError::UsernameTaken => UpdateProfileError::UsernameTaken,
        InsertUserError::Unavailable(source) => UpdateProfileError::Unavailable(source),
        // A profile update never sets the email key; report the impossible as a failure, not as a conflict.
        other => UpdateProfileError::Unavailable(PortError::new("update profile", other)),
    }
}

/// A row that violates an invariant the domain types enforce (a malformed id, metadata that is not an object):
/// the database was written by something else, and guessing would be worse than failing.
pub(crate) fn corrupt(context: &'static str, what: &'static str) -> PortError {
    PortError::new(context, what)
}

/// The most specific description in an error's source chain: pools and drivers wrap a connection failure in layers
/// that only add "while creating a new object", and an operator needs the innermost cause.
pub(crate) fn innermost(error: &(dyn std::error::Error + 'static)) -> Cause {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string().into()
}
