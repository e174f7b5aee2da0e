use latchkey_domain::service::LoginError;

use crate::support::{client, credentials, TestApp, PASSWORD};

#[tokio::test]
async fn login_by_email_in_any_case() {
    let app = TestApp::new();
    let registered = app.register("Jane@Example.com", Some("jane")).await;
    for identifier in ["Jane@Example.com", "jane@example.com", "JANE@EXAMPLE.COM"] {
        let outcome = app.login(identifier).await;
        assert_eq!(outcome.user.id, registered.user.id, "{identifier}");
    }
}

#[tokio::test]
async fn login_by_username_in_any_case() {
    let app = TestApp::new();
    let registered = app.register("jane@example.com", Some("Jane_D")).await;
    for identifier in ["Jane_D", "jane_d", "JANE_D"] {
        let outcome = app.login(identifier).await;
        assert_eq!(outcome.user.id, registered.user.id, "{identifier}");
    }
}

#[tokio::test]
async fn each_login_starts_its_own_session() {
    let app = TestApp::new();
    let registered = app.register("jane@example.com", None).await;
    let first = app.login("jane@example.com").await;
    let second = app.login("jane@example.com").await;
    let sessions = [
        app.session(registered.tokens.as_ref().unwrap())
            .await
            .session_id()
            .clone(),
        app.session(&first.tokens).await.session_id().clone(),
        app.session(&second.tokens).await.session_id().clone(),
    ];
    assert_ne!(sessions[0], sessions[1]);
    assert_ne!(sessions[1], sessions[2]);
    assert_ne!(sessions[0], sessions[2]);
    assert_ne!(
        first.tokens.refresh_token.expose(),
        second.tokens.refresh_token.expose()
    );
}

#[tokio::test]
async fn wrong_password_is_invalid_credentials_after_a_real_verify() {
    let app = TestApp::new();
    app.register("jane@example.com", Some("jane")).await;
    for identifier in ["jane@example.com", "jane"] {
        let error = app
            .svc
            .login(credentials(identifier, "wrong password"), client())
            .await
            .unwrap_err();
        assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
    }
    assert_eq!(app.hasher.verifies(), 2);
    assert_eq!(app.hasher.verify_nothings(), 0);
}

#[tokio::test]
async fn unknown_account_is_invalid_credentials_and_still_costs_a_hash() {
    let app = TestApp::new();
    app.register("jane@example.com", Some("jane")).await;
    // An unknown email, an unknown username, and an identifier that is neither.
    for identifier in ["nobody@example.com", "nobody", "x"] {
        let error = app
            .svc
            .login(credentials(identifier, PASSWORD), client())
            .await
            .unwrap_err();
        assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
    }
    assert_eq!(app.hasher.verify_nothings(), 3);
    assert_eq!(app.hasher.verifies(), 0);
}

#[tokio::test]
async fn overlong_password_is_refused_without_hashing() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    let error = app
        .svc
        .login(credentials("jane@example.com", "a".repeat(257)), client())
        .await
        .unwrap_err();
    assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
    assert_eq!(app.hasher.verifies() + app.hasher.verify_nothings(), 0);
}

/// What a [`Scripted`] hasher does, once, when armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Twist {
    /// After its next `verify`, jane's password changes (to [`NEW_PASSWORD`]), as if a change landed between the
    /// login's check and its session.
    ChangePasswordAfterVerify,
    /// After its next `verify`, jane's hash is upgraded (same password), as another login would.
    UpgradeAfterVerify,
    /// Before its next `hash`, jane's password changes: the change lands while the login computes the upgrade.
    ChangePasswordBeforeHash,
    /// Its next `hash` fails.
    FailHash,
}

const NEW_PASSWORD: &str = "a brand new passphrase";

/// [`FastTestHasher`](latchkey_memory::FastTestHasher) with one twist, armed by the test, that reaches into the
/// store where a concurrent request would.
struct Scripted {
    store: std::sync::Arc<latchkey_memory::MemoryStore>,
    twist: std::sync::Mutex<Option<Twist>>,
    verifies: std::sync::atomic::AtomicUsize,
    hashes: std::sync::atomic::AtomicUsize,
}

impl Scripted {
    fn arm(&self, twist: Twist) {
        *self.twist.lock().unwrap() = Some(twist);
    }

    fn take(&self, wanted: &[Twist]) -> Option<Twist> {
        let mut twist = self.twist.lock().unwrap();
        let taken = twist.filter(|t| wanted.contains(t));
        if taken.is_some() {
            *twist = None;
        }
        taken
    }

    async fn jane(&self) -> latchkey_domain::UserCredentials {
        use latchkey_domain::ports::{UserLookup, UserRepository};
        let email = latchkey_domain::Email::parse("jane@example.com").unwrap();
        self.store
            .find_credentials(&UserLookup::Email(email))
            .await
            .unwrap()
            .unwrap()
    }

    async fn change_password(&self) {
        use latchkey_domain::ports::{PasswordHasher, UserRepository};
        let jane = self.jane().await;
        let new_hash = latchkey_memory::FastTestHasher
            .hash(&password(NEW_PASSWORD))
            .await
            .unwrap();
        self.store
            .update_password(&jane.user.id, &new_hash, None, jane.user.created_at)
            .await
            .unwrap();
    }
}

fn password(raw: &str) -> latchkey_domain::Password {
    latchkey_domain::Password::for_verification(raw.into(), &Default::default()).unwrap()
}

#[async_trait::async_trait]
impl latchkey_domain::ports::PasswordHasher for Scripted {
    async fn hash(
        &self,
        password: &latchkey_domain::Password,
    ) -> Result<latchkey_domain::PasswordHash, latchkey_domain::PortError> {
        self.hashes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match self.take(&[Twist::ChangePasswordBeforeHash, Twist::FailHash]) {
            Some(Twist::ChangePasswordBeforeHash) => self.change_password().await,
            Some(_) => {
                return Err(latchkey_domain::PortError::new(
                    "hash password",
                    "pool gone",
                ))
            }
            None => {}
        }
        latchkey_memory::FastTestHasher.hash(password).await
    }

    async fn verify(
        &self,
        password: &latchkey_domain::Password,
        hash: &latchkey_domain::PasswordHash,
    ) -> Result<bool, latchkey_domain::PortError> {
        use latchkey_domain::ports::UserRepository;
        self.verifies
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let verified = latchkey_memory::FastTestHasher
            .verify(password, hash)
            .await?;
        match self.take(&[Twist::ChangePasswordAfterVerify, Twist::UpgradeAfterVerify]) {
            Some(Twist::ChangePasswordAfterVerify) => self.change_password().await,
            Some(_) => {
                let jane = self.jane().await;
                let upgraded = latchkey_memory::FastTestHasher.hash(password).await?;
                assert!(
                    self.store
                        .rehash_password(&jane.user.id, &jane.password_hash, &upgraded)
                        .await?
                );
            }
            None => {}
        }
        Ok(verified)
    }

    async fn verify_nothing(
        &self,
        password: &latchkey_domain::Password,
    ) -> Result<(), latchkey_domain::PortError> {
        latchkey_memory::FastTestHasher
            .verify_nothing(password)
            .await
    }

    fn needs_rehash(&self, hash: &latchkey_domain::PasswordHash) -> bool {
        latchkey_memory::FastTestHasher.needs_rehash(hash)
    }
}

/// A service on fresh in-memory adapters with a [`Scripted`] hasher, and jane registered with [`PASSWORD`]; with
/// `legacy`, her stored hash is then replaced by a legacy one (which needs rehashing).
async fn scripted(
    legacy: bool,
) -> (
    latchkey_domain::Latchkey,
    latchkey_memory::MemoryPorts,
    std::sync::Arc<Scripted>,
) {
    use latchkey_domain::ports::UserRepository;
    let memory = latchkey_memory::MemoryPorts::new();
    let hasher = std::sync::Arc::new(Scripted {
        store: memory.store.clone(),
        twist: std::sync::Mutex::new(None),
        verifies: Default::default(),
        hashes: Default::default(),
    });
    let svc = memory
        .builder()
        .hasher(hasher.clone())
        .policies(latchkey_domain::Policies::default())
        .build()
        .unwrap();
    svc.register(
        crate::support::input("jane@example.com", PASSWORD, None),
        client(),
    )
    .await
    .unwrap();
    if legacy {
        let jane = hasher.jane().await;
        let old = latchkey_memory::FastTestHasher::legacy_hash(&password(PASSWORD));
        assert!(memory
            .store
            .rehash_password(&jane.user.id, &jane.password_hash, &old)
            .await
            .unwrap());
    }
    hasher.hashes.store(0, std::sync::atomic::Ordering::SeqCst);
    hasher
        .verifies
        .store(0, std::sync::atomic::Ordering::SeqCst);
    (svc, memory, hasher)
}

async fn login(
    svc: &latchkey_domain::Latchkey,
    password: &str,
) -> Result<latchkey_domain::service::LoginOutcome, LoginError> {
    svc.login(credentials("jane@example.com", password), client())
        .await
}

#[tokio::test]
async fn a_login_overtaken_by_a_password_change_starts_no_session() {
    let (svc, memory, hasher) = scripted(false).await;
    hasher.arm(Twist::ChangePasswordAfterVerify);

    let error = login(&svc, PASSWORD).await.unwrap_err();
    assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
    let jane = hasher.jane().await;
    let now = latchkey_domain::ports::Clock::now(&*memory.clock);
    let live =
        latchkey_domain::ports::SessionRepository::list_active(&*memory.store, &jane.user.id, now)
            .await
            .unwrap();
    assert!(live.is_empty(), "{live:?}");

    login(&svc, NEW_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_login_overtaken_by_another_logins_upgrade_of_the_hash_still_succeeds() {
    let (svc, _memory, hasher) = scripted(true).await;
    hasher.arm(Twist::UpgradeAfterVerify);
    login(&svc, PASSWORD).await.unwrap();
    // Once against the hash it read, once against the upgraded one that replaced it meanwhile.
    assert_eq!(hasher.verifies.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_login_upgrades_a_hash_made_with_other_parameters_once() {
    use latchkey_domain::ports::PasswordHasher;
    let (svc, _memory, hasher) = scripted(true).await;
    let legacy = hasher.jane().await.password_hash;
    assert!(hasher.needs_rehash(&legacy));

    login(&svc, PASSWORD).await.unwrap();
    let upgraded = hasher.jane().await.password_hash;
    assert_ne!(upgraded, legacy);
    assert!(!hasher.needs_rehash(&upgraded));
    assert_eq!(hasher.hashes.load(std::sync::atomic::Ordering::SeqCst), 1);

    // Current now: the next login hashes nothing, and the password still works.
    login(&svc, PASSWORD).await.unwrap();
    assert_eq!(hasher.hashes.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(hasher.jane().await.password_hash, upgraded);
}

#[tokio::test]
async fn a_failed_upgrade_does_not_fail_the_login() {
    let (svc, _memory, hasher) = scripted(true).await;
    let legacy = hasher.jane().await.password_hash;
    hasher.arm(Twist::FailHash);
    let outcome = login(&svc, PASSWORD).await.unwrap();
    assert!(!outcome.tokens.access_token.expose().is_empty());
    assert_eq!(hasher.jane().await.password_hash, legacy);
}

#[tokio::test]
async fn an_upgrade_never_overwrites_a_password_change_that_landed_since() {
    let (svc, _memory, hasher) = scripted(true).await;
    hasher.arm(Twist::ChangePasswordBeforeHash);
    // The login itself succeeded (its session is then revoked by the change, as any other session would be).
    login(&svc, PASSWORD).await.unwrap();
    assert!(matches!(
        login(&svc, PASSWORD).await,
        Err(LoginError::InvalidCredentials)
    ));
    login(&svc, NEW_PASSWORD).await.unwrap();
}
