//! The access tokens' signing key, from `[jwt]`: HS256 with the JWT secret, or EdDSA with the Ed25519 key files.

use std::path::{Path, PathBuf};

use latchkey_crypto::{Ed25519Keys, JwtError, SigningKey};

use crate::settings::JwtSettings;

/// Why the configured key files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// A key file could not be read.
    #[error("cannot read the JWT key file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The private key file is open to every user of the machine.
    #[error(
        "refusing the JWT private key file {path}: its mode {mode:o} lets every user read or change it (chmod 600 \
         it, or 640 for a group the server runs in, and replace the key if others may have read it)"
    )]
    Insecure {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file does not hold the key expected.
    #[error("{path}: {source}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        source: JwtError,
    },
}

/// EdDSA with `jwt.private_key_file` and the other verifying keys when that is set; HS256 with `secret` otherwise.
///
/// # Errors
/// [`SigningKeyError`] when a key file is unreadable, not the key expected, or (the private one) open to everybody.
pub fn signing_key(settings: &JwtSettings, secret: &[u8]) -> Result<SigningKey, SigningKeyError> {
    let Some(private_key_file) = &settings.private_key_file else {
        return Ok(SigningKey::Hs256(secret.to_vec()));
    };
    refuse_if_public(private_key_file)?;
    let mut keys = Ed25519Keys::from_pkcs8_pem(&read(private_key_file)?).map_err(|source| {
        SigningKeyError::Invalid {
            path: private_key_file.clone(),
            source,
        }
    })?;
    for path in &settings.verifying_key_files {
        keys = keys
            .with_verifying_key_pem(&read(path)?)
            .map_err(|source| SigningKeyError::Invalid {
                path: path.clone(),
                source,
            })?;
    }
    Ok(SigningKey::Ed25519(keys))
}

fn read(path: &Path) -> Result<String, SigningKeyError> {
    std::fs::read_to_string(path).map_err(|source| SigningKeyError::File {
        path: path.to_owned(),
        source,
    })
}

/// A private key every user of the machine can read is no longer private. Group access is allowed, and links
/// followed: orchestrators mount secrets as links to files readable by the pod's group.
fn refuse_if_public(path: &Path) -> Result<(), SigningKeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|source| SigningKeyError::File {
                path: path.to_owned(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o007 != 0 {
            return Err(SigningKeyError::Insecure {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIEDlAHh1iVksaPudJymSGCaosj+gF7IFDQf0kVkw9P0f\n\
        -----END PRIVATE KEY-----\n";
    const RETIRED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\n\
        MCowBQYDK2VwAyEAlvKK4dQBSE50wVBpk1iVCj+79r0h21K1uX34YQ5k2Zo=\n\
        -----END PUBLIC KEY-----\n";

    fn settings() -> JwtSettings {
        crate::Settings::default().jwt
    }

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn without_a_key_file_the_secret_signs_with_hs256() {
        let key = signing_key(&settings(), b"secret").unwrap();
        assert!(matches!(key, SigningKey::Hs256(secret) if secret == b"secret"));
    }

    #[test]
    fn a_key_file_signs_with_eddsa_and_verifying_keys_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut jwt = settings();
        jwt.private_key_file = Some(write(dir.path(), "jwt.pem", PRIVATE, 0o640));
        jwt.verifying_key_files = vec![write(dir.path(), "old.pub", RETIRED_PUBLIC, 0o644)];
        let key = signing_key(&jwt, b"secret").unwrap();
        assert!(matches!(key, SigningKey::Ed25519(_)));
        let codec = latchkey_crypto::JwtCodec::new(latchkey_crypto::JwtConfig {
            key,
            issuer: jwt.issuer,
            audience: jwt.audience,
        })
        .unwrap();
        assert_eq!(codec.published_keys().unwrap().keys.len(), 2);
    }

    #[test]
    fn a_private_key_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut jwt = settings();
        for mode in [0o604, 0o602, 0o644] {
            jwt.private_key_file = Some(write(dir.path(), "jwt.pem", PRIVATE, mode));
            let error = signing_key(&jwt, b"secret").unwrap_err();
            assert!(
                matches!(error, SigningKeyError::Insecure { mode: m, .. } if m == mode),
                "{error}"
            );
        }
    }

    #[test]
    fn missing_or_wrong_key_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut jwt = settings();
        jwt.private_key_file = Some(dir.path().join("absent.pem"));
        assert!(matches!(
            signing_key(&jwt, b"secret"),
            Err(SigningKeyError::File { .. })
        ));
        // A public key where the private one belongs.
        jwt.private_key_file = Some(write(dir.path(), "jwt.pem", RETIRED_PUBLIC, 0o600));
        let error = signing_key(&jwt, b"secret").unwrap_err();
        assert!(error.to_string().contains("jwt.pem"), "{error}");
        assert!(matches!(error, SigningKeyError::Invalid { .. }));
        // A private key where a public one belongs.
        jwt.private_key_file = Some(write(dir.path(), "jwt.pem", PRIVATE, 0o600));
        jwt.verifying_key_files = vec![write(dir.path(), "old.pub", PRIVATE, 0o600)];
        let error = signing_key(&jwt, b"secret").unwrap_err();
        assert!(error.to_string().contains("old.pub"), "{error}");
        // Never the key itself in the message.
        assert!(!error.to_string().contains("MC4CAQ"));
    }
}
