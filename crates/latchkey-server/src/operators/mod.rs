//! Operators' commands that read and change the database through the service (`latchkey events`,
//! `latchkey users …`): each
//! prints its result on stdout, as text for people or JSON for scripts, and fails with one [`OperatorError`].

pub mod credits;
mod events;
mod users;

pub use events::{events, render, EventsRequest};
pub use users::{account_json, render_account, render_list, users, UsersCommand};

use latchkey_domain::Latchkey;

use crate::app::{build_service, StartupError};
use crate::database::DatabaseUrl;
use crate::settings::Settings;

/// Why an operator's command failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The service could not be built (configuration, database).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The store failed.
    #[error(transparent)]
    Unavailable(#[from] latchkey_domain::PortError),
    /// The configured SQLite database does not exist.
    #[error("no database at `{0}` (is this the configuration `serve` runs with?)")]
    NoDatabase(String),
    /// The database URL is unusable.
    #[error(transparent)]
    DatabaseUrl(#[from] crate::database::DatabaseUrlError),
    /// No account has this id or email address.
    #[error("no account has the id or email `{0}`")]
    NoSuchUser(String),
    /// The service refused the change (a zero amount, an empty reason, a balance out of range).
    #[error("{0}")]
    Refused(String),
    /// Not an event kind.
    #[error("unknown event kind `{0}` (one of: {kinds})", kinds = events::kind_names())]
    UnknownKind(String),
}

/// The service over the configured database, refusing a SQLite database that does not exist: run from the wrong
/// directory, a command would otherwise create an empty one and report nothing.
async fn open_service(settings: &Settings) -> Result<Latchkey, OperatorError> {
    if let DatabaseUrl::Sqlite(path) = DatabaseUrl::parse(&settings.database.url)? {
        if !path.exists() {
            return Err(OperatorError::NoDatabase(path.display().to_string()));
        }
    }
    Ok(build_service(settings).await?)
}
