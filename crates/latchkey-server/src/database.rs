//! Picks the storage adapter from the database URL.

use std::path::PathBuf;
use std::sync::Arc;

use latchkey_diesel::pg::PgStore;
use latchkey_diesel::sqlite::SqliteStore;
use latchkey_diesel::ConnectError;
use latchkey_domain::ports::{
    ChallengeRepository, CredentialRepository, CreditLedger, EventLog, HealthCheck, Outbox,
    RateLimiter, SessionRepository, UserRepository,
};

/// Which backend a URL names.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (the URL as given).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(url) => f
                .debug_tuple("Postgres")
                .field(&latchkey_diesel::redact_url(url))
                .finish(),
        }
    }
}

/// Why a database URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseUrlError {
    /// Neither `sqlite:` nor `postgres:`/`postgresql:`.
    #[error(
        "unsupported database URL scheme in {0:?}: use sqlite://PATH or postgres://USER@HOST/DB"
    )]
    UnknownScheme(String),
    /// `sqlite://` with no path, or an in-memory database (each pooled connection would see its own).
    #[error("a SQLite URL needs a file path, e.g. sqlite://latchkey.db")]
    MissingPath,
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH` (relative), `sqlite:///ABS/PATH`, or `postgres://…`/`postgresql://…`.
    ///
    /// # Errors
    /// [`DatabaseUrlError`] for any other scheme or an empty SQLite path.
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let Some(rest) = url.strip_prefix("sqlite:") else {
            // Never echo the URL of an unknown scheme back: it may carry a password. Only a scheme is named, and only
            // when it is one (a libpq `key=value` string has none).
            let scheme = url
                .split_once(':')
                .map(|(scheme, _)| scheme)
                .filter(|scheme| {
                    !scheme.is_empty()
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                });
            return Err(DatabaseUrlError::UnknownScheme(match scheme {
                Some(scheme) => format!("{scheme}:"),
                None => "a string without a scheme".to_owned(),
            }));
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return Err(DatabaseUrlError::MissingPath);
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// The repositories of one backend, as the domain's ports.
#[derive(Clone)]
pub struct Stores {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Personal tokens and API keys.
    pub credentials: Arc<dyn CredentialRepository>,
    /// Balances, charges and the credits ledger.
    pub ledger: Arc<dyn CreditLedger>,
    /// Readiness.
    pub health: Arc<dyn HealthCheck>,
    /// Verification challenges and reset tokens, with their emails.
    pub challenges: Arc<dyn ChallengeRepository>,
    /// The emails waiting for delivery.
    pub outbox: Arc<dyn Outbox>,
    /// Rate-limit counts.
    pub limiter: Arc<dyn RateLimiter>,
    /// The security event log.
    pub events: Arc<dyn EventLog>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    fn from<S>(store: S) -> Self
    where
        S: UserRepository
            + SessionRepository
            + CredentialRepository
            + CreditLedger
            + HealthCheck
            + ChallengeRepository
            + Outbox
            + RateLimiter
            + EventLog
            + 'static,
    {
        let store = Arc::new(store);
        Self {
            users: store.clone(),
            sessions: store.clone(),
            credentials: store.clone(),
            ledger: store.clone(),
            health: store.clone(),
            challenges: store.clone(),
            outbox: store.clone(),
            limiter: store.clone(),
            events: store,
        }
    }
}

/// Connects to the database and brings its schema up to date.
///
/// # Errors
/// [`ConnectError`] when the database cannot be reached or a migration fails.
pub async fn connect_and_migrate(
    url: &DatabaseUrl,
    max_connections: usize,
) -> Result<Stores, ConnectError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            create_private(path).map_err(|reason| ConnectError::SqliteUnavailable {
                path: path.display().to_string(),
                reason: reason.into(),
            })?;
            let store = SqliteStore::open(path, max_connections).await?;
            store.run_migrations().await?;
            Ok(Stores::from(store))
        }
        DatabaseUrl::Postgres(url) => {
            let store = PgStore::connect(url, max_connections).await?;
            store.run_migrations().await?;
            Ok(Stores::from(store))
        }
    }
}

/// Creates the SQLite database file, empty and readable by this user only (mode 0600), unless it exists: SQLite
/// would create it with the process's umask (often 0644), and it holds password hashes and token hashes. SQLite
/// gives its `-wal` and `-shm` files the database file's mode.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_is_private_and_an_existing_one_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let stores = connect_and_migrate(&DatabaseUrl::Sqlite(path.clone()), 2)
            .await
            .unwrap();
        stores.health.check().await.unwrap();
        assert_eq!(mode(&path), 0o600);
        let wal = dir.path().join("new.db-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }

        let existing = dir.path().join("existing.db");
        std::fs::write(&existing, b"").unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o640)).unwrap();
        connect_and_migrate(&DatabaseUrl::Sqlite(existing.clone()), 1)
            .await
            .unwrap();
        assert_eq!(mode(&existing), 0o640, "an operator's choice is kept");
    }

    #[test]
    fn parses_both_backends_and_refuses_the_rest() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://latchkey.db").unwrap(),
            DatabaseUrl::Sqlite("latchkey.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/latchkey/db.sqlite").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/latchkey/db.sqlite".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::MissingPath)
        ));
        assert!(matches!(
            DatabaseUrl::parse("sqlite::memory:"),
            Err(DatabaseUrlError::MissingPath)
        ));
        for url in [
            "mysql://root:hunter2@db/x",
            "host=db user=app password=hunter2",
            "password=hunter2:x",
            "",
        ] {
            let error = DatabaseUrl::parse(url).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
