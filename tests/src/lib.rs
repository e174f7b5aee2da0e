//! Test harness: [`TestApp::spawn`] starts the real application (as `latchkey serve` builds it) on a free port with
//! a fresh database, and offers a small HTTP client to drive it.

#![forbid(unsafe_code)]
// A harness that cannot set up should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;

use awc::http::StatusCode;
use latchkey_diesel::test_support::{fresh_postgres_database, TestDatabase};
use latchkey_server::{Application, Settings};
use latchkey_smtp::test_support::{ReceivedEmail, SmtpSink};
use serde_json::{json, Value};

/// Which database the application runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// Where a test application keeps its data; dropped with it.
#[derive(Debug)]
enum Storage {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] TestDatabase),
}

/// How long a test waits for an email before failing (the worker looks every second).
pub const MAIL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// A running application and a client pointed at it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The settings it was started with (to start a second instance on the same database).
    pub settings: Settings,
    /// The SMTP server its emails are delivered to.
    pub smtp: std::sync::Arc<SmtpSink>,
    _storage: std::sync::Arc<Storage>,
}

/// A response: status, headers we look at, and the JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// `WWW-Authenticate`, if any.
    pub www_authenticate: Option<String>,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `Content-Security-Policy`, if any.
    pub content_security_policy: Option<String>,
    /// `Referrer-Policy`, if any.
    pub referrer_policy: Option<String>,
    /// `Retry-After`, if any.
    pub retry_after: Option<String>,
    /// Every header.
    pub headers: awc::http::header::HeaderMap,
    /// The body as text, when it is not JSON (pages).
    pub text: String,
    /// Parsed JSON body.
    pub body: Value,
}

/// The `introspection.secret` every test application is started with.
pub const INTROSPECTION_SECRET: &str = "a-test-introspection-secret-of-32-bytes-or-more";

/// Settings for tests: a free port, one worker, argon2 at its cheapest (the production cost is benchmarked, not
/// tested), and introspection enabled with [`INTROSPECTION_SECRET`].
fn test_settings(database_url: String, jwt_secret: Option<&str>) -> Settings {
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = 1;
    settings.server.shutdown_timeout_seconds = 1;
    settings.database.url = database_url;
    settings.database.max_connections = 4;
    settings.jwt.secret = jwt_secret.map(str::to_owned);
    settings.argon2.memory_kib = 64;
    settings.argon2.iterations = 1;
    settings.introspection.secret = Some(INTROSPECTION_SECRET.to_owned());
    settings
}

impl TestApp {
    /// Starts the application on a fresh database; `None` (after printing why) when PostgreSQL is wanted but not
    /// reachable outside CI.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// As [`TestApp::spawn`], with the settings changed by `configure` first.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Settings),
    ) -> Option<Self> {
        let (mut settings, storage) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
                // No secret: exercise the generated-secret path a zero-configuration start takes.
                (test_settings(url, None), Storage::Sqlite(dir))
            }
            Backend::Postgres => {
                let database = fresh_postgres_database().await?;
                let settings = test_settings(
                    database.url().to_owned(),
                    Some("a-test-secret-that-is-at-least-32-bytes-long"),
                );
                (settings, Storage::Postgres(database))
            }
        };
        // Every email goes through real SMTP, to a sink on a free port.
        let smtp = std::sync::Arc::new(SmtpSink::start().await.unwrap());
        settings.mail.smtp_url = Some(smtp.url());
        settings.mail.from = "Latchkey <no-reply@latchkey.test>".into();
        configure(&mut settings);
        Some(Self::start(settings, std::sync::Arc::new(storage), smtp).await)
    }

    async fn start(
        settings: Settings,
        storage: std::sync::Arc<Storage>,
        smtp: std::sync::Arc<SmtpSink>,
    ) -> Self {
        let app = Application::build(&settings)
            .await
            .expect("application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        Self {
            address,
            settings,
            smtp,
            _storage: storage,
        }
    }

    /// A second instance on the same database, secret and SMTP server, as a scaled-out deployment runs.
    pub async fn another_instance(&self) -> Self {
        Self::start(
            self.settings.clone(),
            self._storage.clone(),
            self.smtp.clone(),
        )
        .await
    }

    /// The database URL the application runs on.
    pub fn database_url(&self) -> &str {
        &self.settings.database.url
    }

    /// Waits (up to [`MAIL_DEADLINE`]) for the email to `address` that follows the first `skip` ones.
    pub async fn email_to(&self, address: &str, skip: usize) -> ReceivedEmail {
        self.smtp.wait_for(address, skip, MAIL_DEADLINE).await
    }

    /// A second instance on the same database, with its settings changed by `configure`.
    pub async fn another_instance_with(&self, configure: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = self.settings.clone();
        configure(&mut settings);
        Self::start(settings, self._storage.clone(), self.smtp.clone()).await
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("/auth") {
            format!("{}/api/v1{path}", self.address)
        } else {
            format!("{}{path}", self.address)
        }
    }

    /// Sends a request; paths starting with `/auth` are under `/api/v1`.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Body<'_>>,
    ) -> Reply {
        let credential = bearer.map(|token| ("Authorization", format!("Bearer {token}")));
        self.request_with(method, path, credential.into_iter().collect(), body)
            .await
    }

    /// Sends a request with these extra headers; paths starting with `/auth` are under `/api/v1`.
    pub async fn request_with_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Body<'_>>,
    ) -> Reply {
        let headers = headers
            .iter()
            .map(|(name, value)| (*name, (*value).to_owned()))
            .collect();
        self.request_with(method, path, headers, body).await
    }

    /// Sends `request` as raw bytes (HTTP/1.1, ending the connection after the answer) and returns every byte the
    /// server wrote back: for what a client library hides, such as a body after the answer to a `HEAD`.
    pub async fn raw_exchange(&self, request: String) -> Vec<u8> {
        use std::io::{Read, Write};
        let address = self.address.trim_start_matches("http://").to_owned();
        actix_web::rt::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address).unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            answer
        })
        .await
        .unwrap()
    }

    /// `GET path` with an `X-API-Key` header.
    pub async fn get_with_api_key(&self, path: &str, api_key: &str) -> Reply {
        self.request_with("GET", path, vec![("X-API-Key", api_key.to_owned())], None)
            .await
    }

    /// Sends a request with these headers (a credential, …).
    async fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(&str, String)>,
        body: Option<Body<'_>>,
    ) -> Reply {
        // awc gives up after 5 s by default; a thousand concurrent requests on a loaded two-core CI machine can
        // queue longer than that, and a test must fail on what the server answers, not on the client's patience.
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .finish();
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = client.request(method, self.url(path));
        for header in headers {
            request = request.insert_header(header);
        }
        let mut response = match body {
            None => request.send().await,
            Some(Body::Json(value)) => request.send_json(&value).await,
            Some(Body::Form(pairs)) => request.send_form(&pairs).await,
            Some(Body::Raw(content_type, bytes)) => {
                request
                    .insert_header(("Content-Type", content_type))
                    .send_body(bytes)
                    .await
            }
        }
        .expect("request reaches the server");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (www_authenticate, content_type) = (header("www-authenticate"), header("content-type"));
        let content_security_policy = header("content-security-policy");
        let referrer_policy = header("referrer-policy");
        let retry_after = header("retry-after");
        let headers = response.headers().clone();
        let bytes = response.body().limit(1 << 20).await.expect("body readable");
        let is_json = content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/json"));
        let body = if bytes.is_empty() || !is_json {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("body is not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status: response.status(),
            www_authenticate,
            content_type,
            content_security_policy,
            referrer_policy,
            retry_after,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
            body,
        }
    }

    /// `POST path` with a JSON body and one more header (`X-Forwarded-For`, …).
    pub async fn post_json_with_header(
        &self,
        path: &str,
        header: (&str, &str),
        body: Value,
    ) -> Reply {
        self.request_with_headers("POST", path, &[header], Some(Body::Json(body)))
            .await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        self.request("GET", path, bearer, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: Value) -> Reply {
        self.request("POST", path, bearer, Some(Body::Json(body)))
            .await
    }

    /// Registers an account and returns the reply.
    pub async fn register(&self, email: &str, password: &str) -> Reply {
        self.post_json(
            "/auth/register",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Logs in with JSON and returns `(access_token, refresh_token)`, asserting success.
    pub async fn login(&self, identifier: &str, password: &str) -> (String, String) {
        let reply = self
            .post_json(
                "/auth/login",
                None,
                json!({"username": identifier, "password": password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "login failed: {}", reply.body);
        tokens(&reply.body)
    }
}

/// A request body.
#[derive(Debug)]
pub enum Body<'a> {
    /// `application/json`.
    Json(Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(&'a str, &'a str)>),
    /// Any content type and bytes.
    Raw(&'a str, Vec<u8>),
}

/// `(access_token, refresh_token)` of a token pair body.
pub fn tokens(pair: &Value) -> (String, String) {
    (
        pair["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        pair["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    )
}
