//! Revocation (RFC 7009) and introspection (RFC 7662) of the credentials the service issues.

use std::error::Error;

use chrono::TimeDelta;
use latchkey_domain::service::{
    ActiveToken, CreateCredentialInput, CreatedCredential, Introspection, LogoutScope, RefreshError,
};
use latchkey_domain::{
    Credential, CredentialKind, CredentialPolicy, IntrospectError, Policies, RevokeTokenError,
    Scope, Scopes, TokenPair,
};

use crate::support::{client, TestApp};

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
        .revoke_token(phone.refresh_token.expose(), &client())
        .await
        .unwrap();

    assert!(!live(&app, &phone).await);
    assert!(matches!(
        app.svc
            .refresh(phone.refresh_token.expose(), &client())
            .await,
        Err(RefreshError::InvalidRefreshToken)
    ));
    assert!(live(&app, &laptop).await);
}

#[tokio::test]
async fn revoking_a_spent_refresh_token_ends_the_session_its_successor_belongs_to() {
    let app = TestApp::new();
    let first = app.login_fresh("jane@example.com").await;
    let second = app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();

    app.svc
        .revoke_token(first.refresh_token.expose(), &client())
        .await
        .unwrap();

    assert!(!live(&app, &second).await);
    assert!(app
        .svc
        .refresh(second.refresh_token.expose(), &client())
        .await
        .is_err());
}

#[tokio::test]
async fn revoking_a_live_access_token_ends_its_session_and_an_expired_one_nothing() {
    let app = TestApp::new();
    let phone = app.login_fresh("jane@example.com").await;
    let laptop = app.login("jane@example.com").await.tokens;

    app.svc
        .revoke_token(phone.access_token.expose(), &client())
        .await
        .unwrap();
    assert!(!live(&app, &phone).await);
    assert!(app
        .svc
        .refresh(phone.refresh_token.expose(), &client())
        .await
        .is_err());
    assert!(live(&app, &laptop).await);

    // Past its expiry the access token ends nothing; the refresh token of the same pair still works.
    app.advance(TimeDelta::minutes(16));
    app.svc
        .revoke_token(laptop.access_token.expose(), &client())
        .await
        .unwrap();
    app.svc
        .refresh(laptop.refresh_token.expose(), &client())
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
        app.svc.revoke_token(token, &client()).await.unwrap();
    }
    assert!(live(&app, &current).await);
    // Revoking twice is no error either.
    for _ in 0..2 {
        app.svc
            .revoke_token(tokens.refresh_token.expose(), &client())
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

/// A personal token (expiring in 30 days, `profile:read`) or an API key (`credits:read`, no expiry) of a fresh
/// account.
async fn credential(app: &TestApp, kind: CredentialKind) -> CreatedCredential {
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    let input = match kind {
        CredentialKind::PersonalToken => CreateCredentialInput::new("ci")
            .expires_at(app.clock_now() + TimeDelta::days(30))
            .scopes(Scopes::empty().with(Scope::ProfileRead)),
        _ => CreateCredentialInput::new("billing").scopes(Scopes::empty().with(Scope::CreditsRead)),
    };
    app.svc
        .create_credential(&session, kind, input)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_personal_token_or_api_key_introspects_as_its_owner_with_its_scopes() {
    for kind in [CredentialKind::PersonalToken, CredentialKind::ApiKey] {
        let app = TestApp::new();
        let created = credential(&app, kind).await;
        let Introspection::Active(active) =
            app.svc.introspect(created.secret.expose()).await.unwrap()
        else {
            panic!("a live {kind} is active");
        };
        assert_eq!(active.principal.user_id, created.credential.user_id);
        assert_eq!(active.principal.scopes(), created.credential.scopes);
        assert_eq!(active.issued_at, created.credential.created_at);
        assert_eq!(active.expires_at, created.credential.expires_at);
        match (kind, &active.principal.credential) {
            (CredentialKind::PersonalToken, Credential::PersonalToken { .. })
            | (CredentialKind::ApiKey, Credential::ApiKey { .. }) => {}
            (kind, other) => panic!("{kind} introspected as {other:?}"),
        }
    }
}

#[tokio::test]
async fn revoking_a_personal_token_or_api_key_by_its_secret_ends_it_at_once() {
    for kind in [CredentialKind::PersonalToken, CredentialKind::ApiKey] {
        let app = TestApp::new();
        let created = credential(&app, kind).await;
        let secret = created.secret.expose();
        app.svc.revoke_token(secret, &client()).await.unwrap();
        assert!(inactive(&app, secret).await, "{kind}");
        assert!(app.svc.authenticate_api_key(secret).await.is_err());
        assert!(app.svc.authenticate(secret).await.is_err());
        // Again, or mistyped: the same success, nothing else.
        app.svc.revoke_token(secret, &client()).await.unwrap();
        app.svc
            .revoke_token(&format!("{}x", &secret[..secret.len() - 1]), &client())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_expired_personal_token_is_inactive_and_can_still_be_revoked() {
    let app = TestApp::new();
    let created = credential(&app, CredentialKind::PersonalToken).await;
    app.advance(TimeDelta::days(31));
    assert!(inactive(&app, created.secret.expose()).await);
    app.svc
        .revoke_token(created.secret.expose(), &client())
        .await
        .unwrap();
    let tokens = app.login("jane@example.com").await.tokens;
    let session = app.session(&tokens).await;
    let listed = app
        .svc
        .list_credentials(&session, CredentialKind::PersonalToken)
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn api_keys_are_told_by_the_configured_prefix() {
    let mut policies = Policies::default();
    policies.credentials = CredentialPolicy::default()
        .with_api_key_prefix("sk_test_")
        .unwrap();
    let app = TestApp::with_policies(policies);
    let created = credential(&app, CredentialKind::ApiKey).await;
    assert!(created.secret.expose().starts_with("sk_test_"));
    assert!(!inactive(&app, created.secret.expose()).await);
    app.svc
        .revoke_token(created.secret.expose(), &client())
        .await
        .unwrap();
    assert!(inactive(&app, created.secret.expose()).await);
}
