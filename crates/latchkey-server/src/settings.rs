//! Typed configuration: built-in defaults, then an optional TOML file, then `LATCHKEY__SECTION__KEY` variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config::builder::DefaultState;
use config::{Config, ConfigBuilder, Environment, File, FileFormat};
use latchkey_crypto::{Argon2Hasher, Argon2Params};
use latchkey_domain::{Policies, Rate};
use serde::Deserialize;

/// Every setting of the `latchkey` binary. See `docs/configuration.md` for each key, its default and variable.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener.
    pub server: ServerSettings,
    /// Storage.
    pub database: DatabaseSettings,
    /// Access tokens (JWTs).
    pub jwt: JwtSettings,
    /// Opaque tokens: refresh tokens (and, later, personal tokens and API keys).
    pub tokens: TokensSettings,
    /// Password length policy.
    pub password: PasswordSettings,
    /// argon2id cost.
    pub argon2: Argon2Settings,
    /// Welcome credits and prices.
    pub credits: CreditsSettings,
    /// Outgoing email.
    pub mail: MailSettings,
    /// Email verification.
    pub verification: VerificationSettings,
    /// Password reset.
    pub reset: ResetSettings,
    /// Personal tokens and API keys.
    pub credentials: CredentialsSettings,
    /// Rate limits.
    pub throttle: ThrottleSettings,
    /// The security event log.
    pub events: EventsSettings,
    /// Logging.
    pub log: LogSettings,
    /// The purge job.
    pub purge: PurgeSettings,
    /// `POST /oauth/introspect`.
    #[serde(default)]
    pub introspection: IntrospectionSettings,
}

/// `[introspection]`: the RFC 7662 endpoint for the product's own backends.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionSettings {
    /// The secret backends present, as HTTP Basic password or bearer token, at least 32 bytes
    /// (`LATCHKEY__INTROSPECTION__SECRET`). Without one the endpoint is disabled (404).
    pub secret: Option<String>,
}

impl std::fmt::Debug for IntrospectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
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
    /// Base URL of the links in emails (`https://auth.example.com`); `http://{bind}` (with the port actually bound)
    /// when absent. Never taken from a request's `Host` header. When it is `https://…`, every response carries
    /// `Strict-Transport-Security`.
    pub public_url: Option<String>,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client; none by default.
    /// `LATCHKEY__SERVER__TRUSTED_PROXIES=10.0.0.1,10.0.1.0/24` in the environment.
    pub trusted_proxies: Vec<String>,
    /// Web origins whose pages may call the API from a browser (CORS); empty, the default, leaves CORS off.
    /// `LATCHKEY__SERVER__CORS_ALLOWED_ORIGINS=https://a.example,https://b.example` in the environment.
    pub cors_allowed_origins: Vec<String>,
    /// Serve `GET /metrics` (Prometheus) and count requests for it (`LATCHKEY__SERVER__METRICS`, default `true`).
    pub metrics: bool,
}

/// How emails leave: written to the log, or sent over SMTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Written to the log (development): links and codes appear in the log.
    Log,
    /// Sent through the server at `mail.smtp_url`.
    Smtp,
}

/// `[mail]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `log` or `smtp`; when absent, `smtp` if `smtp_url` is set, else `log`.
    pub transport: Option<MailTransport>,
    /// `smtp://host:port`, `smtp://host:587?tls=required`, `smtps://user:pass@host:465`.
    pub smtp_url: Option<String>,
    /// The sender, e.g. `Latchkey <no-reply@example.com>`.
    pub from: String,
}

impl MailSettings {
    /// The transport in force: the one set, else `smtp` when an SMTP URL is set, else `log`.
    pub fn effective_transport(&self) -> MailTransport {
        self.transport.unwrap_or(if self.smtp_url.is_some() {
            MailTransport::Smtp
        } else {
            MailTransport::Log
        })
    }
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("transport", &self.transport)
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(latchkey_diesel::redact_url),
            )
            .field("from", &self.from)
            .finish()
    }
}

/// `[verification]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSettings {
    /// Refuse logins (403 `email_not_verified`, after the password check) until the address is verified.
    pub required_for_login: bool,
    /// Lifetime of a verification link, as a duration (`"24h"`).
    pub link_ttl: String,
    /// Lifetime of a verification code, as a duration (`"15m"`).
    pub code_ttl: String,
    /// Wrong codes after which a code is burnt.
    pub max_attempts: u32,
    /// Least time between two verification emails to one account, as a duration (`"1m"`).
    pub resend_interval: String,
}

/// `[reset]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetSettings {
    /// Lifetime of a reset link, as a duration (`"15m"`).
    pub ttl: String,
    /// Least time between two reset emails to one account, as a duration (`"1m"`).
    pub min_interval: String,
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
    /// absent; required with PostgreSQL. It also keys the derivations of [`latchkey_crypto::OsSecrets`], so it is
    /// needed with EdDSA too.
    pub secret: Option<String>,
    /// An Ed25519 private key in PKCS#8 PEM (`openssl genpkey -algorithm ed25519 -out jwt.pem`): when set, access
    /// tokens are signed with EdDSA instead of HS256 and the public key is served at `/.well-known/jwks.json`.
    pub private_key_file: Option<PathBuf>,
    /// Public keys in PEM (`openssl pkey -in key.pem -pubout`) that also verify tokens and are published with the
    /// signing key's: during a rotation, the next key (before it signs) and then the retired one (until its tokens
    /// have expired).
    pub verifying_key_files: Vec<PathBuf>,
    /// `iss` claim.
    pub issuer: String,
    /// `aud` claim.
    pub audience: String,
    /// Access token lifetime.
    pub access_ttl_seconds: i64,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("private_key_file", &self.private_key_file)
            .field("verifying_key_files", &self.verifying_key_files)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl_seconds", &self.access_ttl_seconds)
            .finish()
    }
}

/// `[tokens]`: the opaque tokens, which are not JWTs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensSettings {
    /// Refresh token lifetime.
    pub refresh_ttl_seconds: i64,
    /// How long a spent refresh token may be retried for the same new pair.
    pub refresh_reuse_grace_seconds: i64,
    /// The absolute lifetime of a session from its login, which rotation cannot extend, as a duration (`"90d"`).
    pub session_max_age: String,
    /// Live sessions per user; a login beyond it ends the user's oldest.
    pub max_sessions_per_user: u32,
}

/// `[purge]`: the background job deleting ended sessions, expired refresh tokens and expired challenges.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurgeSettings {
    /// Time between two runs, as a duration (`"1h"`).
    pub interval: String,
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
    /// Hashes that may wait for a free core, per core; beyond them a request gets 503 `overloaded`.
    pub max_waiting_per_core: usize,
}

/// `[credits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditsSettings {
    /// Balance of a new account.
    pub welcome: i64,
    /// When the welcome credits are given: `registration` or `verification` (when the address is first verified).
    pub welcome_on: WelcomeOnSetting,
    /// How long a charge's idempotency key and its answer are kept, e.g. `24h`.
    pub idempotency_ttl: String,
    /// Price per unit, e.g. `photo = 100`.
    pub pricing: BTreeMap<String, i64>,
}

/// `credits.welcome_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WelcomeOnSetting {
    /// At registration.
    Registration,
    /// When the address is first verified.
    Verification,
}

/// `[credentials]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSettings {
    /// The longest a personal token may live, in days.
    pub max_token_lifetime_days: i64,
    /// Live personal tokens, and live API keys, per user.
    pub max_per_user: usize,
    /// What API keys start with.
    pub api_key_prefix: String,
}

/// `[throttle]`: each limit is `"COUNT/PERIOD"` (`"10/15m"`, `"600/1m"`) or `"off"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Failed logins per account (or per unknown identifier).
    pub login_per_account: String,
    /// Failed logins per client address.
    pub login_per_address: String,
    /// Failed password changes per account.
    pub password_change_per_account: String,
    /// Email-change requests (with the right password) per account.
    pub email_change_per_account: String,
    /// Registrations per client address.
    pub registration_per_address: String,
    /// Forgot-password requests per client address.
    pub forgot_password_per_address: String,
    /// Verification resends per client address.
    pub resend_verification_per_address: String,
    /// Verification-code attempts per client address.
    pub verify_code_per_address: String,
    /// Refreshes per client address.
    pub refresh_per_address: String,
    /// How long an address an account logged in from stays exempt from that account's login limit (`"30d"`).
    pub known_address_ttl: String,
}

/// A rate as settings write it: `"10/15m"` (humantime periods: `30s`, `15m`, `1h`, `1day`), or `"off"`.
///
/// # Errors
/// A message saying what was expected.
pub fn parse_rate(text: &str) -> Result<Option<Rate>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let expected = || format!("`{text}` is not COUNT/PERIOD (e.g. \"10/15m\") or \"off\"");
    let (count, period) = text.split_once('/').ok_or_else(expected)?;
    let count: u32 = count.trim().parse().map_err(|_| expected())?;
    let period = humantime::parse_duration(period.trim()).map_err(|_| expected())?;
    let period = chrono::TimeDelta::from_std(period).map_err(|_| expected())?;
    Rate::new(count, period)
        .map(Some)
        .map_err(|error| format!("`{text}`: {error}"))
}

/// A rate as settings write it; the inverse of [`parse_rate`].
pub fn format_rate(rate: Option<Rate>) -> String {
    match rate {
        None => "off".to_owned(),
        Some(rate) => format!("{}/{}", rate.max(), format_period(rate.period())),
    }
}

/// A duration as settings write it, in its largest exact unit: `30d`, `1h`, `15m`, `90s`, `0s` (`humantime` reads
/// them back; its own formatting would write a year as `11months 30days 3h 50m 24s`). The defaults and the
/// messages about durations both use it, so a documented default reads as people write it.
pub fn format_period(period: chrono::TimeDelta) -> String {
    let seconds = period.num_seconds();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// `[events]`: the security event log.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSettings {
    /// How long events are kept (`"365d"`), 1 day to 10 years.
    pub retention: String,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `latchkey_http=debug,info` (`RUST_LOG` wins when set).
    pub filter: String,
}

/// Built-in defaults of the settings that belong to this binary, as TOML so the file format documents itself.
///
/// The defaults of the policies (password, token lifetimes, credits) and of argon2 are not here: they are read from
/// `latchkey_domain::Policies::default()` and `latchkey_crypto::Argon2Params::default()` (see [`defaults`]), so
/// that they are stated once.
pub const DEFAULTS: &str = r#"
[server]
bind = "127.0.0.1:8080"
workers = 0
max_body_bytes = 32768
shutdown_timeout_seconds = 30
cors_allowed_origins = []
trusted_proxies = []
metrics = true

[database]
url = "sqlite://latchkey.db"
max_connections = 16

[jwt]
verifying_key_files = []
issuer = "latchkey"
audience = "latchkey"

[mail]
from = "Latchkey <no-reply@localhost>"

[log]
filter = "info"

[purge]
interval = "1h"
"#;

/// Keys that moved, with where they live now. Refused rather than ignored: a deployment that shortened its refresh
/// token lifetime must not silently get the 30-day default back. The `…_seconds` integers became durations
/// (`"15m"`), as every newer setting is written.
const MOVED: &[(&str, &str)] = &[
    ("jwt.refresh_ttl_seconds", "tokens.refresh_ttl_seconds"),
    (
        "jwt.refresh_reuse_grace_seconds",
        "tokens.refresh_reuse_grace_seconds",
    ),
    ("verification.link_ttl_seconds", "verification.link_ttl"),
    ("verification.code_ttl_seconds", "verification.code_ttl"),
    (
        "verification.resend_interval_seconds",
        "verification.resend_interval",
    ),
    ("reset.ttl_seconds", "reset.ttl"),
    ("reset.min_interval_seconds", "reset.min_interval"),
];

/// The settings that are lists. In the environment each takes one variable with its items separated by commas
/// (`LATCHKEY__SERVER__CORS_ALLOWED_ORIGINS=https://a.example,https://b.example`; empty: an empty list); in a file,
/// a TOML array.
const LIST_KEYS: [&str; 3] = [
    "server.cors_allowed_origins",
    "server.trusted_proxies",
    "jwt.verifying_key_files",
];

/// Every built-in default: [`DEFAULTS`], then the domain's policies and the hasher's parameters.
///
/// # Errors
/// Only if the built-in values could not be stored, which would be a bug.
pub fn defaults() -> Result<ConfigBuilder<DefaultState>, config::ConfigError> {
    let policies = Policies::default();
    let argon2 = Argon2Params::default();
    let mut builder = Config::builder()
        .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
        .set_default(
            "jwt.access_ttl_seconds",
            policies.tokens.access_ttl().num_seconds(),
        )?
        .set_default(
            "tokens.refresh_ttl_seconds",
            policies.tokens.refresh_ttl().num_seconds(),
        )?
        .set_default(
            "tokens.refresh_reuse_grace_seconds",
            policies.tokens.refresh_reuse_grace().num_seconds(),
        )?
        .set_default(
            "tokens.session_max_age",
            format_period(policies.tokens.session_max_age()),
        )?
        .set_default(
            "tokens.max_sessions_per_user",
            policies.tokens.max_sessions_per_user(),
        )?
        .set_default("password.min_length", policies.password.min_length() as u64)?
        .set_default("password.max_length", policies.password.max_length() as u64)?
        .set_default("argon2.memory_kib", argon2.memory_kib)?
        .set_default("argon2.iterations", argon2.iterations)?
        .set_default("argon2.parallelism", argon2.parallelism)?
        .set_default(
            "argon2.max_waiting_per_core",
            Argon2Hasher::DEFAULT_WAITING_PER_THREAD as u64,
        )?
        .set_default("credits.welcome", policies.credits.welcome_credits())?
        .set_default("credits.welcome_on", "registration")?
        .set_default(
            "credits.idempotency_ttl",
            format_period(policies.credits.idempotency_ttl()),
        )?
        .set_default(
            "verification.required_for_login",
            policies.verification.required_for_login(),
        )?
        .set_default(
            "verification.link_ttl",
            format_period(policies.verification.link_ttl()),
        )?
        .set_default(
            "verification.code_ttl",
            format_period(policies.verification.code_ttl()),
        )?
        .set_default(
            "verification.max_attempts",
            policies.verification.max_attempts(),
        )?
        .set_default(
            "verification.resend_interval",
            format_period(policies.verification.resend_interval()),
        )?
        .set_default("reset.ttl", format_period(policies.reset.ttl()))?
        .set_default(
            "reset.min_interval",
            format_period(policies.reset.min_interval()),
        )?
        .set_default(
            "credentials.max_token_lifetime_days",
            policies.credentials.max_token_lifetime().num_days(),
        )?
        .set_default(
            "credentials.max_per_user",
            policies.credentials.max_per_user() as u64,
        )?
        .set_default(
            "credentials.api_key_prefix",
            policies.credentials.api_key_prefix(),
        )?;
    let throttle = &policies.throttle;
    for (key, rate) in [
        ("login_per_account", throttle.login_per_account),
        ("login_per_address", throttle.login_per_address),
        (
            "password_change_per_account",
            throttle.password_change_per_account,
        ),
        (
            "email_change_per_account",
            throttle.email_change_per_account,
        ),
        (
            "registration_per_address",
            throttle.registration_per_address,
        ),
        (
            "forgot_password_per_address",
            throttle.forgot_password_per_address,
        ),
        (
            "resend_verification_per_address",
            throttle.resend_verification_per_address,
        ),
        ("verify_code_per_address", throttle.verify_code_per_address),
        ("refresh_per_address", throttle.refresh_per_address),
    ] {
        builder = builder.set_default(format!("throttle.{key}"), format_rate(rate))?;
    }
    builder = builder.set_default(
        "events.retention",
        format_period(policies.events.retention()),
    )?;
    builder = builder.set_default(
        "throttle.known_address_ttl",
        format_period(throttle.known_address_ttl),
    )?;
    for (unit, price) in policies.credits.pricing() {
        builder = builder.set_default(format!("credits.pricing.{unit}"), *price)?;
    }
    Ok(builder)
}

/// Parses a duration setting (`"90d"`, `"12h"`, `"1h 30m"`: humantime's syntax).
///
/// # Errors
/// A message naming what was expected, when the text is not a duration or is too large.
pub fn parse_duration(text: &str) -> Result<chrono::TimeDelta, String> {
    let expected = || format!("expected a duration such as \"90d\" or \"12h\", got {text:?}");
    let parsed = humantime::parse_duration(text.trim()).map_err(|_| expected())?;
    chrono::TimeDelta::from_std(parsed).map_err(|_| expected())
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or a variable could not be read, or a value has the wrong type or an unknown key.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    /// A key that has moved was set.
    #[error("invalid configuration: `{old}` has moved to `{new}` (environment variable {env})")]
    Moved {
        /// The old key.
        old: &'static str,
        /// Its new place.
        new: &'static str,
        /// The new key's environment variable.
        env: String,
    },
}

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
        let mut builder = defaults()?;
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        // DATABASE_URL is the convention of most hosting platforms; LATCHKEY__DATABASE__URL still wins.
        if !env.contains_key("LATCHKEY__DATABASE__URL") {
            builder =
                builder.set_override_option("database.url", env.get("DATABASE_URL").cloned())?;
        }
        // The list settings are split here rather than by `Environment`, whose list parsing comes only with its
        // type guessing, which would turn a digits-only secret into a number.
        let mut env = env;
        for key in LIST_KEYS {
            if let Some(value) = env.remove(&env_variable(key)) {
                let items: Vec<String> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect();
                builder = builder.set_override(key, items)?;
            }
        }
        builder = builder.add_source(
            Environment::with_prefix("LATCHKEY")
                .prefix_separator("__")
                .separator("__")
                .source(Some(env.into_iter().collect())),
        );
        let config = builder.build()?;
        for (old, new) in MOVED {
            if config.get::<config::Value>(old).is_ok() {
                return Err(SettingsError::Moved {
                    old,
                    new,
                    env: env_variable(new),
                });
            }
        }
        Ok(config.try_deserialize()?)
    }
}

/// The environment variable of a key: `tokens.refresh_ttl_seconds` → `LATCHKEY__TOKENS__REFRESH_TTL_SECONDS`.
pub fn env_variable(key: &str) -> String {
    format!("LATCHKEY__{}", key.replace('.', "__").to_ascii_uppercase())
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
    fn list_settings_take_a_comma_separated_variable_or_an_array() {
        let settings = Settings::load_from(
            None,
            env(&[("LATCHKEY__SERVER__TRUSTED_PROXIES", "10.0.0.1, 10.0.1.0/24")]),
        )
        .unwrap();
        assert_eq!(settings.server.trusted_proxies, ["10.0.0.1", "10.0.1.0/24"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(&path, "[server]\ntrusted_proxies = [\"::1\"]\n").unwrap();
        let settings = Settings::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(settings.server.trusted_proxies, ["::1"]);
        assert!(Settings::default().server.trusted_proxies.is_empty());
        let settings = Settings::load_from(
            None,
            env(&[(
                "LATCHKEY__JWT__VERIFYING_KEY_FILES",
                "/etc/latchkey/next.pub,/etc/latchkey/old.pub",
            )]),
        )
        .unwrap();
        assert_eq!(
            settings.jwt.verifying_key_files,
            [
                PathBuf::from("/etc/latchkey/next.pub"),
                PathBuf::from("/etc/latchkey/old.pub")
            ]
        );
    }

    #[test]
    fn rates_are_count_per_period_or_off_and_round_trip() {
        let rate = parse_rate("10/15m").unwrap().unwrap();
        assert_eq!((rate.max(), rate.period().num_seconds()), (10, 900));
        assert_eq!(format_rate(Some(rate)), "10/15m");
        assert_eq!(parse_rate(" OFF ").unwrap(), None);
        assert_eq!(format_rate(None), "off");
        for (period, text) in [
            (365 * 86_400, "365d"),
            (3_600, "1h"),
            (900, "15m"),
            (90, "90s"),
        ] {
            let period = chrono::TimeDelta::seconds(period);
            assert_eq!(format_period(period), text);
            assert_eq!(
                humantime::parse_duration(text).unwrap().as_secs(),
                period.num_seconds() as u64
            );
        }
        for bad in ["10", "ten/15m", "10/fortnight", "0/1m", "10/2days", "-1/1m"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
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
        assert_eq!(settings.argon2.max_waiting_per_core, 32);
        assert_eq!(settings.password.max_length, 256);
        assert!(settings.introspection.secret.is_none());
    }

    #[test]
    fn the_introspection_secret_comes_from_the_environment_and_stays_out_of_debug() {
        let secret = "an-introspection-secret-of-32-bytes-at-least";
        let settings =
            Settings::load_from(None, env(&[("LATCHKEY__INTROSPECTION__SECRET", secret)])).unwrap();
        assert_eq!(settings.introspection.secret.as_deref(), Some(secret));
        assert!(!format!("{settings:?}").contains(secret));
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
    fn list_settings_take_a_comma_separated_variable_or_a_toml_array() {
        assert!(Settings::default().server.cors_allowed_origins.is_empty());
        let settings = Settings::load_from(
            None,
            env(&[(
                "LATCHKEY__SERVER__CORS_ALLOWED_ORIGINS",
                "https://a.example, https://b.example,",
            )]),
        )
        .unwrap();
        assert_eq!(
            settings.server.cors_allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        let single = Settings::load_from(
            None,
            env(&[(
                "LATCHKEY__SERVER__CORS_ALLOWED_ORIGINS",
                "https://a.example",
            )]),
        )
        .unwrap();
        assert_eq!(single.server.cors_allowed_origins, ["https://a.example"]);

        // The variable wins over the file, and an empty one empties the list.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(
            &path,
            "[server]\ncors_allowed_origins = [\"https://file.example\"]\n",
        )
        .unwrap();
        let from_file = Settings::load_from(Some(&path), env(&[])).unwrap();
        assert_eq!(
            from_file.server.cors_allowed_origins,
            ["https://file.example"]
        );
        let emptied = Settings::load_from(
            Some(&path),
            env(&[("LATCHKEY__SERVER__CORS_ALLOWED_ORIGINS", "")]),
        )
        .unwrap();
        assert!(emptied.server.cors_allowed_origins.is_empty());
        // Other values keep their commas.
        let from =
            Settings::load_from(None, env(&[("LATCHKEY__MAIL__FROM", "Doe, Jane <j@x>")])).unwrap();
        assert_eq!(from.mail.from, "Doe, Jane <j@x>");
    }

    #[test]
    fn refresh_token_settings_live_under_tokens() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("LATCHKEY__TOKENS__REFRESH_TTL_SECONDS", "86400"),
                ("LATCHKEY__TOKENS__REFRESH_REUSE_GRACE_SECONDS", "5"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.tokens.refresh_ttl_seconds, 86_400);
        assert_eq!(settings.tokens.refresh_reuse_grace_seconds, 5);
    }

    #[test]
    fn email_durations_are_read_as_durations_and_their_seconds_keys_are_refused() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("LATCHKEY__VERIFICATION__LINK_TTL", "2h"),
                ("LATCHKEY__RESET__MIN_INTERVAL", "90s"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.verification.link_ttl, "2h");
        assert_eq!(settings.verification.code_ttl, "15m");
        assert_eq!(settings.verification.resend_interval, "1m");
        assert_eq!(
            (
                settings.reset.ttl.as_str(),
                settings.reset.min_interval.as_str()
            ),
            ("15m", "90s")
        );
        for (old, new) in [
            ("verification.link_ttl_seconds", "verification.link_ttl"),
            ("verification.code_ttl_seconds", "verification.code_ttl"),
            (
                "verification.resend_interval_seconds",
                "verification.resend_interval",
            ),
            ("reset.ttl_seconds", "reset.ttl"),
            ("reset.min_interval_seconds", "reset.min_interval"),
        ] {
            let error = Settings::load_from(None, env(&[(&env_variable(old), "60")])).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "invalid configuration: `{old}` has moved to `{new}` (environment variable {})",
                    env_variable(new)
                )
            );
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("latchkey.toml");
            let (section, key) = old.split_once('.').unwrap();
            std::fs::write(&path, format!("[{section}]\n{key} = 60\n")).unwrap();
            let error = Settings::load_from(Some(&path), env(&[])).unwrap_err();
            assert!(
                matches!(error, SettingsError::Moved { old: o, .. } if o == old),
                "{error}"
            );
        }
    }

    #[test]
    fn the_old_jwt_refresh_keys_are_refused_with_their_new_place() {
        let from_env = Settings::load_from(
            None,
            env(&[("LATCHKEY__JWT__REFRESH_TTL_SECONDS", "86400")]),
        )
        .unwrap_err();
        assert_eq!(
            from_env.to_string(),
            "invalid configuration: `jwt.refresh_ttl_seconds` has moved to `tokens.refresh_ttl_seconds` \
             (environment variable LATCHKEY__TOKENS__REFRESH_TTL_SECONDS)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latchkey.toml");
        std::fs::write(&path, "[jwt]\nrefresh_reuse_grace_seconds = 3\n").unwrap();
        let from_file = Settings::load_from(Some(&path), env(&[])).unwrap_err();
        assert!(
            matches!(
                from_file,
                SettingsError::Moved {
                    old: "jwt.refresh_reuse_grace_seconds",
                    new: "tokens.refresh_reuse_grace_seconds",
                    ..
                }
            ),
            "{from_file}"
        );
    }

    /// `docs/configuration.md` documents every key, its variable and its default as the code has them.
    #[test]
    fn the_configuration_reference_matches_the_defaults() {
        let doc = include_str!("../../../docs/configuration.md");
        let defaults = defaults().unwrap().build().unwrap();
        let mut documented = std::collections::BTreeSet::new();
        for row in doc.lines().filter(|line| line.starts_with("| `")) {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let key = cells[0].trim_matches('`');
            let (variables, default) = (cells[1], cells[2]);
            documented.insert(key.to_owned());
            assert!(
                variables.starts_with(&format!("`{}`", env_variable(key))),
                "{key}: variable column {variables:?}"
            );
            if key == "credits.pricing.<unit>" {
                let policy = latchkey_domain::CreditsPolicy::default();
                let listed: Vec<String> = policy
                    .pricing()
                    .iter()
                    .map(|(unit, price)| format!("`{unit} = {price}`"))
                    .collect();
                for unit in listed {
                    assert!(
                        default.contains(&unit),
                        "{key}: default {default:?} lacks {unit}"
                    );
                }
                continue;
            }
            if let Ok(list) = defaults.get_array(key) {
                let items: Vec<String> = list.into_iter().map(|item| item.to_string()).collect();
                assert!(
                    default.starts_with(&format!("`[{}]`", items.join(", "))),
                    "{key}: documented default {default:?}, built-in {items:?}"
                );
                continue;
            }
            match defaults.get_string(key) {
                Ok(value) => assert!(
                    default.starts_with(&format!("`{value}`")),
                    "{key}: documented default {default:?}, built-in {value:?}"
                ),
                Err(_) => assert_eq!(default, "none", "{key} has no built-in default"),
            }
        }
        let mut built_in = Vec::new();
        let table: config::Map<String, config::Value> = defaults.clone().try_deserialize().unwrap();
        flatten("", &table, &mut built_in);
        for key in built_in {
            let key = if key.starts_with("credits.pricing.") {
                "credits.pricing.<unit>".to_owned()
            } else {
                key
            };
            assert!(documented.contains(&key), "{key} is not documented");
        }
    }

    fn flatten(prefix: &str, table: &config::Map<String, config::Value>, keys: &mut Vec<String>) {
        for (name, value) in table {
            let key = format!("{prefix}{name}");
            match value.clone().into_table() {
                Ok(inner) => flatten(&format!("{key}."), &inner, keys),
                Err(_) => keys.push(key),
            }
        }
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
