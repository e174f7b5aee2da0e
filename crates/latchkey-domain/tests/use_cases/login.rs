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

/// A hasher whose first `verify` is overtaken by a password change: it lets the change land in the store between
/// the password check and the session insert, where a real race would put it.
struct OvertakenByPasswordChange {
    store: std::sync::Arc<latchkey_memory::MemoryStore>,
    changed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl latchkey_domain::ports::PasswordHasher for OvertakenByPasswordChange {
    async fn hash(
        &self,
        password: &latchkey_domain::Password,
    ) -> Result<latchkey_domain::PasswordHash, latchkey_domain::PortError> {
        latchkey_memory::FastTestHasher.hash(password).await
    }

    async fn verify(
        &self,
        password: &latchkey_domain::Password,
        hash: &latchkey_domain::PasswordHash,
    ) -> Result<bool, latchkey_domain::PortError> {
        use latchkey_domain::ports::{UserLookup, UserRepository};
        let verified = latchkey_memory::FastTestHasher
            .verify(password, hash)
            .await?;
        if !self.changed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let email = latchkey_domain::Email::parse("jane@example.com").unwrap();
            let jane = self
                .store
                .find_credentials(&UserLookup::Email(email))
                .await?
                .unwrap();
            let policy = latchkey_domain::PasswordPolicy::default();
            let new =
                latchkey_domain::Password::parse_new("a brand new passphrase".into(), &policy)
                    .unwrap();
            let new_hash = latchkey_memory::FastTestHasher.hash(&new).await?;
            let at = jane.user.created_at;
            self.store
                .update_password(&jane.user.id, &new_hash, None, at)
                .await?;
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
}

#[tokio::test]
async fn a_login_overtaken_by_a_password_change_starts_no_session() {
    let memory = latchkey_memory::MemoryPorts::new();
    let hasher = std::sync::Arc::new(OvertakenByPasswordChange {
        store: memory.store.clone(),
        changed: std::sync::atomic::AtomicBool::new(true),
    });
    let svc = memory
        .builder()
        .hasher(hasher.clone())
        .policies(latchkey_domain::Policies::default())
        .build()
        .unwrap();
    let registered = svc
        .register(
            crate::support::input("jane@example.com", PASSWORD, None),
            client(),
        )
        .await
        .unwrap();
    hasher
        .changed
        .store(false, std::sync::atomic::Ordering::SeqCst);

    let error = svc
        .login(credentials("jane@example.com", PASSWORD), client())
        .await
        .unwrap_err();
    assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
    let now = latchkey_domain::ports::Clock::now(&*memory.clock);
    let live = latchkey_domain::ports::SessionRepository::list_active(
        &*memory.store,
        &registered.user.id,
        now,
    )
    .await
    .unwrap();
    assert!(live.is_empty(), "{live:?}");

    // The new password works.
    svc.login(
        credentials("jane@example.com", "a brand new passphrase"),
        client(),
    )
    .await
    .unwrap();
}
