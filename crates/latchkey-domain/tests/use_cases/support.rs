//! One fresh service per test, on the in-memory adapters and a clock that only moves when told to.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::TimeDelta;
use latchkey_domain::ports::{HashPlace, PasswordHasher};
use latchkey_domain::service::{
    ChangePasswordInput, LoginInput, LoginOutcome, RegisterInput, RegisterOutcome,
};
use latchkey_domain::{ClaimedEmail, Delivered, EmailContent, OutboxDelivery};
use latchkey_domain::{
    ClientInfo, Latchkey, Password, PasswordHash, Policies, PortError, Principal, SessionPrincipal,
    TokenPair,
};
use latchkey_memory::{FastTestHasher, ManualClock, MemoryPorts, RecordingMailer};

/// A password that satisfies the default policy.
pub const PASSWORD: &str = "correct horse battery";

/// Wraps [`FastTestHasher`] and counts each kind of call, so tests can tell which work was done; can play a hasher
/// whose queue is full.
#[derive(Debug, Default)]
pub struct CountingHasher {
    hashes: AtomicUsize,
    verifies: AtomicUsize,
    verify_nothings: AtomicUsize,
    places_spent: AtomicUsize,
    overload: AtomicU8,
    held_verify: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

/// How a [`CountingHasher`] plays a full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Overload {
    /// Room for every hash.
    None,
    /// Full: `reserve` and every hash refuse.
    Full,
    /// `reserve` finds room but the hash is refused: what a hasher that reserves nothing (the port's default) does
    /// when its queue fills meanwhile.
    FilledMeanwhile,
    /// Not an overload: every hash fails otherwise (a broken hasher, which might have compared before failing).
    Failing,
}

impl CountingHasher {
    /// From now on, play `overload`.
    pub fn set_overload(&self, overload: Overload) {
        self.overload.store(overload as u8, Ordering::SeqCst);
    }

    fn refused(&self) -> Result<(), PortError> {
        let overload = self.overload.load(Ordering::SeqCst);
        if overload == Overload::None as u8 {
            return Ok(());
        }
        if overload == Overload::Failing as u8 {
            return Err(PortError::new("hash password", "the hasher failed"));
        }
        Err(PortError::overloaded(
            "queue for password hashing",
            std::time::Duration::from_secs(1),
        ))
    }

    /// The next `verify` compares, then waits until the returned sender is used (or dropped) before it answers:
    /// the window of a real hash, in which another request can commit.
    pub fn hold_next_verify(&self) -> tokio::sync::oneshot::Sender<()> {
        let (release, held) = tokio::sync::oneshot::channel();
        *self.held_verify.lock().unwrap() = Some(held);
        release
    }

    pub fn hashes(&self) -> usize {
        self.hashes.load(Ordering::SeqCst)
    }

    pub fn verifies(&self) -> usize {
        self.verifies.load(Ordering::SeqCst)
    }

    pub fn verify_nothings(&self) -> usize {
        self.verify_nothings.load(Ordering::SeqCst)
    }

    /// Verifications (real or decoy) made in a place this hasher reserved.
    pub fn places_spent(&self) -> usize {
        self.places_spent.load(Ordering::SeqCst)
    }

    fn spend(&self, place: HashPlace) {
        if place.into_held::<Reserved>().is_some() {
            self.places_spent.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// What [`CountingHasher::reserve`] puts in a place.
struct Reserved;

#[async_trait]
impl PasswordHasher for CountingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        self.hashes.fetch_add(1, Ordering::SeqCst);
        self.refused()?;
        FastTestHasher.hash(password).await
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        self.refused()?;
        let matched = FastTestHasher.verify(password, hash).await;
        let held = self.held_verify.lock().unwrap().take();
        if let Some(held) = held {
            let _ = held.await;
        }
        matched
    }

    async fn verify_nothing(&self, password: &Password) -> Result<(), PortError> {
        self.verify_nothings.fetch_add(1, Ordering::SeqCst);
        self.refused()?;
        FastTestHasher.verify_nothing(password).await
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        FastTestHasher.needs_rehash(hash)
    }

    fn reserve(&self) -> Result<HashPlace, PortError> {
        if self.overload.load(Ordering::SeqCst) == Overload::Full as u8 {
            self.refused()?;
        }
        Ok(HashPlace::holding(Reserved))
    }

    async fn verify_reserved(
        &self,
        place: HashPlace,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<bool, PortError> {
        self.spend(place);
        self.verify(password, hash).await
    }

    async fn verify_nothing_reserved(
        &self,
        place: HashPlace,
        password: &Password,
    ) -> Result<(), PortError> {
        self.spend(place);
        self.verify_nothing(password).await
    }
}

/// A service with handles on the adapters a test needs to steer or inspect.
pub struct TestApp {
    pub svc: Latchkey,
    pub clock: Arc<ManualClock>,
    pub hasher: Arc<CountingHasher>,
    /// Delivers the outbox to [`TestApp::mailer`], as the server's worker would.
    pub delivery: OutboxDelivery,
    pub mailer: Arc<RecordingMailer>,
}

impl TestApp {
    /// A service with the default policies.
    pub fn new() -> Self {
        Self::with_policies(Policies::default())
    }

    pub fn with_policies(policies: Policies) -> Self {
        let memory = MemoryPorts::new();
        let hasher = Arc::new(CountingHasher::default());
        let svc = memory
            .builder()
            .hasher(hasher.clone())
            .policies(policies)
            .build()
            .unwrap();
        Self {
            svc,
            delivery: memory.delivery(),
            mailer: memory.mailer,
            clock: memory.clock,
            hasher,
        }
    }

    /// Runs the delivery worker until nothing is due; returns every email sent so far.
    pub async fn deliver(&self) -> Vec<ClaimedEmail> {
        while self.delivery.deliver_next().await.unwrap() != Delivered::Idle {}
        self.mailer.sent()
    }

    /// Delivers, then returns the newest email sent to `address` (compared case-insensitively).
    pub async fn last_email_to(&self, address: &str) -> Option<EmailContent> {
        self.deliver()
            .await
            .into_iter()
            .rev()
            .find(|email| email.to.eq_ignore_ascii_case(address))
            .map(|email| email.content)
    }

    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by);
    }

    /// Registers an account that must be accepted.
    pub async fn register(&self, email: &str, username: Option<&str>) -> RegisterOutcome {
        self.svc
            .register(input(email, PASSWORD, username), client())
            .await
            .expect("registration accepted")
    }

    /// Logs in with [`PASSWORD`]; must succeed.
    pub async fn login(&self, identifier: &str) -> LoginOutcome {
        self.svc
            .login(credentials(identifier, PASSWORD), client())
            .await
            .expect("login accepted")
    }

    /// Registers an account with [`PASSWORD`] and logs in; returns the login's tokens.
    pub async fn login_fresh(&self, email: &str) -> TokenPair {
        self.register(email, None).await;
        self.login(email).await.tokens
    }

    /// What the service's clock says now.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        latchkey_domain::ports::Clock::now(&*self.clock)
    }

    /// The principal behind a pair's access token; must be valid.
    pub async fn principal(&self, tokens: &TokenPair) -> Principal {
        self.svc
            .authenticate(tokens.access_token.expose())
            .await
            .expect("access token accepted")
    }

    /// The session principal behind a pair's access token; must be valid.
    pub async fn session(&self, tokens: &TokenPair) -> SessionPrincipal {
        self.principal(tokens)
            .await
            .into_session()
            .expect("an access token is a session credential")
    }
}

pub fn input(email: &str, password: &str, username: Option<&str>) -> RegisterInput {
    let input = RegisterInput::new().email(email).password(password);
    match username {
        Some(username) => input.username(username),
        None => input,
    }
}

pub fn credentials(identifier: &str, password: impl Into<String>) -> LoginInput {
    LoginInput::new().identifier(identifier).password(password)
}

pub fn change(current: &str, new: impl Into<String>) -> ChangePasswordInput {
    ChangePasswordInput::new()
        .current_password(current)
        .new_password(new)
}

pub fn client() -> ClientInfo {
    ClientInfo::new(Some("tests/1.0"), Some("192.0.2.7".to_owned()))
}

/// Sessions that cannot be created (a store that fails between an account's insert and its first session, or
/// between a login's password check and its session); every other call is a test's mistake.
pub struct BrokenSessions;

#[async_trait::async_trait]
impl latchkey_domain::ports::SessionRepository for BrokenSessions {
    async fn create(
        &self,
        _: &latchkey_domain::model::NewSession,
    ) -> Result<latchkey_domain::Session, latchkey_domain::ports::CreateSessionError> {
        Err(latchkey_domain::PortError::new("create session", "database went away").into())
    }
    async fn create_login(
        &self,
        _: &latchkey_domain::ports::NewLogin,
    ) -> Result<latchkey_domain::ports::CreatedLogin, latchkey_domain::ports::CreateSessionError>
    {
        Err(latchkey_domain::PortError::new("create login session", "database went away").into())
    }
    async fn rotate(
        &self,
        _: &latchkey_domain::ports::RotationRequest,
    ) -> Result<latchkey_domain::ports::RotationOutcome, latchkey_domain::PortError> {
        unreachable!("no test of a broken store rotates")
    }
    async fn is_active(
        &self,
        _: &latchkey_domain::SessionId,
        _: &latchkey_domain::UserId,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, latchkey_domain::PortError> {
        unreachable!("no test of a broken store authenticates")
    }
    async fn list_active(
        &self,
        _: &latchkey_domain::UserId,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<latchkey_domain::Session>, latchkey_domain::PortError> {
        unreachable!("no test of a broken store lists sessions")
    }
    async fn revoke(
        &self,
        _: &latchkey_domain::SessionId,
        _: &latchkey_domain::UserId,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, latchkey_domain::PortError> {
        unreachable!("no test of a broken store revokes")
    }
    async fn revoke_by_refresh_token(
        &self,
        _: &latchkey_domain::TokenHash,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<latchkey_domain::Session>, latchkey_domain::PortError> {
        unreachable!("no test of a broken store revokes")
    }
    async fn purge_sessions(
        &self,
        _: chrono::DateTime<chrono::Utc>,
        _: u32,
    ) -> Result<u64, latchkey_domain::PortError> {
        unreachable!("no test of a broken store purges")
    }
    async fn revoke_all(
        &self,
        _: &latchkey_domain::UserId,
        _: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, latchkey_domain::PortError> {
        unreachable!("no test of a broken store revokes")
    }
}

/// An access-token codec that cannot sign (a key that failed to load): every `encode` fails.
pub struct UnsignableTokens;

impl latchkey_domain::ports::AccessTokenCodec for UnsignableTokens {
    fn encode(
        &self,
        _: &latchkey_domain::ports::AccessClaims,
    ) -> Result<String, latchkey_domain::PortError> {
        Err(latchkey_domain::PortError::new(
            "sign access token",
            "no key",
        ))
    }

    fn decode(
        &self,
        _: &str,
    ) -> Result<latchkey_domain::ports::AccessClaims, latchkey_domain::ports::DecodeError> {
        Err(latchkey_domain::ports::DecodeError::Invalid)
    }
}
