//! One fresh app per test: the real routes on the in-memory adapters, a manual clock and a counting hasher.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::web::Bytes;
use actix_web::App;
use chrono::TimeDelta;
use latchkey_domain::ports::{HashPlace, PasswordHasher};
use latchkey_domain::{Delivered, EmailContent, OutboxDelivery, Policies};
use latchkey_domain::{Password, PasswordHash, PortError};
use latchkey_http::HttpConfig;
use latchkey_memory::{FastTestHasher, ManualClock, MemoryPorts, RecordingMailer};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct horse battery";

/// The boxed future `#[async_trait]` methods return (the crate is not a dependency here).
type PortFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PortError>> + Send + 'a>>;

/// Wraps [`FastTestHasher`] and counts every call, to prove which requests reached the hasher; can play a hasher
/// whose queue is full.
#[derive(Debug, Default)]
pub struct CountingHasher {
    inner: FastTestHasher,
    calls: AtomicUsize,
    overloaded: AtomicBool,
}

/// The `Retry-After` an overloaded [`CountingHasher`] hints.
pub const OVERLOAD_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);

impl CountingHasher {
    /// From now on, every call fails as a hasher with a full queue does (or, with `false`, works again).
    pub fn set_overloaded(&self, overloaded: bool) {
        self.overloaded.store(overloaded, Ordering::SeqCst);
    }

    /// The overload, if one is being played.
    fn refusal<T: Send + 'static>(&self) -> Option<PortFuture<'static, T>> {
        self.overloaded.load(Ordering::SeqCst).then(|| {
            Box::pin(async {
                Err(PortError::overloaded(
                    "queue for password hashing",
                    OVERLOAD_RETRY_AFTER,
                ))
            }) as PortFuture<'static, T>
        })
    }

    /// Calls of `hash`, `verify` and `verify_nothing` together.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl PasswordHasher for CountingHasher {
    fn hash<'a, 'b, 'r>(&'a self, password: &'b Password) -> PortFuture<'r, PasswordHash>
    where
        'a: 'r,
        'b: 'r,
    {
        self.count();
        if let Some(refusal) = self.refusal() {
            return refusal;
        }
        self.inner.hash(password)
    }

    fn verify<'a, 'b, 'c, 'r>(
        &'a self,
        password: &'b Password,
        hash: &'c PasswordHash,
    ) -> PortFuture<'r, bool>
    where
        'a: 'r,
        'b: 'r,
        'c: 'r,
    {
        self.count();
        if let Some(refusal) = self.refusal() {
            return refusal;
        }
        self.inner.verify(password, hash)
    }

    fn verify_nothing<'a, 'b, 'r>(&'a self, password: &'b Password) -> PortFuture<'r, ()>
    where
        'a: 'r,
        'b: 'r,
    {
        self.count();
        if let Some(refusal) = self.refusal() {
            return refusal;
        }
        self.inner.verify_nothing(password)
    }

    fn reserve(&self) -> Result<HashPlace, PortError> {
        if self.overloaded.load(Ordering::SeqCst) {
            return Err(PortError::overloaded(
                "queue for password hashing",
                OVERLOAD_RETRY_AFTER,
            ));
        }
        Ok(HashPlace::none())
    }
}

/// A response, read in full.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts the status and the error envelope `{"detail", "code", "errors"?}` with this code; returns the body.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {:?}", self.body);
        assert_eq!(
            self.header(header::CONTENT_TYPE),
            Some("application/json"),
            "{:?}",
            self.body
        );
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
        // The OAuth2 endpoints add RFC 6749's `error` and `error_description` (`oauth_error` checks them).
        let keys: Vec<String> = keys(&body)
            .into_iter()
            .filter(|key| key != "error" && key != "error_description")
            .collect();
        assert!(
            keys == ["code", "detail"] || keys == ["code", "detail", "errors"],
            "{body}"
        );
        assert_eq!(
            body.get("error").is_some(),
            body.get("error_description").is_some(),
            "{body}"
        );
        body
    }

    /// Asserts the status and the envelope with this code, plus RFC 6749's `error` with this value and
    /// `error_description`; returns the body.
    #[track_caller]
    pub fn assert_oauth_error(&self, status: StatusCode, code: &str, error: &str) -> Value {
        let body = self.assert_error(status, code);
        assert_eq!(body["error"], error, "{body}");
        let description = body["error_description"]
            .as_str()
            .expect("error_description");
        assert!(
            description
                .chars()
                .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'),
            "{description}"
        );
        body
    }

    /// Asserts a 401 with this code, detail and challenge.
    #[track_caller]
    pub fn assert_unauthorized(&self, code: &str, detail: &str, challenge: &str) {
        let body = self.assert_error(StatusCode::UNAUTHORIZED, code);
        assert_eq!(body["detail"], detail);
        assert_eq!(self.header(header::WWW_AUTHENTICATE), Some(challenge));
    }
}

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

pub fn api(path: &str) -> String {
    format!("{}{path}", latchkey_http::API_BASE)
}

pub fn bearer(token: &str) -> (header::HeaderName, String) {
    (header::AUTHORIZATION, format!("Bearer {token}"))
}

type ReplyFuture = Pin<Box<dyn Future<Output = Reply>>>;

/// The app under test, with handles on the clock and the hasher.
pub struct TestApp {
    call: Box<dyn Fn(TestRequest) -> ReplyFuture>,
    pub clock: Arc<ManualClock>,
    pub hasher: Arc<CountingHasher>,
    /// Delivers the outbox to [`TestApp::mailer`], as the server's worker would.
    pub delivery: OutboxDelivery,
    pub mailer: Arc<RecordingMailer>,
    /// The service behind the routes, for what has no route (the operators' commands).
    pub latchkey: Arc<latchkey_domain::Latchkey>,
}

/// The introspection secret of [`spawn_introspecting`].
pub const INTROSPECTION_SECRET: &str = "introspection-secret-of-32-bytes-or-more";

/// Builds the app on fresh in-memory adapters with the default policies and HTTP settings.
pub async fn spawn() -> TestApp {
    spawn_app(Policies::default(), HttpConfig::default()).await
}

/// As [`spawn`], with `POST /oauth/introspect` enabled by [`INTROSPECTION_SECRET`].
pub async fn spawn_introspecting() -> TestApp {
    spawn_with(HttpConfig {
        introspection_secret: Some(
            latchkey_http::IntrospectionSecret::new(INTROSPECTION_SECRET).unwrap(),
        ),
        ..HttpConfig::default()
    })
    .await
}

/// As [`spawn`], with these HTTP settings.
pub async fn spawn_with(config: HttpConfig) -> TestApp {
    spawn_app(Policies::default(), config).await
}

/// As [`spawn`], with these policies.
pub async fn spawn_with_policies(policies: Policies) -> TestApp {
    spawn_app(policies, HttpConfig::default()).await
}

/// The middleware the server wraps around the routes, as `latchkey-server` configures it.
#[derive(Debug, Clone, Default)]
pub struct Wrapping {
    /// The public URL is `https://…`: `Strict-Transport-Security` on every response.
    pub https: bool,
    /// CORS origins; empty leaves CORS off.
    pub cors: latchkey_http::CorsOrigins,
}

/// As [`spawn`], with this middleware.
pub async fn spawn_wrapped(wrapping: Wrapping) -> TestApp {
    spawn_app_wrapped(Policies::default(), HttpConfig::default(), wrapping).await
}

async fn spawn_app(policies: Policies, config: HttpConfig) -> TestApp {
    spawn_app_wrapped(policies, config, Wrapping::default()).await
}

async fn spawn_app_wrapped(policies: Policies, config: HttpConfig, wrapping: Wrapping) -> TestApp {
    let memory = MemoryPorts::new();
    let hasher = Arc::new(CountingHasher::default());
    let latchkey = Arc::new(
        memory
            .builder()
            .hasher(hasher.clone())
            .policies(policies)
            .build()
            .unwrap(),
    );
    let (delivery, mailer) = (memory.delivery(), memory.mailer.clone());
    let clock = memory.clock;
    let service = Rc::new(
        test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(latchkey_http::answer_head))
                .wrap(actix_web::middleware::from_fn(
                    latchkey_http::refuse_content_encoding,
                ))
                .wrap(actix_web::middleware::Condition::new(
                    !wrapping.cors.is_empty(),
                    latchkey_http::cors(&wrapping.cors),
                ))
                .wrap(latchkey_http::security_headers(wrapping.https))
                .wrap(actix_web::middleware::from_fn(
                    latchkey_http::record_request,
                ))
                .configure(latchkey_http::configure(Arc::clone(&latchkey), config)),
        )
        .await,
    );
    // The service's type cannot be named here, so a closure carries it.
    let call = move |request: TestRequest| {
        let service = Rc::clone(&service);
        Box::pin(async move {
            let response = match test::try_call_service(&*service, request.to_request()).await {
                Ok(response) => response.map_into_boxed_body(),
                Err(error) => ServiceResponse::new(
                    TestRequest::default().to_http_request(),
                    error.error_response(),
                ),
            };
            let status = response.status();
            let headers = response.headers().clone();
            let body = test::read_body(response).await;
            Reply {
                status,
                headers,
                body,
            }
        }) as ReplyFuture
    };
    TestApp {
        call: Box::new(call),
        clock,
        hasher,
        delivery,
        mailer,
        latchkey,
    }
}

impl TestApp {
    /// Sends a request; an error the service returns instead of a response is rendered as actix would.
    pub async fn send(&self, request: TestRequest) -> Reply {
        (self.call)(request).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Reply {
        self.send(TestRequest::post().uri(&api(path)).set_json(body))
            .await
    }

    pub async fn get_with(&self, path: &str, token: &str) -> Reply {
        self.send(
            TestRequest::get()
                .uri(&api(path))
                .insert_header(bearer(token)),
        )
        .await
    }

    pub async fn post_with(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(
            TestRequest::post()
                .uri(&api(path))
                .insert_header(bearer(token))
                .set_json(body),
        )
        .await
    }

    /// Registers an account with [`PASSWORD`]; returns the 201 body.
    pub async fn register(&self, email: &str, username: Option<&str>) -> Value {
        let mut body = json!({"email": email, "password": PASSWORD});
        if let Some(username) = username {
            body["username"] = json!(username);
        }
        let reply = self.post_json("/auth/register", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.json()
    }

    /// Logs in by JSON with [`PASSWORD`]; returns the 200 body.
    pub async fn login(&self, identifier: &str) -> Value {
        let reply = self
            .post_json(
                "/auth/login",
                json!({"username": identifier, "password": PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        reply.json()
    }

    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    /// Delivers every due email, then returns the newest one sent to `address`.
    /// Delivers everything queued so far (the registration's verification email), so a test starts from an empty
    /// outbox.
    pub async fn settle_and_forget_mail(&self) {
        settle().await;
        while self.delivery.deliver_next().await.unwrap() != Delivered::Idle {}
    }

    pub async fn last_email_to(&self, address: &str) -> EmailContent {
        settle().await;
        while self.delivery.deliver_next().await.unwrap() != Delivered::Idle {}
        self.mailer
            .sent()
            .into_iter()
            .rev()
            .find(|email| email.to.eq_ignore_ascii_case(address))
            .unwrap_or_else(|| panic!("no email to {address}"))
            .content
    }

    /// `(token, code)` of the newest verification email to `address`.
    pub async fn verification_to(&self, address: &str) -> (String, String) {
        match self.last_email_to(address).await {
            EmailContent::Verification { link, code, .. } => (
                link.expose().split_once("?token=").unwrap().1.to_owned(),
                code.expose().to_owned(),
            ),
            other => panic!("not a verification email: {other:?}"),
        }
    }

    /// The token of the newest reset email to `address`.
    pub async fn reset_token_to(&self, address: &str) -> String {
        match self.last_email_to(address).await {
            EmailContent::PasswordReset { link, .. } => {
                link.expose().split_once("?token=").unwrap().1.to_owned()
            }
            other => panic!("not a reset email: {other:?}"),
        }
    }
}

/// Lets the work a handler started after answering (a reset link's issuance) run: the test runtime is
/// single-threaded, so spawned tasks run only when the test yields.
pub async fn settle() {
    for _ in 0..16 {
        actix_web::rt::task::yield_now().await;
    }
}

/// The access token of a register (`token.access_token`) or login (`access_token`) body.
pub fn access_token(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .or_else(|| body["token"]["access_token"].as_str())
        .unwrap_or_else(|| panic!("no access token in {body}"))
        .to_owned()
}

/// The refresh token of a register or login body.
pub fn refresh_token(body: &Value) -> String {
    body["refresh_token"]
        .as_str()
        .or_else(|| body["token"]["refresh_token"].as_str())
        .unwrap_or_else(|| panic!("no refresh token in {body}"))
        .to_owned()
}
