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
