use latchkey_domain::service::{AuthError, ChangePasswordError, LoginError};
use latchkey_domain::{CreditsPolicy, PasswordError, Policies, Pricing};

use crate::support::{change, client, credentials, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn current_user_is_the_account_of_the_token() {
    let app = TestApp::new();
    let registered = app.register("jane@example.com", Some("jane")).await;
    let principal = app.principal(registered.tokens.as_ref().unwrap()).await;
    let user = app.svc.current_user(&principal).await.unwrap();
    assert_eq!(user, registered.user);
}

#[tokio::test]
async fn credits_view_shows_balance_and_pricing_from_the_policy() {
    let pricing = Pricing::from([("page".to_owned(), 3), ("minute_audio".to_owned(), 7)]);
    let mut policies = Policies::default();
    policies.credits = CreditsPolicy::default()
        .with_welcome_credits(42)
        .and_then(|p| p.with_pricing(pricing.clone()))
        .unwrap();
    let app = TestApp::with_policies(policies);
    let tokens = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let view = app
        .svc
        .credits(&app.principal(&tokens).await)
        .await
        .unwrap();
    assert_eq!(view.credits, 42);
    assert_eq!(view.pricing, pricing);
}

#[tokio::test]
async fn default_credits_view() {
    let app = TestApp::new();
    let tokens = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let view = app
        .svc
        .credits(&app.principal(&tokens).await)
        .await
        .unwrap();
    assert_eq!(view.credits, 1000);
    assert_eq!(
        view.pricing,
        Pricing::from([("photo".to_owned(), 100), ("second_video".to_owned(), 10)])
    );
}

#[tokio::test]
async fn wrong_current_password_is_refused() {
    let app = TestApp::new();
    let tokens = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let principal = app.session(&tokens).await;
    let error = app
        .svc
        .change_password(&principal, change("not my password", NEW_PASSWORD))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ChangePasswordError::InvalidCurrentPassword),
        "{error:?}"
    );
    // Nothing changed.
    app.login("jane@example.com").await;
}

#[tokio::test]
async fn invalid_new_password_is_refused_before_any_hashing() {
    let app = TestApp::new();
    let tokens = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let principal = app.session(&tokens).await;
    let (hashes, verifies) = (app.hasher.hashes(), app.hasher.verifies());

    for bad in ["short".to_owned(), "a".repeat(257)] {
        let error = app
            .svc
            .change_password(&principal, change(PASSWORD, bad))
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                ChangePasswordError::InvalidNewPassword(
                    PasswordError::TooShort { min: 8 } | PasswordError::TooLong { max: 256 }
                )
            ),
            "{error:?}"
        );
    }
    assert_eq!(app.hasher.hashes(), hashes);
    assert_eq!(app.hasher.verifies(), verifies);
    app.login("jane@example.com").await;
}

#[tokio::test]
async fn a_new_password_that_is_common_or_names_the_account_is_refused() {
    let app = TestApp::new();
    let tokens = app
        .register("jane@example.com", Some("janedoe42"))
        .await
        .tokens
        .expect("registration starts a session");
    let principal = app.session(&tokens).await;
    let hashes = app.hasher.hashes();
    for (bad, expected) in [
        ("iloveyou", PasswordError::Common),
        ("JaneDoe42", PasswordError::MatchesAccount),
        ("Jane@Example.com", PasswordError::MatchesAccount),
    ] {
        let error = app
            .svc
            .change_password(&principal, change(PASSWORD, bad))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ChangePasswordError::InvalidNewPassword(e) if *e == expected),
            "{bad}: {error:?}"
        );
    }
    assert_eq!(app.hasher.hashes(), hashes, "nothing hashed");
    app.login("jane@example.com").await;
}

#[tokio::test]
async fn change_password_keeps_the_callers_session_and_revokes_the_others() {
    let app = TestApp::new();
    let caller = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let other = app.login("jane@example.com").await.tokens;
    let bystander = app
        .register("joe@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let principal = app.session(&caller).await;

    app.svc
        .change_password(&principal, change(PASSWORD, NEW_PASSWORD))
        .await
        .unwrap();

    // The caller carries on.
    assert_eq!(app.session(&caller).await, principal);
    app.svc
        .refresh(caller.refresh_token.expose(), &client())
        .await
        .unwrap();
    // Every other session of the user is gone; other users are untouched.
    assert!(matches!(
        app.svc.authenticate(other.access_token.expose()).await,
        Err(AuthError::InvalidToken)
    ));
    assert!(app
        .svc
        .refresh(other.refresh_token.expose(), &client())
        .await
        .is_err());
    app.principal(&bystander).await;

    // Only the new password logs in.
    let error = app
        .svc
        .login(credentials("jane@example.com", PASSWORD), client())
        .await
        .unwrap_err();
    assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
    app.svc
        .login(credentials("jane@example.com", NEW_PASSWORD), client())
        .await
        .unwrap();
}
