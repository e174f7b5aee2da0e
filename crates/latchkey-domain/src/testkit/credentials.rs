//! Rules of [`CredentialRepository`](crate::ports::CredentialRepository).

use super::fixtures::{new_credential, new_session, new_user, t0};
use super::{eventually, join, Store};
use chrono::TimeDelta;
use chrono::{DateTime, Utc};

use crate::model::{
    CredentialId, CredentialKind, PasswordHash, PresentedCredential, SessionId, User, UserId,
};
use crate::ports::{CredentialRotation, InsertCredentialError, RotateCredentialError};
use crate::secret::TokenHash;

const PAT: CredentialKind = CredentialKind::PersonalToken;
const KEY: CredentialKind = CredentialKind::ApiKey;
const LIMIT: usize = 50;

async fn owner<S: Store>(store: &S, id: &str) -> User {
    store
        .insert(&new_user(id, &format!("{id}@example.com"), None))
        .await
        .unwrap()
}

/// `user`'s request, at `now`, for `secret` as the new secret of `id`, asked by no session.
fn rotation(
    id: &CredentialId,
    user: &UserId,
    secret: &str,
    now: DateTime<Utc>,
) -> CredentialRotation {
    CredentialRotation {
        id: id.clone(),
        user_id: user.clone(),
        secret_hash: TokenHash::of(secret),
        hint: secret.to_owned(),
        requested_by: None,
        now,
    }
}

/// The same, asked by `session`.
fn rotation_by(
    id: &CredentialId,
    user: &UserId,
    secret: &str,
    now: DateTime<Utc>,
    session: &SessionId,
) -> CredentialRotation {
    CredentialRotation {
        requested_by: Some(session.clone()),
        ..rotation(id, user, secret, now)
    }
}

rules! { $ credentials => credentials_rules;

/// A stored credential is found by its secret's hash, with its owner's account, and reads back as stored.
pub async fn insert_then_find_by_secret_with_the_owner<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let new = new_credential("k1", KEY, &jane.id, "sk_live_one", t0(), None);
    let stored = store.insert_credential(&new, LIMIT, t0()).await.unwrap();
    assert_eq!(stored, new.credential);
    let found = store
        .find_credential(&TokenHash::of("sk_live_one"))
        .await
        .unwrap()
        .expect("found by its secret");
    assert_eq!(found.credential, PresentedCredential::from(&new.credential));
    assert_eq!(found.user, jane);
    assert!(store.find_credential(&TokenHash::of("sk_live_two")).await.unwrap().is_none());
}

/// Expired credentials are still found (the caller says "expired" rather than "unknown"); revoked ones never.
pub async fn expired_credentials_are_found_revoked_ones_are_not<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let expiring = new_credential("p1", PAT, &jane.id, "lk_pat_one", t0(), Some(t0() + TimeDelta::days(1)));
    store.insert_credential(&expiring, LIMIT, t0()).await.unwrap();
    assert!(store.find_credential(&TokenHash::of("lk_pat_one")).await.unwrap().is_some());
    assert!(store
        .revoke_credential(&expiring.credential.id, &jane.id, t0())
        .await
        .unwrap());
    assert!(store.find_credential(&TokenHash::of("lk_pat_one")).await.unwrap().is_none());
    assert!(store.list_credentials(&jane.id, PAT).await.unwrap().is_empty());
    assert!(!store
        .revoke_credential(&expiring.credential.id, &jane.id, t0())
        .await
        .unwrap(), "revoked once only");
    assert!(
        matches!(
            store.rotate_credential(&rotation(&expiring.credential.id, &jane.id, "lk_pat_new", t0())).await,
            Err(RotateCredentialError::NotFound)
        ),
        "a revoked credential is not rotated"
    );
}

/// Lists hold the user's own unrevoked credentials of one kind, expired ones included, newest first.
pub async fn list_shows_own_credentials_of_the_kind_newest_first<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let bob = owner(store, "bob").await;
    let older = new_credential("k1", KEY, &jane.id, "s1", t0(), Some(t0() + TimeDelta::minutes(1)));
    let newer = new_credential("k2", KEY, &jane.id, "s2", t0() + TimeDelta::minutes(5), None);
    let token = new_credential("p1", PAT, &jane.id, "s3", t0(), Some(t0() + TimeDelta::days(1)));
    let bobs = new_credential("k3", KEY, &bob.id, "s4", t0(), None);
    for new in [&older, &newer, &token, &bobs] {
        store.insert_credential(new, LIMIT, t0()).await.unwrap();
    }
    assert_eq!(
        store.list_credentials(&jane.id, KEY).await.unwrap(),
        vec![newer.credential.clone(), older.credential.clone()]
    );
    assert_eq!(store.list_credentials(&jane.id, PAT).await.unwrap(), vec![token.credential]);
    assert_eq!(store.list_credentials(&bob.id, KEY).await.unwrap(), vec![bobs.credential]);
}

/// The limit counts the user's live credentials of the kind: revoked and expired ones, other kinds and other
/// users' do not count; past it nothing is written.
pub async fn the_limit_counts_only_live_credentials_of_the_kind<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let bob = owner(store, "bob").await;
    let now = t0() + TimeDelta::hours(1);
    let live = new_credential("k1", KEY, &jane.id, "s1", t0(), None);
    let expired = new_credential("k2", KEY, &jane.id, "s2", t0(), Some(t0() + TimeDelta::minutes(1)));
    let revoked = new_credential("k3", KEY, &jane.id, "s3", t0(), None);
    let token = new_credential("p1", PAT, &jane.id, "s4", t0(), Some(t0() + TimeDelta::days(1)));
    let bobs = new_credential("k4", KEY, &bob.id, "s5", t0(), None);
    for new in [&live, &expired, &revoked, &token, &bobs] {
        store.insert_credential(new, LIMIT, t0()).await.unwrap();
    }
    store.revoke_credential(&revoked.credential.id, &jane.id, t0()).await.unwrap();

    let second = new_credential("k5", KEY, &jane.id, "s6", now, None);
    store.insert_credential(&second, 2, now).await.unwrap();
    let third = new_credential("k6", KEY, &jane.id, "s7", now, None);
    assert!(matches!(
        store.insert_credential(&third, 2, now).await,
        Err(InsertCredentialError::LimitReached)
    ));
    assert!(store.find_credential(&TokenHash::of("s7")).await.unwrap().is_none(), "nothing written");
}

/// Two creations racing for the last place under the limit: exactly one succeeds.
pub async fn concurrent_creations_do_not_pass_the_limit<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    for round in 0..5 {
        let a = new_credential(&format!("a{round}"), KEY, &jane.id, &format!("a{round}"), t0(), None);
        let b = new_credential(&format!("b{round}"), KEY, &jane.id, &format!("b{round}"), t0(), None);
        let limit = round + 1;
        let (first, second) = join(
            store.insert_credential(&a, limit, t0()),
            store.insert_credential(&b, limit, t0()),
        )
        .await;
        let successes = [first.is_ok(), second.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(successes, 1, "round {round}: {first:?} {second:?}");
    }
    assert_eq!(store.list_credentials(&jane.id, KEY).await.unwrap().len(), 5);
}

/// Rotation swaps the secret at once and keeps everything else; only the owner rotates.
pub async fn rotation_replaces_the_secret_and_keeps_the_rest<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let bob = owner(store, "bob").await;
    let new = new_credential("p1", PAT, &jane.id, "lk_pat_old", t0(), Some(t0() + TimeDelta::days(30)));
    store.insert_credential(&new, LIMIT, t0()).await.unwrap();
    assert!(
        matches!(
            store.rotate_credential(&rotation(&new.credential.id, &bob.id, "lk_pat_bob", t0())).await,
            Err(RotateCredentialError::NotFound)
        ),
        "another user's credential"
    );
    let rotated = store.rotate_credential(&rotation(&new.credential.id, &jane.id, "lk_pat_new", t0())).await.unwrap();
    assert_eq!(rotated.hint, "lk_pat_new");
    assert_eq!(
        (&rotated.id, &rotated.name, rotated.scopes, rotated.created_at, rotated.expires_at),
        (
            &new.credential.id,
            &new.credential.name,
            new.credential.scopes,
            new.credential.created_at,
            new.credential.expires_at
        )
    );
    assert!(store.find_credential(&TokenHash::of("lk_pat_old")).await.unwrap().is_none());
    let found = store.find_credential(&TokenHash::of("lk_pat_new")).await.unwrap().unwrap();
    assert_eq!(found.credential, PresentedCredential::from(&rotated));
}

/// A use of the old secret racing its rotation sees the credential before or not at all; once the rotation is
/// done, only the new secret works.
pub async fn rotation_racing_a_use_of_the_old_secret<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    for round in 0..10 {
        let old = format!("old{round}");
        let fresh = format!("new{round}");
        let new = new_credential(&format!("k{round}"), KEY, &jane.id, &old, t0(), None);
        store.insert_credential(&new, LIMIT, t0()).await.unwrap();
        let (used, rotated) = join(
            store.find_credential(&TokenHash::of(&old)),
            store.rotate_credential(&rotation(&new.credential.id, &jane.id, &fresh, t0())),
        )
        .await;
        if let Some(found) = used.unwrap() {
            assert_eq!(found.credential.id, new.credential.id);
        }
        rotated.unwrap();
        assert!(store.find_credential(&TokenHash::of(&old)).await.unwrap().is_none());
        assert!(store.find_credential(&TokenHash::of(&fresh)).await.unwrap().is_some());
    }
}

/// Revoking needs the owner; revoking every credential of a user ends exactly theirs.
pub async fn revocation_is_the_owners_and_revoke_all_is_per_user<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let bob = owner(store, "bob").await;
    let key = new_credential("k1", KEY, &jane.id, "s1", t0(), None);
    let token = new_credential("p1", PAT, &jane.id, "s2", t0(), Some(t0() + TimeDelta::days(1)));
    let bobs = new_credential("k2", KEY, &bob.id, "s3", t0(), None);
    for new in [&key, &token, &bobs] {
        store.insert_credential(new, LIMIT, t0()).await.unwrap();
    }
    assert!(!store.revoke_credential(&key.credential.id, &bob.id, t0()).await.unwrap());
    assert!(store.find_credential(&TokenHash::of("s1")).await.unwrap().is_some());
    assert_eq!(store.revoke_all_credentials(&jane.id, t0()).await.unwrap(), 2);
    for secret in ["s1", "s2"] {
        assert!(store.find_credential(&TokenHash::of(secret)).await.unwrap().is_none());
    }
    assert!(store.find_credential(&TokenHash::of("s3")).await.unwrap().is_some());
    assert_eq!(store.revoke_all_credentials(&jane.id, t0()).await.unwrap(), 0);
}

/// A recorded use shows as `last_used_at` (perhaps a moment later: stores may write after answering); a use within
/// the precision of the recorded one changes nothing, a later one moves it.
pub async fn recorded_uses_keep_the_given_precision<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let new = new_credential("k1", KEY, &jane.id, "s1", t0(), None);
    store.insert_credential(&new, LIMIT, t0()).await.unwrap();
    let id = &new.credential.id;
    let last_used = || async {
        store.find_credential(&TokenHash::of("s1")).await.unwrap().unwrap().credential.last_used_at
    };
    let minute = TimeDelta::minutes(1);
    let first = t0() + TimeDelta::seconds(5);
    store.record_credential_use(id, first, minute).await.unwrap();
    eventually(|| async { last_used().await == Some(first) }).await;
    store.record_credential_use(id, first + TimeDelta::seconds(30), minute).await.unwrap();
    // Just over a minute after `first` but under a minute after `first + 30 s`: it lands only if the use at 30 s
    // was (rightly) not recorded, so a store ignoring the precision fails here.
    let later = first + TimeDelta::seconds(61);
    store.record_credential_use(id, later, minute).await.unwrap();
    eventually(|| async { last_used().await == Some(later) }).await;
    let listed = store.list_credentials(&jane.id, KEY).await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(later));
}

/// A credential asked for by a session is stored only while that session is active: one revoked in the meantime
/// (by a reset, a disable, a logout) or expired gets nothing stored.
pub async fn a_credential_asked_for_by_an_ended_session_is_not_stored<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let asking = store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    let mut new = new_credential("k1", KEY, &jane.id, "sk_live_one", t0(), None);
    new.requested_by = Some(asking.id.clone());
    assert!(store.insert_credential(&new, LIMIT, t0()).await.is_ok(), "an active session may");

    assert!(store.update_password(&jane.id, &PasswordHash::new("$fake$reset".into()), None, t0()).await.unwrap());
    let mut late = new_credential("k2", KEY, &jane.id, "sk_live_two", t0(), None);
    late.requested_by = Some(asking.id.clone());
    assert!(matches!(
        store.insert_credential(&late, LIMIT, t0()).await,
        Err(InsertCredentialError::SessionEnded)
    ));
    let expiring = store.create(&new_session("s2", &jane.id, "tok-2", t0())).await.unwrap();
    late.requested_by = Some(expiring.id.clone());
    assert!(matches!(
        store.insert_credential(&late, LIMIT, t0() + TimeDelta::days(31)).await,
        Err(InsertCredentialError::SessionEnded)
    ));
    assert!(store.find_credential(&TokenHash::of("sk_live_two")).await.unwrap().is_none());
    assert_eq!(store.list_credentials(&jane.id, KEY).await.unwrap(), vec![new.credential]);

    // An account deleted meanwhile took the session with it.
    let bob = owner(store, "bob").await;
    let bobs = store.create(&new_session("s3", &bob.id, "tok-3", t0())).await.unwrap();
    assert!(store.delete_user(&bob.id, None, t0()).await.unwrap());
    let mut orphan = new_credential("k3", KEY, &bob.id, "sk_live_three", t0(), None);
    orphan.requested_by = Some(bobs.id.clone());
    assert!(matches!(
        store.insert_credential(&orphan, LIMIT, t0()).await,
        Err(InsertCredentialError::SessionEnded)
    ));
}


/// An expired credential keeps its secret: a new one would be refused at once, so rotating it is refused instead.
pub async fn an_expired_credential_is_not_rotated<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let expiry = t0() + TimeDelta::days(1);
    let new = new_credential("p1", PAT, &jane.id, "lk_pat_old", t0(), Some(expiry));
    store.insert_credential(&new, LIMIT, t0()).await.unwrap();
    assert!(matches!(
        store.rotate_credential(&rotation(&new.credential.id, &jane.id, "lk_pat_new", expiry)).await,
        Err(RotateCredentialError::NotFound)
    ));
    assert!(store.find_credential(&TokenHash::of("lk_pat_old")).await.unwrap().is_some());
    assert!(store.find_credential(&TokenHash::of("lk_pat_new")).await.unwrap().is_none());
    let just_before = expiry - TimeDelta::seconds(1);
    store.rotate_credential(&rotation(&new.credential.id, &jane.id, "lk_pat_new", just_before)).await.unwrap();
}

/// A rotation asked for by a session happens only while that session is active, as a creation does: one ended in
/// the meantime (a password change or reset, a logout) or expired gets no new secret, and the old one stays.
pub async fn a_rotation_asked_for_by_an_ended_session_is_not_stored<S: Store>(store: &S) {
    let jane = owner(store, "jane").await;
    let new = new_credential("k1", KEY, &jane.id, "sk_live_one", t0(), None);
    store.insert_credential(&new, LIMIT, t0()).await.unwrap();
    let id = &new.credential.id;
    let asking = store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    store.rotate_credential(&rotation_by(id, &jane.id, "sk_live_two", t0(), &asking.id)).await.expect("an active session may");

    assert!(store.update_password(&jane.id, &PasswordHash::new("$fake$new".into()), None, t0()).await.unwrap());
    assert!(matches!(
        store.rotate_credential(&rotation_by(id, &jane.id, "sk_live_three", t0(), &asking.id)).await,
        Err(RotateCredentialError::SessionEnded)
    ));
    let expiring = store.create(&new_session("s2", &jane.id, "tok-2", t0())).await.unwrap();
    assert!(matches!(
        store.rotate_credential(&rotation_by(id, &jane.id, "sk_live_three", t0() + TimeDelta::days(31), &expiring.id)).await,
        Err(RotateCredentialError::SessionEnded)
    ));
    assert!(store.find_credential(&TokenHash::of("sk_live_three")).await.unwrap().is_none());
    assert!(store.find_credential(&TokenHash::of("sk_live_two")).await.unwrap().is_some());
}

}
