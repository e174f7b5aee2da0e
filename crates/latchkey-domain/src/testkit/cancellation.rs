//! Rules for calls whose caller stops waiting: a web server drops a request's future when the client goes away or
//! a sibling extractor fails, so any repository call may be abandoned at any await point.
//!
//! Each rule abandons one kind of call at several depths (after one, two, … pending polls), then uses the store
//! again. It must not panic (on the current-thread runtime the suite runs on, as actix workers do), must keep
//! answering correctly, and the abandoned write must be all or nothing. An adapter may finish the abandoned work in
//! the background, so each check holds whether or not that work has landed yet.

use std::future::Future;
use std::task::Poll;

use chrono::TimeDelta;

use super::fixtures::{new_login, new_session, new_user, t0, verification};
use super::Store;
use crate::model::{PasswordHash, User};
use crate::ports::{
    EventQuery, InsertUserError, LimitKey, RotationOutcome, RotationRequest, UserLookup,
    UserRepository,
};
use crate::secret::TokenHash;

/// How many depths each call is abandoned at.
const DEPTHS: usize = 4;

/// Polls `future` until it has been pending `polls` times (yielding to the runtime in between, so the work it
/// started makes progress), then drops it unfinished. A future that completes earlier is simply done.
async fn abandon_after<F: Future>(polls: usize, future: F) {
    let mut future = std::pin::pin!(future);
    let mut pending = 0;
    std::future::poll_fn(|cx| {
        if pending >= polls {
            return Poll::Ready(());
        }
        match future.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending => {
                pending += 1;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    })
    .await;
}

async fn user<S: UserRepository>(store: &S, id: &str) -> User {
    store
        .insert(&new_user(id, &format!("{id}@example.com"), None))
        .await
        .unwrap()
}

rules! { $ cancellation => cancellation_rules;

/// An abandoned `insert` stores the whole user or nothing, and later inserts work.
pub async fn cancelled_insert_is_all_or_nothing<S: Store>(store: &S) {
    for depth in 1..=DEPTHS {
        let abandoned = new_user(
            &format!("gone{depth}"),
            &format!("gone{depth}@example.com"),
            Some(&format!("gone{depth}")),
        );
        abandon_after(depth, store.insert(&abandoned)).await;

        let next = user(store, &format!("next{depth}")).await;
        assert_eq!(store.find(&next.id).await.unwrap(), Some(next));
        if let Some(found) = store.find(&abandoned.id).await.unwrap() {
            assert_eq!(found.email, abandoned.email);
            assert_eq!(found.username, abandoned.username);
            assert_eq!(found.credits, abandoned.credits);
        }
        // Registering the same email again (as a retry would, under a new id) either wins or meets the abandoned
        // registration: never anything else.
        let retry = new_user(
            &format!("retry{depth}"),
            &format!("gone{depth}@example.com"),
            Some(&format!("gone{depth}")),
        );
        match store.insert(&retry).await {
            Ok(_) | Err(InsertUserError::EmailTaken) => {}
            Err(other) => panic!("depth {depth}: unexpected {other:?}"),
        }
    }
}

/// Abandoned reads (`find`, `find_credentials`, `find_by_active_session`, `is_active`, `list_active`) leave the
/// store answering the same reads correctly.
pub async fn cancelled_reads_leave_the_store_usable<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    let by_email = UserLookup::Email(jane.email.clone());
    for depth in 1..=DEPTHS {
        abandon_after(depth, store.find(&jane.id)).await;
        abandon_after(depth, store.find_credentials(&by_email)).await;
        abandon_after(depth, store.find_by_active_session(&session.id, &jane.id, t0())).await;
        abandon_after(depth, store.is_active(&session.id, &jane.id, t0())).await;
        abandon_after(depth, store.list_active(&jane.id, t0())).await;

        assert_eq!(store.find(&jane.id).await.unwrap().as_ref(), Some(&jane));
        let credentials = store.find_credentials(&by_email).await.unwrap().unwrap();
        assert_eq!(credentials.user, jane);
        assert_eq!(
            store
                .find_by_active_session(&session.id, &jane.id, t0())
                .await
                .unwrap(),
            Some(jane.clone())
        );
        assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
        assert_eq!(
            store.list_active(&jane.id, t0()).await.unwrap(),
            vec![session.clone()]
        );
    }
}

/// An abandoned `create` stores the session with its first refresh token, or neither.
pub async fn cancelled_create_is_all_or_nothing<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    for depth in 1..=DEPTHS {
        let token = format!("tok-{depth}");
        let abandoned = new_session(&format!("s{depth}"), &jane.id, &token, t0());
        abandon_after(depth, store.create(&abandoned)).await;

        let next = new_session(
            &format!("n{depth}"),
            &jane.id,
            &format!("next-{depth}"),
            t0(),
        );
        let created = store.create(&next).await.unwrap();
        assert!(store.is_active(&created.id, &jane.id, t0()).await.unwrap());
        if store.is_active(&abandoned.id, &jane.id, t0()).await.unwrap() {
            let rotated = store
                .rotate(&RotationRequest {
                    presented: TokenHash::of(&token),
                    successor: TokenHash::of(&format!("{token}-next")),
                    successor_ttl: TimeDelta::days(30),
                    now: t0() + TimeDelta::minutes(1),
                    grace: TimeDelta::seconds(10),
                })
                .await
                .unwrap();
            assert!(
                matches!(rotated, RotationOutcome::Rotated { .. }),
                "depth {depth}: a stored session has its refresh token: {rotated:?}"
            );
        }
    }
}

/// An abandoned `create_login` stores the login whole or not at all: its session is live exactly when its event is
/// listed.
pub async fn cancelled_create_login_is_all_or_nothing<S: Store>(store: &S) {
    let attempts = LimitKey::new("login:account", "someone@example.com");
    for depth in 1..=DEPTHS {
        // One account per depth, so each depth's address and events are its own.
        let name = format!("user{depth}");
        let owner = user(store, &name).await;
        let verified = format!("$fake${name}");
        let token = format!("tok-{depth}");
        let login = new_login(&format!("s{depth}"), &owner.id, &token, t0(), &verified, &attempts);
        abandon_after(depth, store.create_login(&login)).await;

        // The store keeps working: the account's next login lands whole.
        let token = format!("next-{depth}");
        let next = new_login(&format!("n{depth}"), &owner.id, &token, t0(), &verified, &attempts);
        store.create_login(&next).await.unwrap();
        // Read session, events, session: work that lands meanwhile can make a later read see more, never less.
        let session_before = store.is_active(&login.session.id, &owner.id, t0()).await.unwrap();
        let events = store
            .list_events(&EventQuery::newest(10).of_user(owner.id.clone()))
            .await
            .unwrap();
        let event_stored = events.iter().any(|event| event.id == login.event.id);
        let session_after = store.is_active(&login.session.id, &owner.id, t0()).await.unwrap();
        assert!(!session_before || event_stored, "depth {depth}: a session without its event");
        assert!(!event_stored || session_after, "depth {depth}: an event without its session");
        assert!(events.iter().any(|event| event.id == next.event.id));
    }
}

/// An abandoned `rotate` either rotated or did nothing: presenting the same token for the same successor then
/// rotates it or is recognised as a retry, and the session stays active.
pub async fn cancelled_rotate_is_all_or_nothing<S: Store>(store: &S) {
    let jane = user(store, "jane").await;
    for depth in 1..=DEPTHS {
        let token = format!("tok-{depth}");
        let session = store
            .create(&new_session(&format!("s{depth}"), &jane.id, &token, t0()))
            .await
            .unwrap();
        let request = RotationRequest {
            presented: TokenHash::of(&token),
            successor: TokenHash::of(&format!("{token}-next")),
            successor_ttl: TimeDelta::days(30),
            now: t0() + TimeDelta::minutes(1),
            grace: TimeDelta::seconds(10),
        };
        abandon_after(depth, store.rotate(&request)).await;

        match store.rotate(&request).await.unwrap() {
            RotationOutcome::Rotated { .. } | RotationOutcome::Retried { .. } => {}
            other => panic!("depth {depth}: unexpected {other:?}"),
        }
        assert!(store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    }
}

/// An abandoned `update_password` leaves the store consistent: the next password change applies, and its
/// revocation of the other sessions holds.
pub async fn cancelled_update_password_leaves_the_store_usable<S: Store>(store: &S) {
    for depth in 1..=DEPTHS {
        // One account per depth: an abandoned change may land late, and must not meet the next depth's sessions.
        let jane = user(store, &format!("jane{depth}")).await;
        let kept = store
            .create(&new_session(
                &format!("k{depth}"),
                &jane.id,
                &format!("k{depth}"),
                t0(),
            ))
            .await
            .unwrap();
        let other = store
            .create(&new_session(
                &format!("o{depth}"),
                &jane.id,
                &format!("o{depth}"),
                t0(),
            ))
            .await
            .unwrap();
        let later = t0() + TimeDelta::minutes(depth as i64);
        let abandoned = PasswordHash::new(format!("$fake$abandoned{depth}"));
        abandon_after(
            depth,
            store.update_password(&jane.id, &abandoned, Some(&kept.id), later),
        )
        .await;

        let applied = PasswordHash::new(format!("$fake$applied{depth}"));
        assert!(store
            .update_password(&jane.id, &applied, Some(&kept.id), later)
            .await
            .unwrap());
        let stored = store
            .find_credentials(&UserLookup::Id(jane.id.clone()))
            .await
            .unwrap()
            .unwrap()
            .password_hash;
        // The abandoned change may land after this one; either way it is one of the two, whole.
        assert!(stored == applied || stored == abandoned, "depth {depth}");
        assert!(store.is_active(&kept.id, &jane.id, t0()).await.unwrap());
        assert!(!store.is_active(&other.id, &jane.id, t0()).await.unwrap());
    }
}

/// Abandoned `revoke`, `revoke_all` and `revoke_by_refresh_token` calls leave the store usable, and a revocation that is then awaited holds.
pub async fn cancelled_revocations_leave_the_store_usable<S: Store>(store: &S) {
    for depth in 1..=DEPTHS {
        let jane = user(store, &format!("jane{depth}")).await;
        let one = store
            .create(&new_session(
                &format!("a{depth}"),
                &jane.id,
                &format!("a{depth}"),
                t0(),
            ))
            .await
            .unwrap();
        abandon_after(depth, store.revoke(&one.id, &jane.id, t0())).await;
        store.revoke(&one.id, &jane.id, t0()).await.unwrap();
        assert!(!store.is_active(&one.id, &jane.id, t0()).await.unwrap());

        let all = store
            .create(&new_session(
                &format!("b{depth}"),
                &jane.id,
                &format!("b{depth}"),
                t0(),
            ))
            .await
            .unwrap();
        abandon_after(depth, store.revoke_all(&jane.id, t0())).await;
        store.revoke_all(&jane.id, t0()).await.unwrap();
        assert!(!store.is_active(&all.id, &jane.id, t0()).await.unwrap());

        let by_token = store
            .create(&new_session(
                &format!("c{depth}"),
                &jane.id,
                &format!("c{depth}"),
                t0(),
            ))
            .await
            .unwrap();
        let token = TokenHash::of(&format!("c{depth}"));
        abandon_after(depth, store.revoke_by_refresh_token(&token, t0())).await;
        store.revoke_by_refresh_token(&token, t0()).await.unwrap();
        assert!(!store.is_active(&by_token.id, &jane.id, t0()).await.unwrap());
    }
}

/// An abandoned `issue_verification` stores the challenge and its email together or neither; an abandoned
/// `verify_by_link` verifies or not; an abandoned `claim` leaves the email claimable again once its lease ends.
pub async fn cancelled_challenge_and_outbox_calls_are_all_or_nothing<S: Store>(store: &S) {
    let lease = TimeDelta::minutes(5);
    for depth in 1..=DEPTHS {
        let jane = user(store, &format!("mail{depth}")).await;
        let account = UserLookup::Id(jane.id.clone());
        let link = format!("link{depth}");
        let challenge = verification(&link, "123456", t0());
        abandon_after(depth, store.issue_verification(&account, &challenge, TimeDelta::zero())).await;
        // Checked in this order so that the check holds whether or not the abandoned work has landed yet: a
        // challenge found now was stored, so its email (same transaction) is visible to the claim after it.
        let verified = store.verify_by_link(&TokenHash::of(&link), t0()).await.unwrap();
        let far = t0() + TimeDelta::days(depth as i64);
        let claimed = store.claim(far, lease, 100).await.unwrap();
        if verified.is_some() {
            assert!(
                claimed.iter().any(|email| email.id == challenge.email.id),
                "depth {depth}: a stored challenge without its email"
            );
        }

        // A fresh challenge and email, whose claim is abandoned: the email comes back after the lease.
        let joe = user(store, &format!("joe{depth}")).await;
        let second = verification(&format!("second{depth}"), "654321", far);
        store
            .issue_verification(&UserLookup::Id(joe.id.clone()), &second, TimeDelta::zero())
            .await
            .unwrap();
        abandon_after(depth, store.claim(far, lease, 1)).await;
        let later = far + lease + TimeDelta::seconds(1);
        super::eventually(|| async {
            store
                .claim(later, lease, 100)
                .await
                .unwrap()
                .iter()
                .any(|email| email.id == second.email.id)
        })
        .await;
    }
}

}
