//! PostgreSQL over TLS: the URL's `sslmode` (and `sslrootcert`) honoured as libpq does, with rustls.
//!
//! tokio-postgres knows `disable`, `prefer` and `require` only, and leaves every check of the certificate to the TLS
//! connector it is given. So the URL is read here first: its `sslmode` picks the connector (none, one that encrypts
//! without checking the certificate, or one that checks it), `sslrootcert` names the trusted certificates, and the
//! driver gets the URL with those two translated into what it understands.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use diesel::ConnectionResult;
use diesel_async::pooled_connection::SetupCallback;
use diesel_async::AsyncPgConnection;
use futures_util::FutureExt as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, NoTls, TlsConnect};

/// How the connection is protected, as the URL's `sslmode` asks (libpq's names and meanings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// `disable`: plain TCP.
    Disable,
    /// `prefer` (the default): plain TCP, as Latchkey has always connected without a mode.
    Prefer,
    /// `require`: TLS, without checking the certificate (as libpq does without a root certificate).
    Require,
    /// `verify-ca`: TLS with a certificate signed by a trusted authority, whatever host it names.
    VerifyCa,
    /// `verify-full`: TLS with a trusted certificate for the host connected to.
    VerifyFull,
}

/// Why the URL's TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsSetupError {
    /// `sslmode` names no mode libpq knows.
    #[error("sslmode={0} is not one of disable, allow, prefer, require, verify-ca, verify-full")]
    UnknownMode(String),
    /// The `sslrootcert` file cannot be read or holds no certificate.
    #[error("sslrootcert={path}: {reason}")]
    RootCertificates {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration (no usable protocol version).
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A connection URL with its TLS settings taken out: the URL the driver gets, and the TLS it needs.
#[derive(Clone)]
pub(crate) struct Target {
    driver_url: String,
    mode: SslMode,
    tls: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Reads `sslmode` and `sslrootcert` from a `postgres://` URL (a libpq `key=value` string goes to the driver as
    /// it is, which knows `disable`, `prefer` and `require`, the latter unverified).
    pub(crate) fn parse(url: &str) -> Result<Self, TlsSetupError> {
        let Ok(mut parsed) = url::Url::parse(url) else {
            let mode = match url
                .parse::<tokio_postgres::Config>()
                .map(|c| c.get_ssl_mode())
            {
                Ok(tokio_postgres::config::SslMode::Require) => SslMode::Require,
                _ => SslMode::Prefer,
            };
            return Self::with(url.to_owned(), mode, None);
        };
        let mut mode = SslMode::Prefer;
        let mut root_certificate = None;
        // The other parameters are kept as written: re-encoding them could change what the driver reads.
        let mut kept: Vec<&str> = Vec::new();
        let query = parsed.query().unwrap_or_default().to_owned();
        for raw in query.split('&').filter(|pair| !pair.is_empty()) {
            let Some((key, value)) = url::form_urlencoded::parse(raw.as_bytes()).next() else {
                continue;
            };
            match key.as_ref() {
                "sslmode" => {
                    mode = match value.as_ref() {
                        "disable" => SslMode::Disable,
                        // `allow` tries plain first, as `prefer` does here.
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => return Err(TlsSetupError::UnknownMode(other.to_owned())),
                    }
                }
                "sslrootcert" => root_certificate = Some(value.into_owned()),
                _ => kept.push(raw),
            }
        }
        let driver_mode = match mode {
            SslMode::Disable => "sslmode=disable",
            SslMode::Prefer => "sslmode=prefer",
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => "sslmode=require",
        };
        kept.push(driver_mode);
        parsed.set_query(Some(&kept.join("&")));
        Self::with(parsed.into(), mode, root_certificate)
    }

    fn with(
        driver_url: String,
        mode: SslMode,
        root_certificate: Option<String>,
    ) -> Result<Self, TlsSetupError> {
        let tls = match mode {
            SslMode::Disable | SslMode::Prefer => None,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                Some(Arc::new(client_config(mode, root_certificate.as_deref())?))
            }
        };
        Ok(Self {
            driver_url,
            mode,
            tls,
        })
    }

    /// The mode in force.
    #[cfg(test)]
    pub(crate) fn mode(&self) -> SslMode {
        self.mode
    }

    /// The pool's connection setup: connects as the target asks.
    pub(crate) fn setup(self) -> SetupCallback<AsyncPgConnection> {
        let target = Arc::new(self);
        Box::new(move |_url| {
            let target = Arc::clone(&target);
            async move { target.connect().await }.boxed()
        })
    }

    async fn connect(&self) -> ConnectionResult<AsyncPgConnection> {
        let bad = |error: tokio_postgres::Error| {
            diesel::ConnectionError::BadConnection(crate::error::innermost(&error).to_string())
        };
        let config: tokio_postgres::Config = self.driver_url.parse().map_err(bad)?;
        match &self.tls {
            None => {
                let (client, connection) = config.connect(NoTls).await.map_err(bad)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
            Some(tls) => {
                let connector = Rustls {
                    config: Arc::clone(tls),
                    mode: self.mode,
                };
                let (client, connection) = config.connect(connector).await.map_err(bad)?;
                AsyncPgConnection::try_from_client_and_connection(client, connection).await
            }
        }
    }
}

/// The rustls configuration of a TLS mode: which certificates are trusted, and how much is checked.
fn client_config(
    mode: SslMode,
    root_certificate: Option<&str>,
) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let config = if mode == SslMode::Require {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    } else {
        let roots = Arc::new(root_store(root_certificate)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|error| TlsSetupError::Rustls(rustls::Error::General(error.to_string())))?;
        let verifier: Arc<dyn ServerCertVerifier> = if mode == SslMode::VerifyCa {
            Arc::new(AnyHost(webpki))
        } else {
            webpki
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth()
    };
    Ok(config)
}

/// The certificates of `sslrootcert` (PEM), or, without it (or with libpq's `system`), the Mozilla roots.
fn root_store(root_certificate: Option<&str>) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    match root_certificate {
        None | Some("system") => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let refused = |reason: String| TlsSetupError::RootCertificates {
                path: PathBuf::from(path),
                reason,
            };
            let certificates = CertificateDer::pem_file_iter(path)
                .map_err(|error| refused(error.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| refused(error.to_string()))?;
            if certificates.is_empty() {
                return Err(refused("no PEM certificate in the file".to_owned()));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|error| refused(error.to_string()))?;
            }
        }
    }
    Ok(roots)
}

/// `sslmode=require`: any certificate is accepted (the connection is encrypted, not authenticated), but the
/// handshake's signatures are still checked, so the session keys belong to whoever holds that certificate's key.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the certificate chain must lead to a trusted root, but may name any host.
#[derive(Debug)]
struct AnyHost(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHost {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain is checked before the name, so a name error means the chain was trusted.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// tokio-postgres's TLS connector over rustls.
#[derive(Clone)]
struct Rustls {
    config: Arc<ClientConfig>,
    mode: SslMode,
}

/// A TLS handshake that failed, said for an operator: what the mode checks, and what to do about it.
#[derive(Debug)]
struct HandshakeError {
    mode: SslMode,
    source: io::Error,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let certificate = self
            .source
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|error| matches!(error, rustls::Error::InvalidCertificate(_)));
        if certificate {
            let mode = match self.mode {
                SslMode::VerifyFull => "verify-full",
                _ => "verify-ca",
            };
            write!(
                f,
                "TLS: the server's certificate is not trusted under sslmode={mode} ({}); name the certificate \
                 authority that signed it with sslrootcert=PATH",
                self.source
            )
        } else {
            write!(f, "TLS handshake failed: {}", self.source)
        }
    }
}

impl std::error::Error for HandshakeError {}

impl<S> MakeTlsConnect<S> for Rustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: Arc::clone(&self.config),
            mode: self.mode,
            server_name: ServerName::try_from(domain)?.to_owned(),
        })
    }
}

/// One connection's TLS handshake.
struct RustlsConnect {
    config: Arc<ClientConfig>,
    mode: SslMode,
    server_name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = HandshakeError;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, HandshakeError>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        let mode = self.mode;
        Box::pin(async move {
            connector
                .connect(self.server_name, stream)
                .await
                .map(RustlsStream)
                .map_err(|source| HandshakeError { mode, source })
        })
    }
}

/// The encrypted stream tokio-postgres reads and writes.
struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM's channel binding is not offered; the certificate checks above are what authenticate the server.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::{Bool, Text};
    use diesel_async::RunQueryDsl;

    use super::*;

    fn driver_url(url: &str) -> String {
        Target::parse(url).unwrap().driver_url
    }

    #[test]
    fn the_mode_is_read_from_the_url_and_translated_for_the_driver() {
        let base = "postgres://app:pw@db:5432/x";
        for (query, mode, driver) in [
            ("", SslMode::Prefer, "sslmode=prefer"),
            ("?sslmode=disable", SslMode::Disable, "sslmode=disable"),
            ("?sslmode=allow", SslMode::Prefer, "sslmode=prefer"),
            ("?sslmode=prefer", SslMode::Prefer, "sslmode=prefer"),
            ("?sslmode=require", SslMode::Require, "sslmode=require"),
            ("?sslmode=verify-ca", SslMode::VerifyCa, "sslmode=require"),
            (
                "?sslmode=verify-full",
                SslMode::VerifyFull,
                "sslmode=require",
            ),
        ] {
            let target = Target::parse(&format!("{base}{query}")).unwrap();
            assert_eq!(target.mode(), mode, "{query}");
            assert_eq!(target.driver_url, format!("{base}?{driver}"), "{query}");
            assert_eq!(target.tls.is_some(), driver == "sslmode=require", "{query}");
        }
    }

    #[test]
    fn other_parameters_reach_the_driver_as_written() {
        assert_eq!(
            driver_url(
                "postgres://app@db/x?application_name=lk&sslmode=verify-full&options=-c%20search_path%3Dlk"
            ),
            "postgres://app@db/x?application_name=lk&options=-c%20search_path%3Dlk&sslmode=require"
        );
    }

    #[test]
    fn bad_tls_settings_are_clear_errors() {
        let error = Target::parse("postgres://db/x?sslmode=verify").unwrap_err();
        assert_eq!(
            error.to_string(),
            "sslmode=verify is not one of disable, allow, prefer, require, verify-ca, verify-full"
        );
        let missing = "/nonexistent/root.crt";
        let error = Target::parse(&format!(
            "postgres://db/x?sslmode=verify-full&sslrootcert={missing}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("sslrootcert=/nonexistent/root.crt: "),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = Target::parse(&format!(
            "postgres://db/x?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
    }

    #[test]
    fn key_value_strings_go_to_the_driver_as_they_are() {
        let conninfo = "host=db user=app sslmode=require";
        let target = Target::parse(conninfo).unwrap();
        assert_eq!(target.mode(), SslMode::Require);
        assert_eq!(target.driver_url, conninfo);
        assert_eq!(Target::parse("host=db").unwrap().mode(), SslMode::Prefer);
    }

    /// The test server's URL with `query` appended, when the server is reachable and has TLS on; `None` (after
    /// printing why) otherwise. Under `CI=true` a server without TLS fails the test: `.ci/run` turns it on.
    async fn tls_server(query: &str) -> Option<(crate::test_support::TestDatabase, String)> {
        let database = crate::test_support::fresh_postgres_database().await?;
        let mut plain = Target::parse(database.url())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let ssl: String = diesel::select(diesel::dsl::sql::<Text>("current_setting('ssl')"))
            .get_result(&mut plain)
            .await
            .unwrap();
        if ssl != "on" {
            assert!(
                !std::env::var("CI").is_ok_and(|ci| ci == "true"),
                "PostgreSQL has ssl = off; CI=true requires it on (.ci/run turns it on)"
            );
            println!("skipped: the test PostgreSQL server has ssl = off");
            return None;
        }
        let separator = if database.url().contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{separator}{query}", database.url());
        Some((database, url))
    }

    async fn uses_tls(connection: &mut AsyncPgConnection) -> bool {
        diesel::select(diesel::dsl::sql::<Bool>(
            "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
        ))
        .get_result(connection)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn require_encrypts_and_disable_does_not() {
        let Some((_database, url)) = tls_server("sslmode=require").await else {
            return;
        };
        let mut connection = Target::parse(&url).unwrap().connect().await.unwrap();
        assert!(
            uses_tls(&mut connection).await,
            "sslmode=require connected in plain text"
        );
        let plain = url.replace("sslmode=require", "sslmode=disable");
        let mut connection = Target::parse(&plain).unwrap().connect().await.unwrap();
        assert!(!uses_tls(&mut connection).await);
    }

    #[tokio::test]
    async fn verification_refuses_an_untrusted_certificate_and_checks_the_host() {
        let Some((_database, url)) = tls_server("sslmode=verify-full").await else {
            return;
        };
        // A self-signed certificate (Debian's snakeoil) is not among the Mozilla roots.
        let Err(error) = Target::parse(&url).unwrap().connect().await else {
            panic!("sslmode=verify-full accepted an untrusted certificate");
        };
        let error = error.to_string();
        assert!(
            error.contains("the server's certificate is not trusted under sslmode=verify-full"),
            "{error}"
        );
        // The same through the store, as the server starts.
        let message = crate::pg::PgStore::connect(&url, 1)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("not trusted under sslmode=verify-full"),
            "{message}"
        );

        // Trusting the server's own certificate: verify-ca connects; verify-full still checks the name, which the
        // certificate does not give as 127.0.0.1.
        let plain = url.replace("sslmode=verify-full", "sslmode=disable");
        let mut connection = Target::parse(&plain).unwrap().connect().await.unwrap();
        let certificate: String =
            diesel::select(diesel::dsl::sql::<Text>("current_setting('ssl_cert_file')"))
                .get_result(&mut connection)
                .await
                .unwrap();
        if std::fs::metadata(&certificate).is_err() {
            println!("skipped the sslrootcert part: {certificate} is not readable here");
            return;
        }
        let with_root = |mode: &str| {
            url.replace(
                "sslmode=verify-full",
                &format!("sslmode={mode}&sslrootcert={certificate}"),
            )
        };
        let mut connection = Target::parse(&with_root("verify-ca"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        assert!(uses_tls(&mut connection).await);
        if url.contains("@127.0.0.1") || url.contains("@[::1]") {
            let error = Target::parse(&with_root("verify-full"))
                .unwrap()
                .connect()
                .await
                .err()
                .expect("verify-full accepted a certificate for another name");
            assert!(error.to_string().contains("not trusted"), "{error}");
        }
    }
}
