//! Typed configuration: built-in defaults, then an optional TOML file, then `LATCHKEY__SECTION__KEY` variables.

use std::collections::BTreeMap;
use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

/// Every setting of the `latchkey` binary. See `docs/configuration.md` for each key, its default and variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener.
    pub server: ServerSettings,
    /// Storage.
    pub database: DatabaseSettings,
    /// Access and refresh tokens.
    pub jwt: JwtSettings,
    /// Password length policy.
    pub password: PasswordSettings,
    /// argon2id cost.
    pub argon2: Argon2Settings,
    /// Welcome credits and prices.
    pub credits: CreditsSettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on (`LATCHKEY__SERVER__BIND`, default `127.0.0.1:8080`).
    pub bind: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Seconds given to in-flight requests on SIGTERM/SIGINT before the process exits.
    pub shutdown_timeout_seconds: u64,
}

/// `[database]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…` (`LATCHKEY__DATABASE__URL`, else `DATABASE_URL`).
    pub url: String,
    /// Pool size.
    pub max_connections: usize,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &latchkey_diesel::redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// `[jwt]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// HS256 secret, at least 32 bytes (`LATCHKEY__JWT__SECRET`). Generated and kept beside a SQLite database when
    /// absent; required with PostgreSQL.
    pub secret: Option<String>,
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: String,
    /// Access token lifetime.
    pub access_ttl_seconds: i64,
    /// Refresh token lifetime.
    pub refresh_ttl_seconds: i64,
    /// How long a spent refresh token may be retried for the same new pair.
    pub refresh_reuse_grace_seconds: i64,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl_seconds", &self.access_ttl_seconds)
            .field("refresh_ttl_seconds", &self.refresh_ttl_seconds)
            .field(
                "refresh_reuse_grace_seconds",
                &self.refresh_reuse_grace_seconds,
            )
            .finish()
    }
}

/// `[password]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSettings {
    /// Shortest password, in characters.
    pub min_length: usize,
    /// Longest password, in characters.
    pub max_length: usize,
}

/// `[argon2]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// `[credits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsSettings {
    /// Balance of a new account.
    pub welcome: i64,
    /// Price per unit, e.g. `photo = 100`.
    pub pricing: BTreeMap<String, i64>,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `latchkey_http=debug,info` (`RUST_LOG` wins when set).
    pub filter: String,
}

/// Built-in defaults, as TOML so the file format documents itself.
pub const DEFAULTS: &str = r#"
[server]
bind = "127.0.0.1:8080"
workers = 0
max_body_bytes = 16384
shutdown_timeout_seconds = 30

[database]
url = "sqlite://latchkey.db"
max_connections = 16

[jwt]
issuer = "latchkey"
audience = "latchkey"
access_ttl_seconds = 900
refresh_ttl_seconds = 2592000
refresh_reuse_grace_seconds = 10

[password]
min_length = 8
max_length = 256

[argon2]
memory_kib = 19456
iterations = 2
parallelism = 1

[credits]
welcome = 1000

[credits.pricing]
second_video = 10
photo = 100

[log]
filter = "info"
"#;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(#[from] config::ConfigError);

impl Settings {
    /// Loads defaults, then `file` if given, then the environment.
    ///
    /// # Errors
    /// [`SettingsError`] when the file is missing or unparseable, or a value has the wrong type or an unknown key.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Settings::load`], with the environment given explicitly (for tests).
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        // DATABASE_URL is the convention of most hosting platforms; LATCHKEY__DATABASE__URL still wins.
        if !env.contains_key("LATCHKEY__DATABASE__URL") {
            builder =
                builder.set_override_option("database.url", env.get("DATABASE_URL").cloned())?;
        }
        builder = builder.add_source(
            Environment::with_prefix("LATCHKEY")
                .prefix_separator("__")
                .separator("__")
                .source(Some(env.into_iter().collect())),
        );
        Ok(builder.build()?.try_deserialize()?)
    }
}

impl Default for Settings {
    /// The built-in defaults alone, without file or environment.
    fn default() -> Self {
        Self::load_from(None, std::iter::empty())
            .unwrap_or_else(|error| unreachable!("the built-in defaults always parse: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_match_the_documentation() {
        let settings = Settings::default();
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        assert_eq!(settings.database.url, "sqlite://latchkey.db");
        assert!(settings.jwt.secret.is_none());
        assert_eq!(settings.credits.welcome, 1000);
        assert_eq!(settings.credits.pricing["photo"], 100);
        assert_eq!(settings.credits.pricing["second_video"], 10);
        assert_eq!(settings.argon2.memory_kib, 19456);
        assert_eq!(settings.password.max_length, 256);
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(
            &path,
            "[server]\nbind = \"0.0.0.0:9000\"\n[credits]\nwelcome = 5\n",
        )
        .unwrap();
        let settings = Settings::load_from(
            Some(&path),
            env(&[
                ("LATCHKEY__CREDITS__WELCOME", "7"),
                ("LATCHKEY__JWT__SECRET", "s3cret"),
                ("LATCHKEY__CREDITS__PRICING__PHOTO", "42"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.server.bind, "0.0.0.0:9000");
        assert_eq!(settings.credits.welcome, 7);
        assert_eq!(settings.credits.pricing["photo"], 42);
        assert_eq!(settings.jwt.secret.as_deref(), Some("s3cret"));
    }

    #[test]
    fn database_url_is_honoured_but_the_prefixed_variable_wins() {
        let plain = Settings::load_from(None, env(&[("DATABASE_URL", "postgres://a/b")])).unwrap();
        assert_eq!(plain.database.url, "postgres://a/b");
        let both = Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("LATCHKEY__DATABASE__URL", "sqlite://x.db"),
            ]),
        )
        .unwrap();
        assert_eq!(both.database.url, "sqlite://x.db");
    }

    #[test]
    fn digits_only_secrets_stay_strings() {
        let secret = "12345678901234567890123456789012345678";
        let settings =
            Settings::load_from(None, env(&[("LATCHKEY__JWT__SECRET", secret)])).unwrap();
        assert_eq!(settings.jwt.secret.as_deref(), Some(secret));
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let settings = Settings::load_from(
            None,
            env(&[("DATABASE_URL", "postgres://app:hunter2@db/x")]),
        )
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("postgres://app:***@db/x"));
    }

    #[test]
    fn unparseable_files_and_unknown_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[server\nbind = ").unwrap();
        assert!(Settings::load_from(Some(&path), env(&[])).is_err());
        std::fs::write(&path, "[server]\nbnid = \"x\"\n").unwrap();
        assert!(Settings::load_from(Some(&path), env(&[])).is_err());
        assert!(Settings::load_from(Some(&dir.path().join("missing.toml")), env(&[])).is_err());
        assert!(Settings::load_from(None, env(&[("LATCHKEY__SERVER__WORKERS", "many")])).is_err());
    }
}
