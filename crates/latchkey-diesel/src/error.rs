//! Start-up errors, and the translation of diesel's errors into the domain's.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use latchkey_domain::ports::InsertUserError;
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

/// A connection URL (or `key=value` string) fit for messages: the password, if any, is replaced by `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            if let Some((user, _password)) = userinfo.split_once(':') {
                return format!("{scheme}://{user}:***@{host}{tail}");
            }
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/latchkey?sslmode=require"),
            "postgres://app:***@db:5432/latchkey?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("host=db user=app password=s3cret dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
    }
}
