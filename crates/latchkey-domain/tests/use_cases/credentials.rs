use chrono::TimeDelta;
use latchkey_domain::ports::Clock;
use latchkey_domain::service::{
    default_scopes, AuthError, CreateCredentialInput, CredentialError, LogoutScope,
    LAST_USED_PRECISION,
};
use latchkey_domain::{
    AccessError, Credential, CredentialKind, CredentialPolicy, Policies, Scope, Scopes,
    SessionPrincipal,
};

use crate::support::{change, TestApp, PASSWORD};

const PAT: CredentialKind = CredentialKind::PersonalToken;
const KEY: CredentialKind = CredentialKind::ApiKey;

/// An app with one account, and its session principal.
async fn signed_in() -> (TestApp, SessionPrincipal) {
    let app = TestApp::new();
    let tokens = app.register("jane@example.com", None).await.tokens.unwrap();
    let session = app.session(&tokens).await;
    (app, session)
}

fn in_days(app: &TestApp, days: i64) -> chrono::DateTime<chrono::Utc> {
    app.clock.now() + TimeDelta::days(days)
}

#[tokio::test]
async fn a_personal_token_authenticates_as_itself_with_its_scopes() {
    let (app, session) = signed_in().await;
    let created = app
        .svc
        .create_credential(
            &session,
            PAT,
            CreateCredentialInput::new("ci").expires_at(in_days(&app, 30)),
        )
        .await
        .unwrap();
    let secret = created.secret.expose();
    assert!(secret.starts_with("lk_pat_"));
    assert!(
        created.credential.hint.starts_with("lk_pat_")
            && secret.starts_with(&created.credential.hint)
    );
    assert_eq!(
        created.credential.hint.len(),
        "lk_pat_".len() + 6,
        "the hint is the prefix and a few characters"
    );
    assert_eq!(created.credential.scopes, default_scopes());

    let principal = app.svc.authenticate(secret).await.unwrap();
    assert_eq!(principal.user_id, session.user_id().clone());
    assert!(matches!(
        &principal.credential,
        Credential::PersonalToken { scopes, .. } if *scopes == default_scopes()
    ));
    assert_eq!(
        principal.clone().into_session().unwrap_err(),
        AccessError::SessionRequired
    );
    assert!(app.svc.current_user(&principal).await.is_ok());
    assert!(app.svc.credits(&principal).await.is_ok());
    let (_, user) = app.svc.authenticate_user(secret).await.unwrap();
    assert_eq!(user.id, session.user_id().clone());
}

#[tokio::test]
async fn an_api_key_authenticates_only_as_an_api_key() {
    let (app, session) = signed_in().await;
    let scopes = Scopes::empty()
        .with(Scope::CreditsRead)
        .with(Scope::CreditsCharge);
    let key = app
        .svc
        .create_credential(
            &session,
            KEY,
            CreateCredentialInput::new("billing").scopes(scopes),
        )
        .await
        .unwrap();
    assert!(key.secret.expose().starts_with("sk_live_"));
    assert_eq!(
        key.credential.expires_at, None,
        "an API key may live until revoked"
    );
    let (principal, _) = app
        .svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
    assert!(matches!(&principal.credential, Credential::ApiKey { scopes: s, .. } if *s == scopes));
    assert!(matches!(
        app.svc.current_user(&principal).await,
        Err(AuthError::Forbidden(AccessError::InsufficientScope {
            required: Scope::ProfileRead
        }))
    ));
    // Presented as a bearer token it is not a JWT, and a key is never a personal token.
    assert!(matches!(
        app.svc.authenticate(key.secret.expose()).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn the_configured_api_key_prefix_is_used_and_required() {
    let mut policies = Policies::default();
    policies.credentials = CredentialPolicy::default()
        .with_api_key_prefix("sk_test_")
        .unwrap();
    let app = TestApp::with_policies(policies);
    let tokens = app.register("jane@example.com", None).await.tokens.unwrap();
    let session = app.session(&tokens).await;
    let key = app
        .svc
        .create_credential(&session, KEY, CreateCredentialInput::new("staging"))
        .await
        .unwrap();
    assert!(key.secret.expose().starts_with("sk_test_"));
    app.svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
}

#[tokio::test]
async fn mistyped_truncated_unknown_and_revoked_secrets_are_refused_alike() {
    let (app, session) = signed_in().await;
    let key = app
        .svc
        .create_credential(&session, KEY, CreateCredentialInput::new("k"))
        .await
        .unwrap();
    let secret = key.secret.expose().to_owned();
    let truncated = &secret[..secret.len() - 1];
    let mut mistyped = secret.clone();
    mistyped.replace_range(9..10, if &secret[9..10] == "A" { "B" } else { "A" });
    for bad in [truncated, mistyped.as_str(), "sk_live_", "garbage", ""] {
        assert!(
            matches!(
                app.svc.authenticate_api_key(bad).await,
                Err(AuthError::InvalidToken)
            ),
            "{bad}"
        );
    }
    app.svc
        .revoke_credential(&session, &key.credential.id)
        .await
        .unwrap();
    assert!(matches!(
        app.svc.authenticate_api_key(&secret).await,
        Err(AuthError::InvalidToken)
    ));
}

#[tokio::test]
async fn an_expired_personal_token_says_so() {
    let (app, session) = signed_in().await;
    let token = app
        .svc
        .create_credential(
            &session,
            PAT,
            CreateCredentialInput::new("short").expires_at(in_days(&app, 1)),
        )
        .await
        .unwrap();
    app.advance(TimeDelta::days(1));
    assert!(matches!(
        app.svc.authenticate(token.secret.expose()).await,
        Err(AuthError::TokenExpired)
    ));
}

#[tokio::test]
async fn creation_enforces_the_name_expiry_scope_and_limit_rules() {
    let (app, session) = signed_in().await;
    let create = |kind, input| app.svc.create_credential(&session, kind, input);
    assert!(matches!(
        create(PAT, CreateCredentialInput::new("no expiry")).await,
        Err(CredentialError::ExpiryRequired)
    ));
    assert!(matches!(
        create(
            PAT,
            CreateCredentialInput::new("past").expires_at(app.clock.now())
        )
        .await,
        Err(CredentialError::ExpiryInPast)
    ));
    assert!(matches!(
        create(
            KEY,
            CreateCredentialInput::new("past").expires_at(in_days(&app, -1))
        )
        .await,
        Err(CredentialError::ExpiryInPast)
    ));
    assert!(matches!(
        create(
            PAT,
            CreateCredentialInput::new("far").expires_at(in_days(&app, 366))
        )
        .await,
        Err(CredentialError::ExpiryTooFar { .. })
    ));
    create(
        PAT,
        CreateCredentialInput::new("a year").expires_at(in_days(&app, 365)),
    )
    .await
    .unwrap();
    for name in ["", "   ", &"x".repeat(101)] {
        assert!(matches!(
            create(KEY, CreateCredentialInput::new(name)).await,
            Err(CredentialError::InvalidName(_))
        ));
    }
    assert!(matches!(
        create(
            KEY,
            CreateCredentialInput::new("none").scopes(Scopes::empty())
        )
        .await,
        Err(CredentialError::NoScopes)
    ));

    let mut policies = Policies::default();
    policies.credentials = CredentialPolicy::default().with_max_per_user(2).unwrap();
    let app = TestApp::with_policies(policies);
    let tokens = app.register("bob@example.com", None).await.tokens.unwrap();
    let session = app.session(&tokens).await;
    for name in ["one", "two"] {
        app.svc
            .create_credential(&session, KEY, CreateCredentialInput::new(name))
            .await
            .unwrap();
    }
    assert!(matches!(
        app.svc
            .create_credential(&session, KEY, CreateCredentialInput::new("three"))
            .await,
        Err(CredentialError::LimitReached { max: 2 })
    ));
    // The limit is per kind.
    app.svc
        .create_credential(
            &session,
            PAT,
            CreateCredentialInput::new("token").expires_at(in_days(&app, 1)),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn rotation_keeps_the_credential_and_refuses_the_old_secret_at_once() {
    let (app, session) = signed_in().await;
    let token = app
        .svc
        .create_credential(
            &session,
            PAT,
            CreateCredentialInput::new("ci").expires_at(in_days(&app, 30)),
        )
        .await
        .unwrap();
    let rotated = app
        .svc
        .rotate_credential(&session, &token.credential.id)
        .await
        .unwrap();
    assert_ne!(rotated.secret, token.secret);
    assert_eq!(rotated.credential.id, token.credential.id);
    assert_eq!(rotated.credential.expires_at, token.credential.expires_at);
    assert!(matches!(
        app.svc.authenticate(token.secret.expose()).await,
        Err(AuthError::InvalidToken)
    ));
    app.svc.authenticate(rotated.secret.expose()).await.unwrap();

    let other = app.register("bob@example.com", None).await.tokens.unwrap();
    let bob = app.session(&other).await;
    assert!(matches!(
        app.svc.rotate_credential(&bob, &token.credential.id).await,
        Err(CredentialError::NotFound)
    ));
    assert!(matches!(
        app.svc.revoke_credential(&bob, &token.credential.id).await,
        Err(CredentialError::NotFound)
    ));
}

/// The owner changes the password to shut out a session someone else holds (a password change ends every other
/// session but keeps tokens and keys): a rotation that session asked for, authenticated before the change, must not
/// hand it a fresh secret of the owner's key.
#[tokio::test]
async fn a_session_ended_after_its_request_was_authenticated_rotates_nothing() {
    let (app, owner) = signed_in().await;
    let key = app
        .svc
        .create_credential(
            &owner,
            CredentialKind::ApiKey,
            CreateCredentialInput::new("ci"),
        )
        .await
        .unwrap();
    let intruder = app
        .session(&app.login("jane@example.com").await.tokens)
        .await;
    app.svc
        .change_password(&owner, change(PASSWORD, "a brand new password"))
        .await
        .unwrap();
    let rotated = app
        .svc
        .rotate_credential(&intruder, &key.credential.id)
        .await;
    assert!(
        matches!(rotated, Err(CredentialError::SessionEnded)),
        "{rotated:?}"
    );
    app.svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
}

#[tokio::test]
async fn last_use_is_recorded_once_a_minute() {
    let (app, session) = signed_in().await;
    let key = app
        .svc
        .create_credential(&session, KEY, CreateCredentialInput::new("k"))
        .await
        .unwrap();
    let last_used =
        || async { app.svc.list_credentials(&session, KEY).await.unwrap()[0].last_used_at };
    assert_eq!(last_used().await, None);
    let first = app.clock.now();
    app.svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
    assert_eq!(last_used().await, Some(first));
    app.advance(TimeDelta::seconds(30));
    app.svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
    assert_eq!(
        last_used().await,
        Some(first),
        "within the precision: no new record"
    );
    app.advance(LAST_USED_PRECISION);
    app.svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
    assert_eq!(last_used().await, Some(app.clock.now()));
}

#[tokio::test]
async fn logout_and_password_change_leave_personal_tokens_and_keys_alive() {
    let (app, session) = signed_in().await;
    let key = app
        .svc
        .create_credential(&session, KEY, CreateCredentialInput::new("k"))
        .await
        .unwrap();
    app.svc
        .change_password(&session, change(PASSWORD, "another good password"))
        .await
        .unwrap();
    app.svc
        .logout(&session, LogoutScope::AllSessions)
        .await
        .unwrap();
    app.svc
        .authenticate_api_key(key.secret.expose())
        .await
        .unwrap();
}
