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
    /// The secret file exists but anyone besides this user could have read or replaced it: a secret others may
    /// know signs nothing. Fix the file (or delete it to have a new one generated) rather than run with it.
    #[error("refusing the JWT secret file {path}: {reason}")]
    Insecure {
        /// The file.
        path: PathBuf,
        /// What is wrong, and how to fix it.
        reason: String,
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
        DatabaseUrl::Sqlite(db_path) => load_or_create(&secret_path(db_path)),
    }
}

fn secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".jwt-secret");
    db_path.with_file_name(name)
}

/// A failure of [`load_or_create`]: I/O, or a file that is not private.
enum FileError {
    Io(std::io::Error),
    Insecure(String),
}

impl From<std::io::Error> for FileError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

fn load_or_create(path: &Path) -> Result<Vec<u8>, SecretError> {
    load_or_create_file(path).map_err(|error| match error {
        FileError::Io(source) => SecretError::File {
            path: path.to_owned(),
            source,
        },
        FileError::Insecure(reason) => SecretError::Insecure {
            path: path.to_owned(),
            reason,
        },
    })
}

fn load_or_create_file(path: &Path) -> Result<Vec<u8>, FileError> {
    match read_private(path) {
        Err(FileError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let secret = URL_SAFE_NO_PAD.encode(latchkey_crypto::random_key())
        + &URL_SAFE_NO_PAD.encode(latchkey_crypto::random_key());
    // Write a private temporary file, then link it into place: the link either creates the secret file whole or
    // fails because another instance got there first, so nobody ever reads a half-written secret. `create_new`
    // (O_EXCL) creates the file with mode 0600 from the start and never follows a link planted at its name.
    let temporary = path.with_extension(format!(
        "tmp-{}",
        URL_SAFE_NO_PAD.encode(&latchkey_crypto::random_key()[..9])
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    let written = file
        .write_all(secret.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    std::fs::remove_file(&temporary)?;
    match linked {
        Ok(()) => {
            // The new name must survive a crash as the content does: sync the directory that holds it.
            sync_directory(path)?;
            tracing::warn!(
                path = %path.display(),
                "no JWT secret configured: generated one and stored it beside the database; \
                 set LATCHKEY__JWT__SECRET in production"
            );
            Ok(secret.into_bytes())
        }
        // Another instance created it first: use theirs.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_private(path),
        Err(error) => Err(error.into()),
    }
}

/// Reads the secret file after checking that only this user can read or replace it: a regular file, not a link,
/// owned by the process's user, with no permission for group or others.
fn read_private(path: &Path) -> Result<Vec<u8>, FileError> {
    let link = std::fs::symlink_metadata(path)?;
    if link.file_type().is_symlink() {
        return Err(FileError::Insecure(
            "it is a symbolic link; put the file itself there (or set LATCHKEY__JWT__SECRET)"
                .to_owned(),
        ));
    }
    let mut file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(FileError::Insecure("it is not a regular file".to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // The file opened is the one checked above, not one swapped in since.
        if (metadata.dev(), metadata.ino()) != (link.dev(), link.ino()) {
            return Err(FileError::Insecure(
                "it was replaced while being opened".to_owned(),
            ));
        }
        let user = rustix::process::geteuid().as_raw();
        if metadata.uid() != user {
            return Err(FileError::Insecure(format!(
                "it is owned by user {}, not by user {user} who runs the server (chown it, or delete it to \
                 have a new one generated)",
                metadata.uid()
            )));
        }
        if metadata.mode() & 0o077 != 0 {
            return Err(FileError::Insecure(format!(
                "its mode {:o} lets group or others read or change it (chmod 600 it, and replace the secret if \
                 others may have read it)",
                metadata.mode() & 0o777
            )));
        }
    }
    let mut secret = String::new();
    std::io::Read::read_to_string(&mut file, &mut secret)?;
    Ok(secret.trim().as_bytes().to_vec())
}

/// Syncs the directory holding `path`, so that a file just created in it is there after a crash.
fn sync_directory(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        std::fs::File::open(directory)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
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

    #[cfg(unix)]
    fn secret_file_with_mode(dir: &Path, mode: u32) -> (DatabaseUrl, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let url = DatabaseUrl::Sqlite(dir.join("app.db"));
        let path = dir.join("app.db.jwt-secret");
        std::fs::write(&path, "a-secret-that-is-at-least-32-bytes-long-1234").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (url, path)
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_refused() {
        for mode in [0o644, 0o640, 0o604, 0o620, 0o602] {
            let dir = tempfile::tempdir().unwrap();
            let (url, _) = secret_file_with_mode(dir.path(), mode);
            let error = resolve(None, &url).unwrap_err();
            assert!(
                matches!(error, SecretError::Insecure { .. }),
                "{mode:o}: {error}"
            );
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
        let dir = tempfile::tempdir().unwrap();
        let (url, _) = secret_file_with_mode(dir.path(), 0o600);
        assert_eq!(
            resolve(None, &url).unwrap(),
            b"a-secret-that-is-at-least-32-bytes-long-1234"
        );
        let (url, _) = secret_file_with_mode(dir.path(), 0o400);
        assert!(resolve(None, &url).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_that_is_a_symbolic_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "a-secret-that-is-at-least-32-bytes-long-1234").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("app.db.jwt-secret")).unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("app.db"));
        let error = resolve(None, &url).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        // A dangling link is refused too, not written through.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("planted");
        std::os::unix::fs::symlink(&target, dir.path().join("app.db.jwt-secret")).unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("app.db"));
        assert!(matches!(
            resolve(None, &url),
            Err(SecretError::Insecure { .. })
        ));
        assert!(!target.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_owned_by_another_user_is_refused() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let (url, path) = secret_file_with_mode(dir.path(), 0o600);
        let other = rustix::process::geteuid().as_raw() + 1;
        // Only root may give a file away; elsewhere there is no file to test with.
        if std::os::unix::fs::chown(&path, Some(other), None).is_err() {
            println!("skipped: cannot chown a file to another user without root");
            return;
        }
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), other);
        let error = resolve(None, &url).unwrap_err().to_string();
        assert!(error.contains(&format!("owned by user {other}")), "{error}");
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
