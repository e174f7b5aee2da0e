//! The access tokens' signing key, from `[jwt]`: HS256 with the JWT secret, or EdDSA with the Ed25519 key files.

use std::path::{Path, PathBuf};

use latchkey_crypto::{Ed25519Keys, JwtError, SigningKey};
use zeroize::Zeroizing;

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
    /// A key file others could read (the private one) or replace.
    #[error("refusing the JWT key file {path}: its mode {mode:o} {advice}")]
    Insecure {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// What is wrong, and the fix.
        advice: &'static str,
    },
    /// Verifying keys are configured but no private key: the server would sign with HS256 and ignore them, which
    /// during a rotation would go unnoticed.
    #[error("jwt.verifying_key_files is set but jwt.private_key_file is not: verifying keys need an EdDSA key")]
    VerifyingKeysWithoutPrivateKey,
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
/// [`SigningKeyError`] when a key file is unreadable, not the key expected, or open to others: the private key
/// must not be readable by every user nor writable by the group, and no key file may be writable by the group or
/// every user (whoever could replace a verifying key could sign tokens for any account).
pub fn signing_key(settings: &JwtSettings, secret: &[u8]) -> Result<SigningKey, SigningKeyError> {
    let Some(private_key_file) = &settings.private_key_file else {
        if !settings.verifying_key_files.is_empty() {
            return Err(SigningKeyError::VerifyingKeysWithoutPrivateKey);
        }
        return Ok(SigningKey::Hs256(secret.to_vec()));
    };
    let pem = read_key_file(private_key_file, &PRIVATE_KEY)?;
    let mut keys =
        Ed25519Keys::from_pkcs8_pem(&pem).map_err(|source| SigningKeyError::Invalid {
            path: private_key_file.clone(),
            source,
        })?;
    for path in &settings.verifying_key_files {
        let pem = read_key_file(path, &PUBLIC_KEY)?;
        keys = keys
            .with_verifying_key_pem(&pem)
            .map_err(|source| SigningKeyError::Invalid {
                path: path.clone(),
                source,
            })?;
    }
    Ok(SigningKey::Ed25519(keys))
}

/// The permission bits refused on a kind of key file, and what to do instead.
struct KeyFileRule {
    refused_mode: u32,
    advice: &'static str,
}

/// The private key: no group write, nothing for every user. Group read is allowed, as orchestrators mount secrets
/// readable by the pod's group (and links are followed, as they mount them).
const PRIVATE_KEY: KeyFileRule = KeyFileRule {
    refused_mode: 0o027,
    advice: "lets others read or replace this private key (chmod 600 it, or 640 for a group the server runs in, \
             and replace the key if others may have read it)",
};
/// A public key: no write by the group or every user, since whoever replaced it could sign tokens.
const PUBLIC_KEY: KeyFileRule = KeyFileRule {
    refused_mode: 0o022,
    advice: "lets others replace this verifying key, and so sign tokens (chmod 644 it)",
};

/// Reads a key file, checking the permissions of the file actually opened; the text is wiped when dropped.
fn read_key_file(path: &Path, rule: &KeyFileRule) -> Result<Zeroizing<String>, SigningKeyError> {
    let io_error = |source| SigningKeyError::File {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata().map_err(io_error)?.permissions().mode() & 0o777;
        if mode & rule.refused_mode != 0 {
            return Err(SigningKeyError::Insecure {
                path: path.to_owned(),
                mode,
                advice: rule.advice,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = rule;
    let mut pem = Zeroizing::new(String::new());
    std::io::Read::read_to_string(&mut file, &mut pem).map_err(io_error)?;
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const PRIVATE: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIEDlAHh1iVksaPudJymSGCaosj+gF7IFDQf0kVkw9P0f\n\
        -----END PRIVATE KEY-----\n";
    const VERIFYING_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----\n\
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
    fn verifying_keys_without_a_private_key_stop_the_start() {
        let mut jwt = settings();
        jwt.verifying_key_files = vec![PathBuf::from("/etc/latchkey/next.pub")];
        assert!(matches!(
            signing_key(&jwt, b"secret"),
            Err(SigningKeyError::VerifyingKeysWithoutPrivateKey)
        ));
    }

    #[test]
    fn a_key_file_signs_with_eddsa_and_verifying_keys_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut jwt = settings();
        jwt.private_key_file = Some(write(dir.path(), "jwt.pem", PRIVATE, 0o640));
        jwt.verifying_key_files = vec![write(dir.path(), "old.pub", VERIFYING_PUBLIC, 0o644)];
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
    fn key_files_others_could_read_or_replace_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut jwt = settings();
        for mode in [0o604, 0o602, 0o601, 0o644, 0o660] {
            jwt.private_key_file = Some(write(dir.path(), "jwt.pem", PRIVATE, mode));
            let error = signing_key(&jwt, b"secret").unwrap_err();
            assert!(
                matches!(error, SigningKeyError::Insecure { mode: m, .. } if m == mode),
                "{mode:o}: {error}"
            );
        }
        jwt.private_key_file = Some(write(dir.path(), "jwt.pem", PRIVATE, 0o640));
        for mode in [0o646, 0o662] {
            jwt.verifying_key_files = vec![write(dir.path(), "next.pub", VERIFYING_PUBLIC, mode)];
            let error = signing_key(&jwt, b"secret").unwrap_err();
            assert!(
                matches!(&error, SigningKeyError::Insecure { path, .. } if path.ends_with("next.pub")),
                "{mode:o}: {error}"
            );
        }
        jwt.verifying_key_files = vec![write(dir.path(), "next.pub", VERIFYING_PUBLIC, 0o644)];
        assert!(signing_key(&jwt, b"secret").is_ok());
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
        jwt.private_key_file = Some(write(dir.path(), "jwt.pem", VERIFYING_PUBLIC, 0o600));
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
