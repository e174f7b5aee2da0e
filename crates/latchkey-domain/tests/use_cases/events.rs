//! The security event log: which use cases record what, with whose account, from where; never a secret.

use chrono::TimeDelta;
use latchkey_domain::service::{CreateCredentialInput, LogoutScope};
use latchkey_domain::{
    ClientInfo, CredentialKind, EventKind, EventOutcome, ListEventsError, LoginError, Policies,
    Rate, SecurityEvent,
};

use crate::support::{change, client, credentials, TestApp, PASSWORD};

fn summary(events: &[SecurityEvent]) -> Vec<(EventKind, EventOutcome)> {
    events.iter().map(|e| (e.kind, e.outcome)).collect()
}

#[tokio::test]
async fn logins_logouts_and_password_changes_are_recorded_with_the_client() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    let wrong = app
        .svc
        .login(credentials("jane@example.com", "wrong password!"), client())
        .await;
    assert!(matches!(wrong, Err(LoginError::InvalidCredentials)));
    let _ = app
        .svc
        .login(
            credentials("nobody@example.com", "wrong password!"),
            client(),
        )
        .await;
    let tokens = app.login("jane@example.com").await.tokens;
    let session = app.session(&tokens).await.with_client(client());
    app.svc
        .change_password(&session, change("not it at all", "a brand new password"))
        .await
        .unwrap_err();
    app.svc
        .change_password(&session, change(PASSWORD, "a brand new password"))
        .await
        .unwrap();
    app.svc
        .logout(&session, LogoutScope::ThisSession)
        .await
        .unwrap();

    let other = app.login_fresh("john@example.com").await;
    let john = app.session(&other).await;
    let page = app.svc.own_events(&john, 100, None).await.unwrap();
    assert_eq!(
        summary(&page.events),
        [
            (EventKind::Login, EventOutcome::Success),
            (EventKind::Registered, EventOutcome::Success)
        ],
        "john sees only his own"
    );

    let all = app
        .svc
        .list_events(&latchkey_domain::ports::EventQuery::newest(100))
        .await
        .unwrap();
    let jane_id = session.user_id().clone();
    let janes: Vec<_> = all
        .iter()
        .filter(|e| e.user_id.as_ref() == Some(&jane_id))
        .cloned()
        .collect();
    assert_eq!(
        summary(&janes),
        [
            (EventKind::Logout, EventOutcome::Success),
            (EventKind::PasswordChanged, EventOutcome::Success),
            (EventKind::PasswordChanged, EventOutcome::Failure),
            (EventKind::Login, EventOutcome::Success),
            (EventKind::Login, EventOutcome::Failure),
            (EventKind::Registered, EventOutcome::Success),
        ]
    );
    for event in &janes {
        assert_eq!(
            event.client,
            client(),
            "{:?} carries the client",
            event.kind
        );
    }
    assert_eq!(
        janes[0].subject.as_deref(),
        Some(session.session_id().as_str())
    );
    let unknown = all
        .iter()
        .find(|e| e.user_id.is_none())
        .expect("a failed login naming no account is recorded too");
    assert_eq!(
        (unknown.kind, unknown.outcome),
        (EventKind::Login, EventOutcome::Failure)
    );
}

#[tokio::test]
async fn refresh_reuse_is_recorded_with_the_user_and_the_session_it_hit() {
    let app = TestApp::new();
    let first = app.login_fresh("jane@example.com").await;
    let session = app.session(&first).await;
    app.svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    app.advance(TimeDelta::minutes(5));
    app.svc
        .refresh(first.refresh_token.expose(), &client())
        .await
        .unwrap_err();
    // The replay revoked that session: read the account's events through a new login.
    let again = app.login("jane@example.com").await.tokens;
    let page = app
        .svc
        .own_events(&app.session(&again).await, 100, None)
        .await
        .unwrap();
    let reuse = page
        .events
        .iter()
        .find(|e| e.kind == EventKind::RefreshReuseDetected)
        .expect("recorded");
    assert_eq!(reuse.outcome, EventOutcome::Refused);
    assert_eq!(
        reuse.subject.as_deref(),
        Some(session.session_id().as_str())
    );
    assert_eq!(reuse.user_id.as_ref(), Some(session.user_id()));
}

#[tokio::test]
async fn credentials_are_recorded_by_id_never_by_secret() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    let created = app
        .svc
        .create_credential(
            &session,
            CredentialKind::ApiKey,
            CreateCredentialInput::new("ci"),
        )
        .await
        .unwrap();
    let id = created.credential.id.clone();
    let rotated = app.svc.rotate_credential(&session, &id).await.unwrap();
    app.svc.revoke_credential(&session, &id).await.unwrap();
    let page = app.svc.own_events(&session, 3, None).await.unwrap();
    assert_eq!(
        summary(&page.events),
        [
            (EventKind::KeyRevoked, EventOutcome::Success),
            (EventKind::KeyRotated, EventOutcome::Success),
            (EventKind::KeyCreated, EventOutcome::Success),
        ]
    );
    for event in &page.events {
        assert_eq!(event.subject.as_deref(), Some(id.as_str()));
        let debug = format!("{event:?}");
        for secret in [created.secret.expose(), rotated.secret.expose()] {
            assert!(!debug.contains(secret), "no secret in {debug}");
        }
    }
}

#[tokio::test]
async fn oauth_revocations_are_recorded_for_the_owner_once() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    let by_refresh = app.login("jane@example.com").await.tokens;
    let by_access = app.login("jane@example.com").await.tokens;
    let by_access_session = app.session(&by_access).await;
    let by_refresh_session = app.session(&by_refresh).await;
    let mut revoked = vec![];
    for kind in [CredentialKind::PersonalToken, CredentialKind::ApiKey] {
        let input =
            CreateCredentialInput::new("ci").expires_at(app.clock_now() + TimeDelta::days(1));
        let created = app
            .svc
            .create_credential(&session, kind, input)
            .await
            .unwrap();
        revoked.push((
            created.secret.expose().to_owned(),
            created.credential.id.as_str().to_owned(),
        ));
    }
    revoked.push((
        by_refresh.refresh_token.expose().to_owned(),
        by_refresh_session.session_id().as_str().to_owned(),
    ));
    revoked.push((
        by_access.access_token.expose().to_owned(),
        by_access_session.session_id().as_str().to_owned(),
    ));
    // Whoever holds a token may revoke it: the events name the requester, not the client that logged in.
    let requester = ClientInfo::new(Some("revoker/1.0"), Some("198.51.100.7".into()));
    for (secret, _) in &revoked {
        // Twice: the second changes nothing and records nothing.
        for _ in 0..2 {
            app.svc.revoke_token(secret, &requester).await.unwrap();
        }
    }
    let page = app.svc.own_events(&session, 4, None).await.unwrap();
    let recorded: Vec<(EventKind, Option<&str>)> = page
        .events
        .iter()
        .rev()
        .map(|e| (e.kind, e.subject.as_deref()))
        .collect();
    assert_eq!(
        recorded,
        [
            (EventKind::TokenRevoked, Some(revoked[0].1.as_str())),
            (EventKind::KeyRevoked, Some(revoked[1].1.as_str())),
            (EventKind::SessionRevoked, Some(revoked[2].1.as_str())),
            (EventKind::SessionRevoked, Some(revoked[3].1.as_str())),
        ]
    );
    for event in &page.events {
        assert_eq!(event.client, requester);
        assert_eq!(event.user_id.as_ref(), Some(session.user_id()));
    }
    let before = app.svc.own_events(&session, 5, None).await.unwrap();
    assert_ne!(
        before.events[4].kind,
        EventKind::SessionRevoked,
        "nothing more was recorded"
    );
}

#[tokio::test]
async fn throttled_attempts_are_recorded() {
    let mut policies = Policies::default();
    policies.throttle.login_per_address = Some(Rate::new(1, TimeDelta::minutes(15)).unwrap());
    let app = TestApp::with_policies(policies);
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    let elsewhere = ClientInfo::new(None, Some("198.51.100.3".to_owned()));
    for _ in 0..2 {
        let _ = app
            .svc
            .login(
                credentials("jane@example.com", "wrong password!"),
                elsewhere.clone(),
            )
            .await;
    }
    let page = app.svc.own_events(&session, 1, None).await.unwrap();
    let throttled = &page.events[0];
    assert_eq!(
        (
            throttled.kind,
            throttled.outcome,
            throttled.subject.as_deref()
        ),
        (EventKind::Throttled, EventOutcome::Refused, Some("login"))
    );
    assert_eq!(throttled.client, elsewhere);
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_and_bad_cursors_are_refused() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    for _ in 0..5 {
        app.login("jane@example.com").await;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .svc
            .own_events(&session, 2, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.events.len() <= 2);
        seen.extend(page.events.into_iter().map(|e| e.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "registered and six logins, each once");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(matches!(
        app.svc.own_events(&session, 2, Some("garbage")).await,
        Err(ListEventsError::InvalidCursor)
    ));
}
