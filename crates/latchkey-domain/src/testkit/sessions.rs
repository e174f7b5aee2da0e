//! Rules of [`SessionRepository`](crate::ports::SessionRepository).

use chrono::TimeDelta;

use super::fixtures::{new_login, new_session, new_user, rotation, t0, GRACE};
use super::Store;
use crate::model::{NewSession, PasswordHash, SessionId, User, UserId};
use crate::ports::{
    Admission, CreateSessionError, EventQuery, LimitKey, RotationOutcome, UserRepository,
};
use crate::secret::TokenHash;

async fn user<S: UserRepository>(store: &S, id: &str) -> User {
    store
        .insert(&new_user(id, &format!("{id}@example.com"), None))
        .await
        .unwrap()
}

rules! { $ sessions => sessions_rules;

/// A created session is active for its owner and listed with what was recorded at login.
pub async fn create_then_is_active_and_listed<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let new = new_session("s1", &jane.id, "tok-1", t0());
    let session = store.create(&new).await.unwrap();
    assert_eq!(session.id, new.id);
    assert_eq!(session.user_id, jane.id);
    assert_eq!(session.created_at, t0());
    assert_eq!(session.last_used_at, t0());
    assert_eq!(session.expires_at, new.refresh_token.expires_at);
    assert_eq!(session.revoked_at, None);
    assert_eq!(session.client, new.client);
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store.list_active(&jane.id, t0()).await.unwrap(),
        vec![session]
    );
}

/// `is_active` is false for another user's session and for unknown ids.
pub async fn is_active_checks_the_owner<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let bob = user(store, "bob").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    assert!(!store.is_active(&session.id, &bob.id, t0()).await.unwrap());
    let unknown = new_session("nope", &jane.id, "tok-x", t0()).id;
    assert!(!store.is_active(&unknown, &jane.id, t0()).await.unwrap());
}

/// A live token rotates once: its successor is stored and live, and the session's use and expiry move forward.
pub async fn rotate_spends_the_token_once<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let at = t0() + TimeDelta::hours(1);
    assert_eq!(
        store.rotate(&rotation("tok-1", "tok-2", at)).await.unwrap(),
        RotationOutcome::Rotated {
            session_id: session.id.clone(),
            user_id: jane.id.clone(),
            rotated_at: at,
            session_ends_at: t0() + TimeDelta::days(90),
        }
    );
    let listed = store.list_active(&jane.id, at).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, at);
    assert_eq!(listed[0].expires_at, at + TimeDelta::days(30));

    let later = at + TimeDelta::hours(1);
    assert!(matches!(
        store.rotate(&rotation("tok-2", "tok-3", later)).await.unwrap(),
        RotationOutcome::Rotated { rotated_at, .. } if rotated_at == later
    ));
}

/// Presenting a spent token again within the grace, with the same successor still unused, is a retry: the
/// original rotation is reported and nothing changes. A different successor is never accepted as a retry.
pub async fn retry_within_grace_returns_the_same_rotation<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    store
        .rotate(&rotation("tok-1", "tok-2", t0()))
        .await
        .unwrap();
    let retry_at = t0() + TimeDelta::seconds(3);
    assert_eq!(
        store
            .rotate(&rotation("tok-1", "tok-2", retry_at))
            .await
            .unwrap(),
        RotationOutcome::Retried {
            session_id: session.id.clone(),
            user_id: jane.id.clone(),
            rotated_at: t0(),
            session_ends_at: t0() + TimeDelta::days(90),
        }
    );
    // The successor is still live after the retry.
    assert!(matches!(
        store
            .rotate(&rotation("tok-2", "tok-3", retry_at))
            .await
            .unwrap(),
        RotationOutcome::Rotated { .. }
    ));

    let other = store
        .create(&new_session("s2", &jane.id, "tok-a", t0()))
        .await
        .unwrap();
    store
        .rotate(&rotation("tok-a", "tok-b", t0()))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate(&rotation("tok-a", "tok-forged", retry_at))
            .await
            .unwrap(),
        RotationOutcome::ReuseDetected { session_id: other.id.clone(), user_id: jane.id.clone() }
    );
    assert!(!store.is_active(&other.id, &jane.id, t0()).await.unwrap());
}

/// A spent token presented after the grace revokes its whole session, successor included.
pub async fn replay_after_grace_revokes_the_session<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let sibling = store
        .create(&new_session("s2", &jane.id, "tok-a", t0()))
        .await
        .unwrap();
    store
        .rotate(&rotation("tok-1", "tok-2", t0()))
        .await
        .unwrap();
    let replay_at = t0() + GRACE + TimeDelta::seconds(1);
    assert_eq!(
        store
            .rotate(&rotation("tok-1", "tok-2", replay_at))
            .await
            .unwrap(),
        RotationOutcome::ReuseDetected { session_id: session.id.clone(), user_id: jane.id.clone() }
    );
    assert!(!store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store
            .rotate(&rotation("tok-2", "tok-3", replay_at))
            .await
            .unwrap(),
        RotationOutcome::Rejected
    );
    // Other sessions of the same user are not part of the family.
    assert!(store.is_active(&sibling.id, &jane.id, t0()).await.unwrap());
}

/// Once the successor has been used, presenting its parent is reuse even within the grace.
pub async fn retry_after_successor_used_is_reuse<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    store
        .rotate(&rotation("tok-1", "tok-2", t0()))
        .await
        .unwrap();
    store
        .rotate(&rotation("tok-2", "tok-3", t0()))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate(&rotation("tok-1", "tok-2", t0() + TimeDelta::seconds(1)))
            .await
            .unwrap(),
        RotationOutcome::ReuseDetected { session_id: session.id.clone(), user_id: jane.id.clone() }
    );
    assert!(!store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store
            .rotate(&rotation("tok-3", "tok-4", t0()))
            .await
            .unwrap(),
        RotationOutcome::Rejected
    );
}

/// Unknown tokens and tokens past their expiry are rejected without side effects.
pub async fn expired_and_unknown_tokens_are_rejected<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate(&rotation("unknown", "tok-2", t0()))
            .await
            .unwrap(),
        RotationOutcome::Rejected
    );
    let expired_at = t0() + TimeDelta::days(30);
    assert_eq!(
        store
            .rotate(&rotation("tok-1", "tok-2", expired_at))
            .await
            .unwrap(),
        RotationOutcome::Rejected
    );
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
}

/// A revoked session's refresh tokens are rejected, and it is no longer active.
pub async fn revoked_session_rejects_its_tokens<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    assert!(store.revoke(&session.id, &jane.id, t0()).await.unwrap());
    assert!(!store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store
            .rotate(&rotation("tok-1", "tok-2", t0()))
            .await
            .unwrap(),
        RotationOutcome::Rejected
    );
    assert!(store.list_active(&jane.id, t0()).await.unwrap().is_empty());
}

/// `revoke` touches only the caller's own, still active sessions.
pub async fn revoke_only_affects_own_sessions<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let bob = user(store, "bob").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    assert!(!store.revoke(&session.id, &bob.id, t0()).await.unwrap());
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert!(store.revoke(&session.id, &jane.id, t0()).await.unwrap());
    assert!(
        !store.revoke(&session.id, &jane.id, t0()).await.unwrap(),
        "already revoked"
    );
}

/// `revoke_by_refresh_token` ends the session of a live or spent (but unexpired) token, and only that session.
pub async fn revoke_by_refresh_token_ends_the_tokens_session<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let live = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let spent = store
        .create(&new_session("s2", &jane.id, "tok-a", t0()))
        .await
        .unwrap();
    let sibling = store
        .create(&new_session("s3", &jane.id, "tok-x", t0()))
        .await
        .unwrap();
    store
        .rotate(&rotation("tok-a", "tok-b", t0()))
        .await
        .unwrap();

    let at = t0() + TimeDelta::hours(1);
    let revoked = store
        .revoke_by_refresh_token(&TokenHash::of("tok-1"), at)
        .await
        .unwrap()
        .expect("the token's session is revoked");
    assert_eq!((&revoked.id, &revoked.user_id, revoked.revoked_at), (&live.id, &jane.id, Some(at)));
    assert!(!store.is_active(&live.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store.rotate(&rotation("tok-1", "tok-2", at)).await.unwrap(),
        RotationOutcome::Rejected
    );

    // A spent token still names its session; the successor dies with it.
    assert!(store
        .revoke_by_refresh_token(&TokenHash::of("tok-a"), at)
        .await
        .unwrap()
        .is_some());
    assert!(!store.is_active(&spent.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store.rotate(&rotation("tok-b", "tok-c", at)).await.unwrap(),
        RotationOutcome::Rejected
    );

    assert!(store.is_active(&sibling.id, &jane.id, t0()).await.unwrap());
    let listed = store.list_active(&jane.id, at).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, None);
}

/// `revoke_by_refresh_token` is `None`, and changes nothing, for an unknown or expired token and for a session
/// already revoked.
pub async fn revoke_by_refresh_token_ignores_unknown_expired_and_revoked<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    assert!(store
        .revoke_by_refresh_token(&TokenHash::of("unknown"), t0())
        .await
        .unwrap()
        .is_none());
    let expired_at = t0() + TimeDelta::days(30);
    assert!(store
        .revoke_by_refresh_token(&TokenHash::of("tok-1"), expired_at)
        .await
        .unwrap()
        .is_none());
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());

    assert!(store
        .revoke_by_refresh_token(&TokenHash::of("tok-1"), t0())
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .revoke_by_refresh_token(&TokenHash::of("tok-1"), t0())
            .await
            .unwrap()
            .is_none(),
        "already revoked"
    );
}

/// `revoke_all` ends every active session of one user and reports how many.
pub async fn revoke_all_revokes_every_session<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let bob = user(store, "bob").await;
    let one = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let two = store
        .create(&new_session("s2", &jane.id, "tok-2", t0()))
        .await
        .unwrap();
    let bobs = store
        .create(&new_session("s3", &bob.id, "tok-3", t0()))
        .await
        .unwrap();
    assert_eq!(store.revoke_all(&jane.id, t0()).await.unwrap(), 2);
    for id in [&one.id, &two.id] {
        assert!(!store.is_active(id, &jane.id, t0()).await.unwrap());
    }
    assert!(store.is_active(&bobs.id, &bob.id, t0()).await.unwrap());
    assert_eq!(store.revoke_all(&jane.id, t0()).await.unwrap(), 0);
    let nobody = UserId::from_random("nobody");
    assert_eq!(store.revoke_all(&nobody, t0()).await.unwrap(), 0);
}

/// Listing shows only live sessions, newest first.
pub async fn list_hides_expired_sessions_and_orders_newest_first<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let old = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let newer = store
        .create(&new_session(
            "s2",
            &jane.id,
            "tok-2",
            t0() + TimeDelta::hours(1),
        ))
        .await
        .unwrap();
    let newest = store
        .create(&new_session(
            "s3",
            &jane.id,
            "tok-3",
            t0() + TimeDelta::hours(2),
        ))
        .await
        .unwrap();
    store.revoke(&newest.id, &jane.id, t0()).await.unwrap();
    let ids = |sessions: Vec<crate::model::Session>| {
        sessions.into_iter().map(|s| s.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .list_active(&jane.id, t0() + TimeDelta::hours(3))
            .await
            .unwrap()),
        vec![newer.id.clone(), old.id.clone()]
    );
    let after_first_expired = t0() + TimeDelta::days(30) + TimeDelta::minutes(30);
    assert_eq!(
        ids(store
            .list_active(&jane.id, after_first_expired)
            .await
            .unwrap()),
        vec![newer.id]
    );
}

/// Listing shows the user's own sessions only.
pub async fn list_shows_only_the_users_sessions<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let bob = user(store, "bob").await;
    let janes = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    store
        .create(&new_session("s2", &bob.id, "tok-2", t0()))
        .await
        .unwrap();
    assert_eq!(
        store.list_active(&jane.id, t0()).await.unwrap(),
        vec![janes]
    );
}

/// Two rotations of one token racing (a client double-submitting): exactly one rotates, the other sees the spent
/// token and, as it asks for the same successor within the grace, is told about the same rotation. The successor
/// is stored once and live.
pub async fn concurrent_rotations_of_one_token_rotate_once<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let at = t0() + TimeDelta::minutes(1);
    let request = rotation("tok-1", "tok-2", at);
    let (one, two) = super::join(store.rotate(&request), store.rotate(&request)).await;
    let mut outcomes = [one.unwrap(), two.unwrap()];
    outcomes.sort_by_key(|outcome| matches!(outcome, RotationOutcome::Retried { .. }));
    assert_eq!(
        outcomes,
        [
            RotationOutcome::Rotated {
                session_id: session.id.clone(),
                user_id: jane.id.clone(),
                rotated_at: at,
                session_ends_at: t0() + TimeDelta::days(90),
            },
            RotationOutcome::Retried {
                session_id: session.id.clone(),
                user_id: jane.id.clone(),
                rotated_at: at,
                session_ends_at: t0() + TimeDelta::days(90),
            },
        ]
    );
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert!(matches!(
        store.rotate(&rotation("tok-2", "tok-3", at)).await.unwrap(),
        RotationOutcome::Rotated { .. }
    ));
}

/// A session started with a password hash that is no longer the account's (changed since the login verified it)
/// is refused as stale, and nothing of it is written: its token hash stays free. The current hash is accepted, and
/// so is no hash at all (a caller that checked nothing asks for no check).
pub async fn create_with_a_stale_credential_is_refused_and_writes_nothing<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let stale = NewSession {
        verified_password: Some(PasswordHash::new("$fake$old".into())),
        ..new_session("s1", &jane.id, "tok-1", t0())
    };
    assert!(matches!(
        store.create(&stale).await,
        Err(CreateSessionError::StaleCredentials)
    ));
    assert!(!store.is_active(&stale.id, &jane.id, t0()).await.unwrap());
    assert!(store.list_active(&jane.id, t0()).await.unwrap().is_empty());

    let ghost = UserId::from_random("ghost");
    let orphan = NewSession {
        verified_password: Some(PasswordHash::new("$fake$ghost".into())),
        ..new_session("s2", &ghost, "tok-2", t0())
    };
    assert!(matches!(
        store.create(&orphan).await,
        Err(CreateSessionError::StaleCredentials)
    ));

    let current = NewSession {
        verified_password: Some(PasswordHash::new("$fake$jane".into())),
        ..new_session("s1", &jane.id, "tok-1", t0())
    };
    let session = store.create(&current).await.unwrap();
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert_eq!(
        store.list_active(&jane.id, t0()).await.unwrap(),
        vec![session]
    );
}

/// A login's writes land together: its session is live, its event is listed as recorded, its address is known from
/// the session's start, and its counted attempt is given back.
pub async fn a_login_commits_its_session_event_address_and_forgiveness<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let attempts = LimitKey::new("login:account", "jane@example.com");
    let login = new_login("s1", &jane.id, "tok-1", t0(), "$fake$jane", &attempts);
    let (_, rate) = login.forgiven[0];
    assert_eq!(store.acquire(&attempts, rate, t0()).await.unwrap(), Admission::Admitted);
    let created = store.create_login(&login).await.unwrap();
    let session = created.session;
    assert_eq!(session.id, login.session.id);
    assert!(created.revocations.is_empty(), "no cap, nothing ended");
    assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    let events = store.list_events(&EventQuery::newest(10)).await.unwrap();
    assert_eq!(events, vec![login.event.clone()]);
    let address = login.known_address.clone().unwrap();
    assert!(store.knows_address(&jane.id, &address, t0()).await.unwrap());
    assert_eq!(
        store.acquire(&attempts, rate, t0()).await.unwrap(),
        Admission::Admitted,
        "the attempt was given back"
    );
}

/// A login at the cap on live sessions reports exactly the sessions it revoked (the oldest live ones, not one that
/// was already revoked, and none of another user's) and records a `session_revoked` event for each with its own.
pub async fn a_login_beyond_the_cap_reports_the_sessions_it_ended<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let bob = user(store, "bob").await;
    for (id, owner, hours) in [("s1", &jane, 0), ("s2", &jane, 1), ("s3", &jane, 2), ("b1", &bob, 0)] {
        store.create(&new_session(id, &owner.id, &format!("tok-{id}"), t0() + TimeDelta::hours(hours))).await.unwrap();
    }
    store.revoke(&SessionId::from_random("s1"), &jane.id, t0() + TimeDelta::hours(2)).await.unwrap();
    let attempts = LimitKey::new("login:account", "jane@example.com");
    let mut login = new_login("s4", &jane.id, "tok-s4", t0() + TimeDelta::hours(3), "$fake$jane", &attempts);
    login.session.max_live_sessions = Some(2);
    let created = store.create_login(&login).await.unwrap();
    let revoked_s2 = login.ended_session_event(0, &SessionId::from_random("s2"));
    assert_eq!(created.revocations, vec![revoked_s2.clone()], "s3 and s4 make two; s1 was already revoked");
    let mut events = store.list_events(&EventQuery::newest(10)).await.unwrap();
    events.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = vec![login.event.clone(), revoked_s2];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(events, expected, "the login's event and the ended session's, in the login's commit");

    let mut next = new_login("s5", &jane.id, "tok-s5", t0() + TimeDelta::hours(4), "$fake$jane", &attempts);
    next.session.max_live_sessions = Some(5);
    assert!(store.create_login(&next).await.unwrap().revocations.is_empty(), "below the cap");
    assert_eq!(store.list_events(&EventQuery::newest(10)).await.unwrap().len(), 3, "only the login's own event");
}

/// A login refused as stale (its password changed since it was checked) writes nothing of itself: no session, no
/// event, no address, and its attempt stays counted.
pub async fn a_stale_login_writes_nothing_of_itself<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let attempts = LimitKey::new("login:account", "jane@example.com");
    let login = new_login("s1", &jane.id, "tok-1", t0(), "$fake$old", &attempts);
    let (_, rate) = login.forgiven[0];
    assert_eq!(store.acquire(&attempts, rate, t0()).await.unwrap(), Admission::Admitted);
    assert!(matches!(
        store.create_login(&login).await,
        Err(CreateSessionError::StaleCredentials)
    ));
    assert!(store.list_active(&jane.id, t0()).await.unwrap().is_empty());
    assert!(store.list_events(&EventQuery::newest(10)).await.unwrap().is_empty());
    let address = login.known_address.clone().unwrap();
    assert!(!store.knows_address(&jane.id, &address, t0()).await.unwrap());
    assert!(
        matches!(store.acquire(&attempts, rate, t0()).await.unwrap(), Admission::Refused { .. }),
        "the attempt stays counted"
    );
}

/// A session creation racing a password change never leaves a live session made with the old password: either
/// the change came first and the creation is refused, or the session came first and the change revoked it.
pub async fn create_racing_a_password_change_leaves_no_live_session<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let login = NewSession {
        verified_password: Some(PasswordHash::new("$fake$jane".into())),
        ..new_session("s1", &jane.id, "tok-1", t0())
    };
    let changed = PasswordHash::new("$fake$changed".into());
    let (created, updated) = super::join(
        store.create(&login),
        store.update_password(&jane.id, &changed, None, t0()),
    )
    .await;
    assert!(updated.unwrap());
    match created {
        Ok(session) => assert!(!store.is_active(&session.id, &jane.id, t0()).await.unwrap()),
        Err(error) => assert!(
            matches!(error, CreateSessionError::StaleCredentials),
            "{error}"
        ),
    }
    assert!(store.list_active(&jane.id, t0()).await.unwrap().is_empty());
}

/// No rotation extends a session past its absolute end: a successor that would outlive it expires at the end,
/// and from the end on the session is neither active nor listed, and its tokens are rejected.
pub async fn rotation_never_extends_a_session_past_its_end<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let end = t0() + TimeDelta::days(40);
    let new = NewSession {
        ends_at: end,
        ..new_session("s1", &jane.id, "tok-1", t0())
    };
    let session = store.create(&new).await.unwrap();
    assert_eq!(session.ends_at, end);

    let at = t0() + TimeDelta::days(20);
    assert_eq!(
        store.rotate(&rotation("tok-1", "tok-2", at)).await.unwrap(),
        RotationOutcome::Rotated {
            session_id: session.id.clone(),
            user_id: jane.id.clone(),
            rotated_at: at,
            session_ends_at: end,
        }
    );
    let listed = store.list_active(&jane.id, at).await.unwrap();
    assert_eq!(listed[0].expires_at, end, "capped, not {at} + 30 days");
    assert_eq!(listed[0].ends_at, end);

    let just_before = end - TimeDelta::microseconds(1);
    assert!(store.is_active(&session.id, &jane.id, just_before).await.unwrap());
    assert!(!store.is_active(&session.id, &jane.id, end).await.unwrap());
    assert!(store.list_active(&jane.id, end).await.unwrap().is_empty());
    assert_eq!(
        store.rotate(&rotation("tok-2", "tok-3", end)).await.unwrap(),
        RotationOutcome::Rejected
    );
}

/// Access checks refuse a session from its expiry on, not only once it is revoked: `is_active` and
/// `find_by_active_session` agree.
pub async fn expired_sessions_are_not_active<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let expiry = session.expires_at;
    let just_before = expiry - TimeDelta::microseconds(1);
    assert!(store.is_active(&session.id, &jane.id, just_before).await.unwrap());
    assert_eq!(
        store
            .find_by_active_session(&session.id, &jane.id, just_before)
            .await
            .unwrap()
            .map(|user| user.id),
        Some(jane.id.clone())
    );
    assert!(!store.is_active(&session.id, &jane.id, expiry).await.unwrap());
    assert_eq!(
        store
            .find_by_active_session(&session.id, &jane.id, expiry)
            .await
            .unwrap(),
        None
    );
}

/// A session created with a cap on live sessions revokes the user's oldest live sessions beyond it, and only
/// those, however many they are: revoked and expired sessions do not count, nor do other users'.
pub async fn create_beyond_the_cap_revokes_the_oldest_live_sessions<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let bob = user(store, "bob").await;
    let capped = |id: &str, owner: &UserId, token: &str, hours: i64| NewSession {
        max_live_sessions: Some(3),
        ..new_session(id, owner, token, t0() + TimeDelta::hours(hours))
    };
    let bobs = store.create(&capped("b1", &bob.id, "tok-b", 0)).await.unwrap();
    let mut janes = Vec::new();
    for (n, id) in ["s1", "s2", "s3"].into_iter().enumerate() {
        let at = n as i64;
        janes.push(store.create(&capped(id, &jane.id, &format!("tok-{id}"), at)).await.unwrap());
    }
    let at = t0() + TimeDelta::hours(3);
    let live = |sessions: Vec<crate::model::Session>| {
        let mut ids: Vec<String> = sessions.into_iter().map(|s| s.id.as_str().to_owned()).collect();
        ids.sort();
        ids
    };
    assert_eq!(live(store.list_active(&jane.id, at).await.unwrap()).len(), 3);

    let s4 = store.create(&capped("s4", &jane.id, "tok-s4", 3)).await.unwrap();
    assert!(!store.is_active(&janes[0].id, &jane.id, at).await.unwrap(), "the oldest ends");
    assert_eq!(
        live(store.list_active(&jane.id, at).await.unwrap()),
        live(vec![janes[1].clone(), janes[2].clone(), s4.clone()])
    );
    assert_eq!(
        store.rotate(&rotation("tok-s1", "tok-s1b", at)).await.unwrap(),
        RotationOutcome::Rejected
    );

    // A revoked session leaves room: the next login ends nothing.
    store.revoke(&janes[1].id, &jane.id, at).await.unwrap();
    let s5 = store.create(&capped("s5", &jane.id, "tok-s5", 4)).await.unwrap();
    assert_eq!(
        live(store.list_active(&jane.id, t0() + TimeDelta::hours(4)).await.unwrap()),
        live(vec![janes[2].clone(), s4, s5])
    );
    assert!(store.is_active(&bobs.id, &bob.id, at).await.unwrap());

    // A cap lowered below the live sessions (a new configuration) ends every one beyond it at the next login.
    let s6 = store
        .create(&NewSession {
            max_live_sessions: Some(1),
            ..capped("s6", &jane.id, "tok-s6", 5)
        })
        .await
        .unwrap();
    assert_eq!(
        live(store.list_active(&jane.id, t0() + TimeDelta::hours(5)).await.unwrap()),
        live(vec![s6])
    );
    assert!(store.is_active(&bobs.id, &bob.id, at).await.unwrap());
}

/// Concurrent logins of one user never leave more live sessions than the cap.
pub async fn concurrent_creations_never_exceed_the_cap<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let capped = |id: &str, token: &str| NewSession {
        max_live_sessions: Some(2),
        ..new_session(id, &jane.id, token, t0())
    };
    store.create(&capped("s1", "tok-1")).await.unwrap();
    store.create(&capped("s2", "tok-2")).await.unwrap();
    let (three, four) = super::join(
        store.create(&capped("s3", "tok-3")),
        store.create(&capped("s4", "tok-4")),
    )
    .await;
    three.unwrap();
    four.unwrap();
    assert_eq!(store.list_active(&jane.id, t0()).await.unwrap().len(), 2);
}

/// `purge_sessions` deletes what can no longer change an answer, and nothing else: expired refresh tokens, and
/// sessions (revoked or not) once their last token has expired. A spent token of a live session is kept until it
/// expires, so replaying it is still detected; the live token of a live session is untouched.
pub async fn purge_deletes_only_what_can_no_longer_matter<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let live = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    store.rotate(&rotation("tok-1", "tok-2", t0() + TimeDelta::hours(1))).await.unwrap();
    let revoked = store
        .create(&new_session("s2", &jane.id, "tok-a", t0()))
        .await
        .unwrap();
    store.revoke(&revoked.id, &jane.id, t0()).await.unwrap();
    let replayed = store
        .create(&new_session("s3", &jane.id, "tok-x", t0()))
        .await
        .unwrap();
    store.rotate(&rotation("tok-x", "tok-y", t0())).await.unwrap();

    // Within the tokens' lifetime nothing goes, revoked session included, and a replay is still reuse.
    let soon = t0() + TimeDelta::hours(2);
    assert_eq!(store.purge_sessions(soon, 1000).await.unwrap(), 0);
    assert_eq!(
        store.rotate(&rotation("tok-x", "tok-y", soon)).await.unwrap(),
        RotationOutcome::ReuseDetected { session_id: replayed.id.clone(), user_id: jane.id.clone() }
    );
    assert!(!store.is_active(&replayed.id, &jane.id, soon).await.unwrap());

    // At day 30 the first tokens have expired: the two ended sessions go (with their tokens), and the live
    // session's spent first token; its live token stays and still rotates. Batches of one get there too.
    let later = t0() + TimeDelta::days(30);
    let mut deleted = 0;
    loop {
        let batch = store.purge_sessions(later, 1).await.unwrap();
        assert!(batch <= 2, "{batch} rows in a batch of one per table");
        if batch == 0 {
            break;
        }
        deleted += batch;
    }
    // Two sessions and the spent token; with batches of one, some tokens of an ended session may go on their own
    // before their session does.
    assert!(deleted >= 3, "{deleted}");
    assert!(store.is_active(&live.id, &jane.id, later).await.unwrap());
    assert!(matches!(
        store.rotate(&rotation("tok-2", "tok-3", later)).await.unwrap(),
        RotationOutcome::Rotated { .. }
    ));
    assert!(store
        .revoke_by_refresh_token(&TokenHash::of("tok-a"), later)
        .await
        .unwrap()
        .is_none());
    // A new session may reuse nothing of the old, but the old ids and hashes are free again.
    store
        .create(&new_session("s2", &jane.id, "tok-a", later))
        .await
        .unwrap();

    // Once the live session ends too, it goes.
    let end = later + TimeDelta::days(31);
    assert!(store.purge_sessions(end, 1000).await.unwrap() >= 1);
    assert!(store.list_active(&jane.id, end).await.unwrap().is_empty());
    assert_eq!(store.purge_sessions(end, 1000).await.unwrap(), 0);
}

/// A session whose first token hash is already stored is refused with an error, and nothing of it is written.
pub async fn duplicate_token_hash_is_refused_and_writes_nothing<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let duplicate = new_session("s2", &jane.id, "tok-1", t0());
    assert!(store.create(&duplicate).await.is_err());
    assert!(!store.is_active(&duplicate.id, &jane.id, t0()).await.unwrap());
    assert_eq!(store.list_active(&jane.id, t0()).await.unwrap().len(), 1);
}

}
