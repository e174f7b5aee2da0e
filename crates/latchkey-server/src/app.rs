//! Composition root: builds every adapter from the settings and binds the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition};
use actix_web::{App, HttpServer};
use chrono::TimeDelta;
use latchkey_crypto::{Argon2Hasher, Argon2Params, JwtCodec, JwtConfig, OsSecrets};
use latchkey_domain::ports::SystemClock;
use latchkey_domain::{
    ChallengePolicyError, CredentialPolicy, CreditsPolicy, EventPolicy, Latchkey, PasswordPolicy,
    Policies, PublicUrl, ResetPolicy, ThrottlePolicy, TokenPolicy, TokenPolicyError,
    VerificationPolicy, WelcomeOn,
};
use latchkey_http::{CorsOrigins, HttpConfig, IntrospectionSecret, TrustedProxies};

use crate::database::{connect_and_migrate, DatabaseUrl, DatabaseUrlError, Stores};
use crate::mail::Worker;
use crate::purge::Purger;
use crate::secret::SecretError;
use crate::settings::{format_period, parse_rate, Settings, ThrottleSettings, WelcomeOnSetting};

/// Why the server could not start. Each variant renders as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database URL is unusable.
    #[error(transparent)]
    DatabaseUrl(#[from] DatabaseUrlError),
    /// The database cannot be reached or migrated.
    #[error(transparent)]
    Database(#[from] latchkey_diesel::ConnectError),
    /// No usable JWT secret.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The JWT key files are unusable.
    #[error(transparent)]
    SigningKey(#[from] crate::signing_key::SigningKeyError),
    /// The JWT codec refused its configuration.
    #[error(transparent)]
    Jwt(#[from] latchkey_crypto::JwtError),
    /// The argon2 parameters are invalid.
    #[error(transparent)]
    Hasher(#[from] latchkey_crypto::HasherError),
    /// The service lacks a port (a wiring mistake in this crate, not a setting).
    #[error(transparent)]
    Wiring(#[from] latchkey_domain::BuildError),
    /// A setting is out of range.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The configured address.
        address: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A configured server, bound to its port but not yet serving.
pub struct Application {
    server: Server,
    port: u16,
    worker: Worker,
    purger: Purger,
    shutdown_timeout: std::time::Duration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Connects and migrates the database, builds the service and binds the listener (port 0 picks a free one).
    ///
    /// # Errors
    /// [`StartupError`] for any unusable setting or unreachable dependency.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        // Before the database: a bad setting should stop the start without touching anything.
        let introspection_secret = introspection_secret(settings)?;
        let trusted_proxies = TrustedProxies::parse(&settings.server.trusted_proxies)
            .map_err(|error| StartupError::Invalid(format!("server.trusted_proxies: {error}")))?;
        let purge_interval = purge_interval(settings)?;
        let address = settings.server.bind.clone();
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = local.port();
        // Links point at the address actually bound (port 0 becomes the port picked) unless one is configured.
        let mut settings = settings.clone();
        if settings.server.public_url.is_none() {
            settings.server.public_url = Some(format!("http://{local}"));
        }
        let public_url = settings.server.public_url.clone().unwrap_or_default();
        let https = public_url.to_ascii_lowercase().starts_with("https://");
        let cors_origins = cors_origins(&settings)?;
        let mailer = crate::mail::mailer(&settings.mail)?;
        let Parts {
            latchkey,
            stores,
            jwks,
        } = build_parts(&settings).await?;
        let latchkey = Arc::new(latchkey);
        let worker = Worker::start(stores.outbox, mailer, Arc::new(SystemClock));
        let purger = Purger::start(latchkey.clone(), purge_interval);
        let http = HttpConfig {
            max_body_bytes: settings.server.max_body_bytes,
            introspection_secret,
            trusted_proxies,
            metrics: settings
                .server
                .metrics
                .then(|| Arc::new(latchkey_http::Metrics::new())),
            jwks,
        };
        let mut server = HttpServer::new(move || {
            // The last wrap is the outermost: the headers reach every response, CORS preflights and refusals too.
            App::new()
                // Innermost: a HEAD is routed as the GET it mirrors, but counted and logged as what was sent.
                .wrap(from_fn(latchkey_http::answer_head))
                .wrap(from_fn(latchkey_http::refuse_content_encoding))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    latchkey_http::cors(&cors_origins),
                ))
                .wrap(latchkey_http::security_headers(https))
                .wrap(from_fn(latchkey_http::log_request))
                .wrap(from_fn(latchkey_http::record_request))
                // Outside the request log, so the log shows how long a refusal took to decide, not its pause, and
                // keeps its line when the client leaves during the pause.
                .wrap(from_fn(latchkey_http::pace_refusals))
                .configure(latchkey_http::configure(latchkey.clone(), http.clone()))
        })
        .shutdown_timeout(settings.server.shutdown_timeout_seconds);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartupError::Bind { address, source })?
            .run();
        Ok(Self {
            server,
            port,
            worker,
            purger,
            shutdown_timeout: std::time::Duration::from_secs(
                settings.server.shutdown_timeout_seconds,
            ),
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests and the email in hand, and returns.
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.worker.stop(self.shutdown_timeout).await;
        self.purger.stop().await;
        served
    }
}

/// The introspection endpoint's secret, if one is configured; a weak one stops the start.
fn introspection_secret(settings: &Settings) -> Result<Option<IntrospectionSecret>, StartupError> {
    settings
        .introspection
        .secret
        .as_deref()
        .map(IntrospectionSecret::new)
        .transpose()
        .map_err(|error| StartupError::Invalid(format!("introspection.secret: {error}")))
}

/// The origins allowed by CORS, checked; none (CORS off) unless configured.
fn cors_origins(settings: &Settings) -> Result<CorsOrigins, StartupError> {
    CorsOrigins::parse(&settings.server.cors_allowed_origins)
        .map_err(|error| StartupError::Invalid(format!("server.cors_allowed_origins: {error}")))
}

/// Builds the domain service and its adapters from the settings.
///
/// # Errors
/// [`StartupError`] for any unusable setting or unreachable dependency.
pub async fn build_service(settings: &Settings) -> Result<Latchkey, StartupError> {
    Ok(build_parts(settings).await?.latchkey)
}

/// The service, the stores it runs on (the server's email worker needs the outbox), and the public keys of its
/// access tokens.
struct Parts {
    latchkey: Latchkey,
    stores: Stores,
    /// The JWK Set of `/.well-known/jwks.json`: with EdDSA only.
    jwks: Option<Arc<serde_json::Value>>,
}

async fn build_parts(settings: &Settings) -> Result<Parts, StartupError> {
    let policies = policies(settings)?;
    let database = DatabaseUrl::parse(&settings.database.url)?;
    let secret = crate::secret::resolve(settings.jwt.secret.as_deref(), &database)?;
    let access_tokens = JwtCodec::new(JwtConfig {
        key: crate::signing_key::signing_key(&settings.jwt, &secret)?,
        issuer: settings.jwt.issuer.clone(),
        audience: settings.jwt.audience.clone(),
    })?;
    let jwks = access_tokens
        .published_keys()
        .map(|keys| serde_json::to_value(keys).map(Arc::new))
        .transpose()
        .map_err(|error| StartupError::Invalid(format!("jwt: the public keys: {error}")))?;
    let hasher = Argon2Hasher::new(Argon2Params {
        memory_kib: settings.argon2.memory_kib,
        iterations: settings.argon2.iterations,
        parallelism: settings.argon2.parallelism,
    })?;
    let max_waiting = hasher
        .max_concurrent()
        .saturating_mul(settings.argon2.max_waiting_per_core);
    let hasher = hasher.with_max_waiting(max_waiting);
    let stores = connect_and_migrate(&database, settings.database.max_connections.max(1)).await?;
    let latchkey = Latchkey::builder()
        .users(stores.users.clone())
        .sessions(stores.sessions.clone())
        .credentials(stores.credentials.clone())
        .ledger(stores.ledger.clone())
        .challenges(stores.challenges.clone())
        .limiter(stores.limiter.clone())
        .events(stores.events.clone())
        .health(stores.health.clone())
        .hasher(Arc::new(hasher))
        .access_tokens(Arc::new(access_tokens))
        .secrets(Arc::new(OsSecrets::derived_from(&secret)))
        .clock(Arc::new(SystemClock))
        .policies(policies)
        .build()?;
    Ok(Parts {
        latchkey,
        stores,
        jwks,
    })
}

/// Runs the migrations and nothing else (`latchkey migrate`).
///
/// # Errors
/// [`StartupError`] when the URL is unusable or the database unreachable.
pub async fn migrate(settings: &Settings) -> Result<(), StartupError> {
    let database = DatabaseUrl::parse(&settings.database.url)?;
    connect_and_migrate(&database, 1).await?;
    Ok(())
}

/// The domain's policies from the settings; each policy checks its own values, and a refusal names the setting.
fn policies(settings: &Settings) -> Result<Policies, StartupError> {
    let invalid =
        |key: &str, error: &dyn std::fmt::Display| StartupError::Invalid(format!("{key}: {error}"));
    let password = &settings.password;
    let password_policy = PasswordPolicy::default()
        .with_length(password.min_length..=password.max_length)
        .map_err(|error| invalid("password.min_length", &error))?;

    let token_policy = token_policy(settings)?;

    let credits = &settings.credits;
    let credits_policy = CreditsPolicy::default()
        .with_welcome_credits(credits.welcome)
        .map_err(|error| invalid("credits.welcome", &error))?
        .with_pricing(credits.pricing.clone())
        .map_err(|error| invalid("credits.pricing", &error))?
        .with_welcome_on(match credits.welcome_on {
            WelcomeOnSetting::Registration => WelcomeOn::Registration,
            WelcomeOnSetting::Verification => WelcomeOn::Verification,
        })
        .with_idempotency_ttl(duration_setting(
            "credits.idempotency_ttl",
            &credits.idempotency_ttl,
        )?)
        .map_err(|error| invalid("credits.idempotency_ttl", &error))?;

    let credentials = &settings.credentials;
    let credential_policy = CredentialPolicy::default()
        .with_max_token_lifetime(
            TimeDelta::try_days(credentials.max_token_lifetime_days).unwrap_or(TimeDelta::MAX),
        )
        .map_err(|error| invalid("credentials.max_token_lifetime_days", &error))?
        .with_max_per_user(credentials.max_per_user)
        .map_err(|error| invalid("credentials.max_per_user", &error))?
        .with_api_key_prefix(&credentials.api_key_prefix)
        .map_err(|error| invalid("credentials.api_key_prefix", &error))?;

    let mut policies = Policies::default();
    policies.password = password_policy;
    policies.tokens = token_policy;
    policies.credits = credits_policy;
    policies.credentials = credential_policy;
    policies.verification = verification_policy(settings)?;
    policies.reset = reset_policy(settings)?;
    policies.throttle = throttle_policy(&settings.throttle)?;
    policies.events = humantime::parse_duration(&settings.events.retention)
        .ok()
        .and_then(|retention| TimeDelta::from_std(retention).ok())
        .ok_or_else(|| {
            format!(
                "`{}` is not a duration such as \"365d\"",
                settings.events.retention
            )
        })
        .and_then(|retention| {
            EventPolicy::default()
                .with_retention(retention)
                .map_err(|error| error.to_string())
        })
        .map_err(|error| invalid("events.retention", &error))?;
    let public_url = match &settings.server.public_url {
        Some(url) => url.clone(),
        None => format!("http://{}", settings.server.bind),
    };
    policies.public_url =
        PublicUrl::parse(&public_url).map_err(|error| invalid("server.public_url", &error))?;
    Ok(policies)
}

/// The rate limits from `[throttle]`; a malformed one names its key.
fn throttle_policy(settings: &ThrottleSettings) -> Result<ThrottlePolicy, StartupError> {
    let rate = |key: &str, value: &str| {
        parse_rate(value).map_err(|error| StartupError::Invalid(format!("throttle.{key}: {error}")))
    };
    let mut policy = ThrottlePolicy::off();
    policy.login_per_account = rate("login_per_account", &settings.login_per_account)?;
    policy.login_per_address = rate("login_per_address", &settings.login_per_address)?;
    policy.password_change_per_account = rate(
        "password_change_per_account",
        &settings.password_change_per_account,
    )?;
    policy.email_change_per_account = rate(
        "email_change_per_account",
        &settings.email_change_per_account,
    )?;
    policy.registration_per_address = rate(
        "registration_per_address",
        &settings.registration_per_address,
    )?;
    policy.forgot_password_per_address = rate(
        "forgot_password_per_address",
        &settings.forgot_password_per_address,
    )?;
    policy.resend_verification_per_address = rate(
        "resend_verification_per_address",
        &settings.resend_verification_per_address,
    )?;
    policy.verify_code_per_address =
        rate("verify_code_per_address", &settings.verify_code_per_address)?;
    policy.refresh_per_address = rate("refresh_per_address", &settings.refresh_per_address)?;
    policy.known_address_ttl = humantime::parse_duration(&settings.known_address_ttl)
        .ok()
        .and_then(|ttl| TimeDelta::from_std(ttl).ok())
        .filter(|ttl| (TimeDelta::hours(1)..=TimeDelta::days(366)).contains(ttl))
        .ok_or_else(|| {
            StartupError::Invalid(format!(
                "throttle.known_address_ttl: `{}` is not a duration between 1h and 366d, such as \"30d\"",
                settings.known_address_ttl
            ))
        })?;
    Ok(policy)
}

/// The domain's refusal of a challenge duration, with its bounds as durations and the value as configured.
fn challenge_error(key: &str, text: &str, error: ChallengePolicyError) -> StartupError {
    match error {
        ChallengePolicyError::OutOfRange { min, max, .. } => out_of_bounds(key, text, min, max),
        other => StartupError::Invalid(format!("{key}: {other}")),
    }
}

/// A duration setting outside the domain's bounds: `key must be between 1m and 1d, got "10s"`.
fn out_of_bounds(key: &str, text: &str, min: TimeDelta, max: TimeDelta) -> StartupError {
    StartupError::Invalid(format!(
        "{key} must be between {} and {}, got {text:?}",
        format_period(min),
        format_period(max)
    ))
}

fn verification_policy(settings: &Settings) -> Result<VerificationPolicy, StartupError> {
    let v = &settings.verification;
    let (link, code, resend) = (
        "verification.link_ttl",
        "verification.code_ttl",
        "verification.resend_interval",
    );
    VerificationPolicy::default()
        .with_required_for_login(v.required_for_login)
        .with_link_ttl(duration_setting(link, &v.link_ttl)?)
        .map_err(|e| challenge_error(link, &v.link_ttl, e))?
        .with_code_ttl(duration_setting(code, &v.code_ttl)?)
        .map_err(|e| challenge_error(code, &v.code_ttl, e))?
        .with_max_attempts(v.max_attempts)
        .map_err(|e| StartupError::Invalid(format!("verification.max_attempts: {e}")))?
        .with_resend_interval(duration_setting(resend, &v.resend_interval)?)
        .map_err(|e| challenge_error(resend, &v.resend_interval, e))
}

fn reset_policy(settings: &Settings) -> Result<ResetPolicy, StartupError> {
    let r = &settings.reset;
    let (ttl, interval) = ("reset.ttl", "reset.min_interval");
    ResetPolicy::default()
        .with_ttl(duration_setting(ttl, &r.ttl)?)
        .map_err(|e| challenge_error(ttl, &r.ttl, e))?
        .with_min_interval(duration_setting(interval, &r.min_interval)?)
        .map_err(|e| challenge_error(interval, &r.min_interval, e))
}

fn token_policy(settings: &Settings) -> Result<TokenPolicy, StartupError> {
    let (jwt, tokens) = (&settings.jwt, &settings.tokens);
    // Seconds too large for a TimeDelta are out of range all the same.
    let lifetime = |seconds: i64| TimeDelta::try_seconds(seconds).unwrap_or(TimeDelta::MAX);
    TokenPolicy::default()
        .with_access_ttl(lifetime(jwt.access_ttl_seconds))
        .map_err(|error| out_of_range("jwt.access_ttl_seconds", jwt.access_ttl_seconds, error))?
        .with_refresh_ttl(lifetime(tokens.refresh_ttl_seconds))
        .map_err(|error| {
            out_of_range(
                "tokens.refresh_ttl_seconds",
                tokens.refresh_ttl_seconds,
                error,
            )
        })?
        .with_refresh_reuse_grace(lifetime(tokens.refresh_reuse_grace_seconds))
        .map_err(|error| {
            out_of_range(
                "tokens.refresh_reuse_grace_seconds",
                tokens.refresh_reuse_grace_seconds,
                error,
            )
        })?
        .with_session_max_age(duration_setting(
            "tokens.session_max_age",
            &tokens.session_max_age,
        )?)
        .map_err(|error| {
            duration_out_of_range("tokens.session_max_age", &tokens.session_max_age, error)
        })?
        .with_max_sessions_per_user(tokens.max_sessions_per_user)
        .map_err(|error| StartupError::Invalid(format!("tokens.max_sessions_per_user: {error}")))
}

/// The purge job's interval: a duration of at least a second.
fn purge_interval(settings: &Settings) -> Result<std::time::Duration, StartupError> {
    let key = "purge.interval";
    let interval = duration_setting(key, &settings.purge.interval)?;
    interval
        .to_std()
        .ok()
        .filter(|interval| interval.as_secs() >= 1)
        .ok_or_else(|| {
            StartupError::Invalid(format!(
                "{key} must be at least 1 second, got {:?}",
                settings.purge.interval
            ))
        })
}

/// A duration setting, or a configuration error naming its key.
fn duration_setting(key: &str, text: &str) -> Result<TimeDelta, StartupError> {
    crate::settings::parse_duration(text)
        .map_err(|message| StartupError::Invalid(format!("{key}: {message}")))
}

/// The domain's refusal of a duration setting, with its bounds as durations and the value as configured.
fn duration_out_of_range(key: &str, text: &str, error: TokenPolicyError) -> StartupError {
    match error {
        TokenPolicyError::OutOfRange { min, max, .. } => out_of_bounds(key, text, min, max),
        other => StartupError::Invalid(format!("{key}: {other}")),
    }
}

/// The domain's refusal, in the setting's own unit and with the value as configured.
fn out_of_range(key: &str, seconds: i64, error: TokenPolicyError) -> StartupError {
    match error {
        TokenPolicyError::OutOfRange { min, max, .. } => StartupError::Invalid(format!(
            "{key} must be between {} and {} seconds, got {seconds}",
            min.num_seconds(),
            max.num_seconds()
        )),
        other => StartupError::Invalid(format!("{key}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_lifetimes_are_configuration_errors_not_panics() {
        for (access, refresh, grace) in [
            (0, 3600, 10),
            (900, i64::MAX, 10),
            (900, 3600, -1),
            (i64::MAX, 3600, 0),
        ] {
            let mut settings = Settings::default();
            settings.jwt.access_ttl_seconds = access;
            settings.tokens.refresh_ttl_seconds = refresh;
            settings.tokens.refresh_reuse_grace_seconds = grace;
            assert!(matches!(policies(&settings), Err(StartupError::Invalid(_))));
        }
        assert!(policies(&Settings::default()).is_ok());
    }

    #[test]
    fn a_short_introspection_secret_stops_the_start_and_none_disables_the_endpoint() {
        let mut settings = Settings::default();
        assert!(introspection_secret(&settings).unwrap().is_none());
        settings.introspection.secret = Some("too short".into());
        let error = introspection_secret(&settings).unwrap_err().to_string();
        assert!(
            error.starts_with(
                "invalid configuration: introspection.secret: must be at least 32 bytes"
            ),
            "{error}"
        );
        assert!(!error.contains("too short"), "{error}");
        settings.introspection.secret = Some("x".repeat(32));
        assert!(introspection_secret(&settings).unwrap().is_some());
    }

    #[test]
    fn the_default_settings_are_the_domains_default_policies() {
        assert_eq!(policies(&Settings::default()).unwrap(), Policies::default());
    }

    #[test]
    fn the_session_max_age_is_a_duration_within_the_domains_bounds() {
        let mut settings = Settings::default();
        settings.tokens.session_max_age = "30d".into();
        assert_eq!(
            policies(&settings).unwrap().tokens.session_max_age(),
            TimeDelta::days(30)
        );
        settings.tokens.session_max_age = "30s".into();
        assert_eq!(
            policies(&settings).unwrap_err().to_string(),
            "invalid configuration: tokens.session_max_age must be between 1m and 3660d, got \"30s\""
        );
        settings.tokens.session_max_age = "ninety days".into();
        assert!(policies(&settings)
            .unwrap_err()
            .to_string()
            .starts_with("invalid configuration: tokens.session_max_age: expected a duration"));
    }

    #[test]
    fn the_session_cap_and_the_purge_interval_are_checked() {
        let mut settings = Settings::default();
        settings.tokens.max_sessions_per_user = 0;
        assert_eq!(
            policies(&settings).unwrap_err().to_string(),
            "invalid configuration: tokens.max_sessions_per_user: the maximum number of sessions per user must be between 1 and 10000"
        );
        settings.tokens.max_sessions_per_user = 5;
        assert_eq!(
            policies(&settings).unwrap().tokens.max_sessions_per_user(),
            5
        );
        assert_eq!(
            purge_interval(&settings).unwrap(),
            std::time::Duration::from_secs(3600)
        );
        settings.purge.interval = "0s".into();
        assert!(purge_interval(&settings).is_err());
        settings.purge.interval = "often".into();
        assert!(purge_interval(&settings).is_err());
    }

    #[test]
    fn a_refresh_reuse_grace_over_a_minute_is_refused() {
        let mut settings = Settings::default();
        settings.tokens.refresh_reuse_grace_seconds = 60;
        assert!(policies(&settings).is_ok());
        settings.tokens.refresh_reuse_grace_seconds = 61;
        assert_eq!(
            policies(&settings).unwrap_err().to_string(),
            "invalid configuration: tokens.refresh_reuse_grace_seconds must be between 0 and 60 seconds, got 61"
        );
    }

    #[test]
    fn a_refused_lifetime_names_its_key_and_the_value_given() {
        let mut settings = Settings::default();
        settings.tokens.refresh_ttl_seconds = 59;
        let error = policies(&settings).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid configuration: tokens.refresh_ttl_seconds must be between 60 and 31622400 seconds, got 59"
        );
    }

    #[test]
    fn email_settings_are_checked_by_the_domain_and_name_their_key() {
        let mut settings = Settings::default();
        settings.verification.code_ttl = "10s".into();
        assert_eq!(
            policies(&settings).unwrap_err().to_string(),
            "invalid configuration: verification.code_ttl must be between 1m and 1d, got \"10s\""
        );
        settings.verification.code_ttl = "10 minutes".into();
        assert_eq!(
            policies(&settings).unwrap().verification.code_ttl(),
            TimeDelta::minutes(10)
        );
        settings.verification.code_ttl = "600".into();
        assert!(policies(&settings)
            .unwrap_err()
            .to_string()
            .starts_with("invalid configuration: verification.code_ttl: expected a duration"));
        let mut settings = Settings::default();
        settings.verification.max_attempts = 0;
        assert!(policies(&settings).is_err());
        let mut settings = Settings::default();
        settings.reset.ttl = "100000000000d".into();
        assert!(policies(&settings).is_err());
        let mut settings = Settings::default();
        settings.server.public_url = Some("auth.example.com".into());
        assert!(policies(&settings)
            .unwrap_err()
            .to_string()
            .contains("server.public_url"));
        let mut settings = Settings::default();
        settings.server.public_url = Some("https://auth.example.com/".into());
        settings.verification.required_for_login = true;
        let policies = policies(&settings).unwrap();
        assert_eq!(policies.public_url.as_str(), "https://auth.example.com");
        assert!(policies.verification.required_for_login());
    }

    #[test]
    fn cors_is_off_unless_origins_are_set_and_bad_origins_stop_the_start() {
        let mut settings = Settings::default();
        assert!(cors_origins(&settings).unwrap().is_empty());
        settings.server.cors_allowed_origins = vec!["https://App.Example.com".into()];
        assert_eq!(
            cors_origins(&settings).unwrap().as_slice(),
            ["https://app.example.com"]
        );
        settings.server.cors_allowed_origins = vec!["*".into()];
        let error = cors_origins(&settings).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid configuration: server.cors_allowed_origins:"),
            "{error}"
        );
    }

    #[test]
    fn inverted_password_bounds_and_negative_credits_are_refused() {
        let mut settings = Settings::default();
        settings.password.min_length = 300;
        assert!(policies(&settings).is_err());
        let mut settings = Settings::default();
        settings.credits.pricing.insert("photo".into(), -1);
        assert!(policies(&settings).is_err());
    }
}
