use latchkey_domain::service::{AuthError, LogoutScope, RefreshError, RevokeSessionError};
use latchkey_domain::SessionId;

use crate::support::{client, TestApp};

async fn refused(app: &TestApp, access_token: &str) -> bool {
    matches!(
        app.svc.authenticate(access_token).await,
        Err(AuthError::InvalidToken)
    )
}

#[tokio::test]
async fn logout_ends_only_the_calling_session() {
    let app = TestApp::new();
    let phone = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let laptop = app.login("jane@example.com").await.tokens;
    let principal = app.session(&phone).await;

    app.svc
        .logout(&principal, LogoutScope::ThisSession)
        .await
        .unwrap();

    assert!(refused(&app, phone.access_token.expose()).await);
    assert!(matches!(
        app.svc
            .refresh(phone.refresh_token.expose(), &client())
            .await,
        Err(RefreshError::InvalidRefreshToken)
    ));
    app.session(&laptop).await;
    app.svc
        .refresh(laptop.refresh_token.expose(), &client())
        .await
        .unwrap();

    // Logging out twice is not an error.
    app.svc
        .logout(&principal, LogoutScope::ThisSession)
        .await
        .unwrap();
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user_only() {
    let app = TestApp::new();
    let phone = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let laptop = app.login("jane@example.com").await.tokens;
    let someone_else = app
        .register("joe@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let principal = app.session(&phone).await;

    app.svc
        .logout(&principal, LogoutScope::AllSessions)
        .await
        .unwrap();

    assert!(refused(&app, phone.access_token.expose()).await);
    assert!(refused(&app, laptop.access_token.expose()).await);
    assert!(app
        .svc
        .refresh(laptop.refresh_token.expose(), &client())
        .await
        .is_err());
    app.session(&someone_else).await;
}

#[tokio::test]
async fn revoked_session_access_token_is_refused_at_once() {
    let app = TestApp::new();
    let phone = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let laptop = app.login("jane@example.com").await.tokens;
    let phone_session = app.session(&phone).await.session_id().clone();
    let laptop_principal = app.session(&laptop).await;

    app.svc
        .revoke_session(&laptop_principal, &phone_session)
        .await
        .unwrap();

    // No clock movement: the access token is still well within its lifetime.
    assert!(refused(&app, phone.access_token.expose()).await);
    app.session(&laptop).await;
    // Revoking it again finds nothing to revoke.
    assert!(matches!(
        app.svc
            .revoke_session(&laptop_principal, &phone_session)
            .await,
        Err(RevokeSessionError::NotFound)
    ));
}

#[tokio::test]
async fn list_sessions_marks_the_current_one_newest_first() {
    let app = TestApp::new();
    let first = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    app.advance(chrono::TimeDelta::seconds(5));
    let second = app.login("jane@example.com").await.tokens;
    app.advance(chrono::TimeDelta::seconds(5));
    let third = app.login("jane@example.com").await.tokens;
    app.register("joe@example.com", None).await;

    let caller = app.session(&second).await;
    let sessions = app.svc.list_sessions(&caller).await.unwrap();
    let ids: Vec<_> = sessions.iter().map(|s| s.id.clone()).collect();
    assert_eq!(
        ids,
        [
            app.session(&third).await.session_id().clone(),
            caller.session_id().clone(),
            app.session(&first).await.session_id().clone(),
        ]
    );
    let current: Vec<_> = sessions.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(&current[0].id, caller.session_id());
    assert_eq!(current[0].client.user_agent.as_deref(), Some("tests/1.0"));
    assert_eq!(current[0].client.ip.as_deref(), Some("192.0.2.7"));

    // A revoked session leaves the list.
    let first_session = app.session(&first).await.session_id().clone();
    app.svc
        .revoke_session(&caller, &first_session)
        .await
        .unwrap();
    assert_eq!(app.svc.list_sessions(&caller).await.unwrap().len(), 2);
}

#[tokio::test]
async fn another_users_session_cannot_be_revoked() {
    let app = TestApp::new();
    let jane = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let joe = app
        .register("joe@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let jane_principal = app.session(&jane).await;
    let joe_session = app.session(&joe).await.session_id().clone();

    assert!(matches!(
        app.svc.revoke_session(&jane_principal, &joe_session).await,
        Err(RevokeSessionError::NotFound)
    ));
    app.session(&joe).await;

    let unknown = SessionId::parse("ses_doesnotexist").unwrap();
    assert!(matches!(
        app.svc.revoke_session(&jane_principal, &unknown).await,
        Err(RevokeSessionError::NotFound)
    ));
}

#[tokio::test]
async fn a_login_beyond_the_session_cap_ends_the_oldest_session() {
    let mut policies = latchkey_domain::Policies::default();
    policies.tokens = policies.tokens.with_max_sessions_per_user(2).unwrap();
    let app = crate::support::TestApp::with_policies(policies);
    let first = app.login_fresh("jane@example.com").await;
    app.advance(chrono::TimeDelta::seconds(1));
    let second = app.login("jane@example.com").await.tokens;
    app.advance(chrono::TimeDelta::seconds(1));
    let third = app.login("jane@example.com").await.tokens;

    // Registration started a session too: of the four, the two newest are live.
    assert!(app
        .svc
        .authenticate(first.access_token.expose())
        .await
        .is_err());
    assert!(app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .is_err());
    app.principal(&second).await;
    app.principal(&third).await;

    // Each ended session is in the owner's log, so a device logged out by the cap shows why.
    let jane = app.session(&third).await;
    let page = app.svc.own_events(&jane, 100, None).await.unwrap();
    let live = [
        app.session(&second).await.session_id().as_str().to_owned(),
        jane.session_id().as_str().to_owned(),
    ];
    let ended: Vec<_> = page
        .events
        .iter()
        .filter(|event| event.kind == latchkey_domain::EventKind::SessionRevoked)
        .map(|event| event.subject.clone())
        .collect();
    assert_eq!(
        ended.len(),
        2,
        "the registration's session and the first login's"
    );
    assert_ne!(ended[0], ended[1]);
    assert!(ended
        .iter()
        .all(|subject| subject.as_ref().is_some_and(|id| !live.contains(id))));
}

#[tokio::test]
async fn the_purge_clears_ended_sessions_and_expired_challenges_only() {
    let app = crate::support::TestApp::new();
    let kept = app.login_fresh("jane@example.com").await;
    let ended = app.login("jane@example.com").await.tokens;
    let principal = app.session(&ended).await;
    app.svc
        .revoke_session(&principal, principal.session_id())
        .await
        .unwrap();

    // Nothing has expired yet: no session or challenge goes (rate-limit rows given back by the logins may).
    let purged = app.svc.purge_spent().await.unwrap();
    assert_eq!((purged.sessions, purged.challenges), (0, 0));

    // 30 days on, the first refresh tokens have expired: the sessions of the registration and of both logins
    // go (the kept one too, as nobody refreshed it), as does the verification challenge of the registration.
    app.advance(chrono::TimeDelta::days(30));
    let purged = app.svc.purge_spent().await.unwrap();
    assert_eq!(purged.sessions, 3);
    assert_eq!(purged.challenges, 1);
    assert!(app
        .svc
        .refresh(kept.refresh_token.expose(), &client())
        .await
        .is_err());
    assert_eq!(
        app.svc.purge_spent().await.unwrap(),
        latchkey_domain::service::Purged::default()
    );
}
