//! Composition root: builds every adapter from the settings and binds the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use chrono::TimeDelta;
use latchkey_crypto::{Argon2Hasher, Argon2Params, JwtCodec, JwtConfig, OsSecrets};
use latchkey_domain::ports::SystemClock;
use latchkey_domain::{CreditsPolicy, Latchkey, PasswordPolicy, Policies, TokenPolicy};
use latchkey_http::HttpConfig;

use crate::database::{connect_and_migrate, DatabaseUrl, DatabaseUrlError};
use crate::secret::SecretError;
use crate::settings::Settings;

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
        let latchkey = Arc::new(build_service(settings).await?);
        let http = HttpConfig {
            max_body_bytes: settings.server.max_body_bytes,
        };
        let address = settings.server.bind.clone();
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .port();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(latchkey_http::log_request))
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
        Ok(Self { server, port })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests and returns.
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Builds the domain service and its adapters from the settings.
///
/// # Errors
/// [`StartupError`] for any unusable setting or unreachable dependency.
pub async fn build_service(settings: &Settings) -> Result<Latchkey, StartupError> {
    let policies = policies(settings)?;
    let database = DatabaseUrl::parse(&settings.database.url)?;
    let secret = crate::secret::resolve(settings.jwt.secret.as_deref(), &database)?;
    let access_tokens = JwtCodec::new(JwtConfig {
        secret: secret.clone(),
        issuer: settings.jwt.issuer.clone(),
        audience: settings.jwt.audience.clone(),
    })?;
    let hasher = Argon2Hasher::new(Argon2Params {
        memory_kib: settings.argon2.memory_kib,
        iterations: settings.argon2.iterations,
        parallelism: settings.argon2.parallelism,
    })?;
    let stores = connect_and_migrate(&database, settings.database.max_connections.max(1)).await?;
    Ok(Latchkey::builder()
        .users(stores.users)
        .sessions(stores.sessions)
        .health(stores.health)
        .hasher(Arc::new(hasher))
        .access_tokens(Arc::new(access_tokens))
        .secrets(Arc::new(OsSecrets::derived_from(&secret)))
        .clock(Arc::new(SystemClock))
        .policies(policies)
        .build()?)
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

fn policies(settings: &Settings) -> Result<Policies, StartupError> {
    let password = &settings.password;
    if password.min_length == 0 || password.min_length > password.max_length {
        return Err(StartupError::Invalid(format!(
            "password.min_length ({}) must be between 1 and password.max_length ({})",
            password.min_length, password.max_length
        )));
    }
    let jwt = &settings.jwt;
    // Bounded so that no date arithmetic can overflow and no token outlives what an operator could mean.
    let duration = |name: &str, seconds: i64, min: i64, max: i64| {
        if (min..=max).contains(&seconds) {
            Ok(TimeDelta::seconds(seconds))
        } else {
            Err(StartupError::Invalid(format!(
                "jwt.{name} must be between {min} and {max} seconds, got {seconds}"
            )))
        }
    };
    const DAY: i64 = 86_400;
    let credits = &settings.credits;
    if credits.welcome < 0 || credits.pricing.values().any(|price| *price < 0) {
        return Err(StartupError::Invalid("credits must not be negative".into()));
    }
    Ok(Policies {
        password: PasswordPolicy {
            min_length: password.min_length,
            max_length: password.max_length,
        },
        tokens: TokenPolicy {
            access_ttl: duration("access_ttl_seconds", jwt.access_ttl_seconds, 1, DAY)?,
            refresh_ttl: duration(
                "refresh_ttl_seconds",
                jwt.refresh_ttl_seconds,
                60,
                366 * DAY,
            )?,
            refresh_reuse_grace: duration(
                "refresh_reuse_grace_seconds",
                jwt.refresh_reuse_grace_seconds,
                0,
                300,
            )?,
        },
        credits: CreditsPolicy {
            welcome_credits: credits.welcome,
            pricing: credits.pricing.clone(),
        },
    })
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
            settings.jwt.refresh_ttl_seconds = refresh;
            settings.jwt.refresh_reuse_grace_seconds = grace;
            assert!(matches!(policies(&settings), Err(StartupError::Invalid(_))));
        }
        assert!(policies(&Settings::default()).is_ok());
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
