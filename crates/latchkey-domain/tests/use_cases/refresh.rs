use chrono::TimeDelta;
use latchkey_domain::service::{AuthError, RefreshError};
use latchkey_domain::TokenPair;

use crate::support::{client, TestApp};

fn assert_invalid_refresh(result: Result<TokenPair, RefreshError>) {
    match result {
        Err(RefreshError::InvalidRefreshToken) => {}
        other => panic!("expected InvalidRefreshToken, got {other:?}"),
    }
}

fn assert_invalid_token<T: std::fmt::Debug>(result: Result<T, AuthError>) {
    match result {
        Err(AuthError::InvalidToken) => {}
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

#[tokio::test]
async fn refresh_rotates_to_a_new_pair_of_the_same_session() {
    let app = TestApp::new();
    let first = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let session = app.principal(&first).await;
    app.advance(TimeDelta::minutes(1));

    let second = app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_ne!(second.refresh_token.expose(), first.refresh_token.expose());
    assert_ne!(second.access_token.expose(), first.access_token.expose());
    assert_eq!(app.principal(&second).await, session);
    assert_eq!(second.access_expires_in, 15 * 60);
    assert_eq!(second.refresh_expires_in, 30 * 24 * 60 * 60);

    // The new refresh token rotates in turn.
    app.advance(TimeDelta::minutes(1));
    let third = app
        .svc
        .refresh(second.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(app.principal(&third).await, session);
}

#[tokio::test]
async fn retry_within_the_grace_returns_the_identical_pair() {
    let app = TestApp::new();
    let first = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let rotated = app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();

    app.advance(TimeDelta::seconds(9));
    let retried = app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(retried.access_token.expose(), rotated.access_token.expose());
    assert_eq!(
        retried.refresh_token.expose(),
        rotated.refresh_token.expose()
    );
    // The session survived the retry.
    app.principal(&rotated).await;
    app.svc
        .refresh(rotated.refresh_token.expose(), &client())
        .await
        .unwrap();
}

#[tokio::test]
async fn replay_after_the_grace_revokes_the_session() {
    let app = TestApp::new();
    let registered = app.register("jane@example.com", None).await;
    let other_session = app.login("jane@example.com").await.tokens;
    let first = registered.tokens.unwrap();
    let rotated = app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();

    app.advance(TimeDelta::seconds(11));
    assert_invalid_refresh(
        app.svc
            .refresh(first.refresh_token.expose(), &client())
            .await,
    );

    // The successor and every access token of the session are refused from now on.
    assert_invalid_refresh(
        app.svc
            .refresh(rotated.refresh_token.expose(), &client())
            .await,
    );
    assert_invalid_token(app.svc.authenticate(rotated.access_token.expose()).await);
    assert_invalid_token(app.svc.authenticate(first.access_token.expose()).await);
    // The user's other session is untouched.
    app.principal(&other_session).await;
    app.svc
        .refresh(other_session.refresh_token.expose(), &client())
        .await
        .unwrap();
}

#[tokio::test]
async fn replay_after_the_successor_was_used_is_theft_even_within_the_grace() {
    let app = TestApp::new();
    let first = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    let second = app
        .svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    let third = app
        .svc
        .refresh(second.refresh_token.expose(), &client())
        .await
        .unwrap();

    assert_invalid_refresh(
        app.svc
            .refresh(first.refresh_token.expose(), &client())
            .await,
    );
    assert_invalid_refresh(
        app.svc
            .refresh(third.refresh_token.expose(), &client())
            .await,
    );
    assert_invalid_token(app.svc.authenticate(third.access_token.expose()).await);
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_refused() {
    let app = TestApp::new();
    let first = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    assert_invalid_refresh(app.svc.refresh("lkr_not-a-token", &client()).await);
    assert_invalid_refresh(app.svc.refresh("", &client()).await);

    app.advance(TimeDelta::days(30));
    assert_invalid_refresh(
        app.svc
            .refresh(first.refresh_token.expose(), &client())
            .await,
    );
}

#[tokio::test]
async fn access_token_expires_after_access_ttl() {
    let app = TestApp::new();
    let tokens = app
        .register("jane@example.com", None)
        .await
        .tokens
        .expect("registration starts a session");
    assert_eq!(tokens.access_expires_in, 15 * 60);

    app.advance(TimeDelta::minutes(15) - TimeDelta::seconds(1));
    app.principal(&tokens).await;

    app.advance(TimeDelta::seconds(1));
    match app.svc.authenticate(tokens.access_token.expose()).await {
        Err(AuthError::TokenExpired) => {}
        other => panic!("expected TokenExpired, got {other:?}"),
    }

    // The refresh token still gets a fresh, working access token.
    let renewed = app
        .svc
        .refresh(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    app.principal(&renewed).await;
}

#[tokio::test]
async fn garbage_access_token_is_invalid() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    assert_invalid_token(app.svc.authenticate("garbage").await);
    assert_invalid_token(app.svc.authenticate("").await);
}

fn policies(
    access: TimeDelta,
    refresh: TimeDelta,
    max_age: TimeDelta,
) -> latchkey_domain::Policies {
    let mut policies = latchkey_domain::Policies::default();
    policies.tokens = policies
        .tokens
        .with_access_ttl(access)
        .and_then(|t| t.with_refresh_ttl(refresh))
        .and_then(|t| t.with_session_max_age(max_age))
        .unwrap();
    policies
}

#[tokio::test]
async fn rotation_cannot_extend_a_session_past_its_maximum_age() {
    let app = TestApp::with_policies(policies(
        TimeDelta::minutes(15),
        TimeDelta::days(1),
        TimeDelta::days(2),
    ));
    let mut tokens = app.login_fresh("jane@example.com").await;
    assert_eq!(tokens.refresh_expires_in, 86_400);

    app.advance(TimeDelta::hours(20));
    tokens = app
        .svc
        .refresh(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(tokens.refresh_expires_in, 86_400);

    // 40 hours in: a full day would run past the 48-hour end, so the new refresh token lives 8 hours.
    app.advance(TimeDelta::hours(20));
    tokens = app
        .svc
        .refresh(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(tokens.refresh_expires_in, 8 * 3600);

    // A minute before the end, both new tokens live that last minute.
    app.advance(TimeDelta::hours(8) - TimeDelta::minutes(1));
    tokens = app
        .svc
        .refresh(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(tokens.refresh_expires_in, 60);
    assert_eq!(tokens.access_expires_in, 60);
    app.principal(&tokens).await;

    app.advance(TimeDelta::minutes(1));
    assert_invalid_refresh(
        app.svc
            .refresh(tokens.refresh_token.expose(), &client())
            .await,
    );
    assert!(app
        .svc
        .authenticate(tokens.access_token.expose())
        .await
        .is_err());
}

#[tokio::test]
async fn access_checks_refuse_an_expired_session_whose_access_token_is_still_valid() {
    // Refresh tokens shorter-lived than access tokens: the session expires while its access token has not.
    let app = TestApp::with_policies(policies(
        TimeDelta::hours(1),
        TimeDelta::minutes(10),
        TimeDelta::days(90),
    ));
    let tokens = app.login_fresh("jane@example.com").await;
    app.advance(TimeDelta::minutes(10) - TimeDelta::seconds(1));
    app.principal(&tokens).await;
    app.svc
        .authenticate_user(tokens.access_token.expose())
        .await
        .unwrap();

    app.advance(TimeDelta::seconds(1));
    assert_invalid_token(app.svc.authenticate(tokens.access_token.expose()).await);
    assert_invalid_token(
        app.svc
            .authenticate_user(tokens.access_token.expose())
            .await,
    );
}
