//! Use cases a personal token or API key may reach check its scopes themselves, so an embedder calling them
//! directly cannot skip the check. (Only sessions can be issued today, so the tests build the credentials.)

use latchkey_domain::{
    AccessError, ApiKeyId, AuthError, Credential, PersonalTokenId, Principal, Scope, Scopes, UserId,
};

use crate::support::TestApp;

fn token(user_id: &UserId, scopes: &str) -> Principal {
    Principal::new(
        user_id.clone(),
        Credential::PersonalToken {
            id: PersonalTokenId::from_random("t1"),
            scopes: Scopes::parse(scopes).unwrap(),
        },
    )
}

fn key(user_id: &UserId, scopes: &str) -> Principal {
    Principal::new(
        user_id.clone(),
        Credential::ApiKey {
            id: ApiKeyId::from_random("k1"),
            scopes: Scopes::parse(scopes).unwrap(),
        },
    )
}

fn lacks(result: Result<impl std::fmt::Debug, AuthError>, scope: Scope) {
    match result {
        Err(AuthError::Forbidden(AccessError::InsufficientScope { required })) => {
            assert_eq!(required, scope)
        }
        other => panic!("expected a missing {scope}, got {other:?}"),
    }
}

#[tokio::test]
async fn current_user_needs_profile_read() {
    let app = TestApp::new();
    let user = app.register("jane@example.com", None).await.user;

    assert_eq!(
        app.svc
            .current_user(&token(&user.id, "profile:read"))
            .await
            .unwrap(),
        user
    );
    lacks(
        app.svc.current_user(&key(&user.id, "credits:read")).await,
        Scope::ProfileRead,
    );
}

#[tokio::test]
async fn credits_need_credits_read() {
    let app = TestApp::new();
    let user = app.register("jane@example.com", None).await.user;

    let view = app
        .svc
        .credits(&key(&user.id, "credits:read"))
        .await
        .unwrap();
    assert_eq!(view.credits, 1000);
    lacks(
        app.svc
            .credits(&token(&user.id, "profile:read credits:charge"))
            .await,
        Scope::CreditsRead,
    );
}

#[tokio::test]
async fn an_access_token_authenticates_as_its_session_with_every_scope() {
    let app = TestApp::new();
    let tokens = app.register("jane@example.com", None).await.tokens.unwrap();
    let principal = app.principal(&tokens).await;
    assert!(matches!(principal.credential, Credential::Session { .. }));
    assert_eq!(principal.scopes(), Scopes::all());
}
