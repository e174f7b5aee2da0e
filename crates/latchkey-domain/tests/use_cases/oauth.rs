//! Revocation (RFC 7009) and introspection (RFC 7662) of the credentials the service issues.

use std::error::Error;

use chrono::TimeDelta;
use latchkey_domain::service::{ActiveToken, Introspection, LogoutScope, RefreshError};
use latchkey_domain::{Credential, IntrospectError, RevokeTokenError, Scopes, TokenPair};

use crate::support::TestApp;

async fn live(app: &TestApp, tokens: &TokenPair) -> bool {
    app.svc
        .authenticate(tokens.access_token.expose())
        .await
        .is_ok()
}

async fn inactive(app: &TestApp, token: &str) -> bool {
    app.svc.introspect(token).await.unwrap() == Introspection::Inactive
}

#[test]
fn the_errors_are_at_the_crate_root_and_are_std_errors() {
    fn is_error<E: Error + Send + Sync + 'static>() {}
    is_error::<RevokeTokenError>();
    is_error::<IntrospectError>();
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session_and_only_that_one() {
    let app = TestApp::new();
    let phone = app.login_fresh("jane@example.com").await;
    let laptop = app.login("jane@example.com").await.tokens;

    app.svc
        .revoke_token(phone.refresh_token.expose())
        .await
        .unwrap();

    assert!(!live(&app, &phone).await);
    assert!(matches!(
        app.svc.refresh(phone.refresh_token.expose()).await,
        Err(RefreshError::InvalidRefreshToken)
    ));
    assert!(live(&app, &laptop).await);
}

#[tokio::test]
async fn revoking_a_spent_refresh_token_ends_the_session_its_successor_belongs_to() {
    let app = TestApp::new();
    let first = app.login_fresh("jane@example.com").await;
    let second = app.svc.refresh(first.refresh_token.expose()).await.unwrap();

    app.svc
        .revoke_token(first.refresh_token.expose())
        .await
        .unwrap();

    assert!(!live(&app, &second).await);
    assert!(app
        .svc
        .refresh(second.refresh_token.expose())
        .await
        .is_err());
}

#[tokio::test]
async fn revoking_a_live_access_token_ends_its_session_and_an_expired_one_nothing() {
    let app = TestApp::new();
    let phone = app.login_fresh("jane@example.com").await;
    let laptop = app.login("jane@example.com").await.tokens;

    app.svc
        .revoke_token(phone.access_token.expose())
        .await
        .unwrap();
    assert!(!live(&app, &phone).await);
    assert!(app.svc.refresh(phone.refresh_token.expose()).await.is_err());
    assert!(live(&app, &laptop).await);

    // Past its expiry the access token ends nothing; the refresh token of the same pair still works.
    app.advance(TimeDelta::minutes(16));
    app.svc
        .revoke_token(laptop.access_token.expose())
        .await
        .unwrap();
    app.svc
        .refresh(laptop.refresh_token.expose())
        .await
        .unwrap();
}

#[tokio::test]
async fn revoking_what_is_no_live_credential_succeeds_and_changes_nothing() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let expired = app.login("jane@example.com").await.tokens;
    app.advance(TimeDelta::days(31));
    let current = app.login("jane@example.com").await.tokens;
    for token in [
        "",
        "garbage",
        "lkr_unknown",
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        expired.refresh_token.expose(),
    ] {
        app.svc.revoke_token(token).await.unwrap();
    }
    assert!(live(&app, &current).await);
    // Revoking twice is no error either.
    for _ in 0..2 {
        app.svc
            .revoke_token(tokens.refresh_token.expose())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_live_access_token_introspects_as_its_user_session_and_lifetime() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let principal = app.principal(&tokens).await;

    let Introspection::Active(ActiveToken {
        principal: introspected,
        issued_at,
        expires_at,
        ..
    }) = app
        .svc
        .introspect(tokens.access_token.expose())
        .await
        .unwrap()
    else {
        panic!("a live access token is active");
    };
    assert_eq!(introspected, principal);
    assert!(matches!(
        introspected.credential,
        Credential::Session { .. }
    ));
    assert_eq!(introspected.scopes(), Scopes::all());
    let now = app.clock_now();
    assert_eq!(issued_at, now);
    assert_eq!(expires_at, Some(now + TimeDelta::minutes(15)));
}

#[tokio::test]
async fn introspection_reflects_logout_and_expiry_at_once() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let other = app.login("jane@example.com").await.tokens;
    let session = app.session(&tokens).await;
    app.svc
        .logout(&session, LogoutScope::ThisSession)
        .await
        .unwrap();
    assert!(inactive(&app, tokens.access_token.expose()).await);
    assert!(!inactive(&app, other.access_token.expose()).await);

    app.advance(TimeDelta::minutes(15));
    assert!(inactive(&app, other.access_token.expose()).await);
}

#[tokio::test]
async fn refresh_tokens_and_garbage_introspect_as_inactive() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    for token in [
        tokens.refresh_token.expose(),
        "",
        "garbage",
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        assert!(inactive(&app, token).await, "{token}");
    }
}
