//! Where the JWT secret comes from.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::database::DatabaseUrl;

/// Why no usable secret was found.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// PostgreSQL deployments share one secret across instances, so it must be configured.
    #[error("LATCHKEY__JWT__SECRET is required with PostgreSQL (at least 32 bytes; e.g. `openssl rand -base64 48`)")]
    MissingForPostgres,
    /// The generated secret file could not be read or written.
    #[error("cannot use the JWT secret file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The configured secret; or, with SQLite and none configured, the one kept beside the database file, generated on
/// first start so tokens survive a restart.
///
/// # Errors
/// [`SecretError`] when none is configured for PostgreSQL or the file cannot be used.
pub fn resolve(configured: Option<&str>, database: &DatabaseUrl) -> Result<Vec<u8>, SecretError> {
    if let Some(secret) = configured {
        return Ok(secret.as_bytes().to_vec());
    }
    match database {
        DatabaseUrl::Postgres(_) => Err(SecretError::MissingForPostgres),
        DatabaseUrl::Sqlite(db_path) => {
            let path = secret_path(db_path);
            load_or_create(&path).map_err(|source| SecretError::File { path, source })
        }
    }
}

fn secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".jwt-secret");
    db_path.with_file_name(name)
}

fn load_or_create(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(secret) => return Ok(secret.trim().as_bytes().to_vec()),
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        Err(_) => {}
    }
    let secret = URL_SAFE_NO_PAD.encode(latchkey_crypto::random_key())
        + &URL_SAFE_NO_PAD.encode(latchkey_crypto::random_key());
    // Write a private temporary file, then link it into place: the link either creates the secret file whole or
    // fails because another instance got there first, so nobody ever reads a half-written secret.
    let temporary = path.with_extension(format!(
        "tmp-{}",
        URL_SAFE_NO_PAD.encode(&latchkey_crypto::random_key()[..9])
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()?;
    drop(file);
    let linked = std::fs::hard_link(&temporary, path);
    std::fs::remove_file(&temporary)?;
    match linked {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "no JWT secret configured: generated one and stored it beside the database; \
                 set LATCHKEY__JWT__SECRET in production"
            );
            Ok(secret.into_bytes())
        }
        // Another instance created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().as_bytes().to_vec())
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_secret_wins() {
        let url = DatabaseUrl::Postgres("postgres://x".into());
        assert_eq!(resolve(Some("abc"), &url).unwrap(), b"abc");
    }

    #[test]
    fn postgres_without_secret_is_an_error() {
        let url = DatabaseUrl::Postgres("postgres://x".into());
        assert!(matches!(
            resolve(None, &url),
            Err(SecretError::MissingForPostgres)
        ));
    }

    #[test]
    fn sqlite_generates_a_private_secret_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("app.db"));
        let first = resolve(None, &url).unwrap();
        assert!(first.len() >= 32);
        assert_eq!(resolve(None, &url).unwrap(), first);
        let path = dir.path().join("app.db.jwt-secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn instances_starting_together_agree_on_one_secret() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("app.db"));
        let secrets: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| resolve(None, &url).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(secrets[0].len() >= 32);
        assert!(secrets.iter().all(|s| *s == secrets[0]));
    }
}
