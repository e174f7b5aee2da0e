//! Rules of [`UserRepository`](crate::ports::UserRepository).

use chrono::TimeDelta;

use super::fixtures::{new_session, new_user, t0};
use super::Store;
use crate::model::{Email, PasswordHash, Username};
use crate::ports::{InsertUserError, UserLookup};

rules! { $ users => users_rules;

/// An inserted user reads back identically by id, email (any case) and username (any case).
pub async fn insert_then_find_by_id_email_and_username<S: Store>(store: &S) {
    let new = new_user("a1", "Jane.Doe@Example.com", Some("Jane_D"));
    let user = store.insert(&new).await.unwrap();
    assert_eq!(user.id, new.id);
    assert_eq!(
        user.email.as_str(),
        "Jane.Doe@Example.com",
        "the spelling typed is kept"
    );
    assert_eq!(user.username.as_ref().map(Username::as_str), Some("Jane_D"));
    assert_eq!(user.name.as_ref().map(|n| n.as_str()), Some("Jane Doe"));
    assert_eq!(user.credits, 1000);
    assert!(!user.is_verified);
    assert!(user.metadata.is_empty());
    assert_eq!(user.created_at, t0());
    assert_eq!(user.updated_at, t0());

    assert_eq!(store.find(&new.id).await.unwrap(), Some(user.clone()));
    let by_email = store
        .find_credentials(&UserLookup::Email(
            Email::parse("jane.doe@EXAMPLE.com").unwrap(),
        ))
        .await
        .unwrap()
        .expect("found by email in another case");
    assert_eq!(by_email.user, user);
    assert_eq!(by_email.password_hash, new.password_hash);
    let by_username = store
        .find_credentials(&UserLookup::Username(Username::parse("jane_d").unwrap()))
        .await
        .unwrap()
        .expect("found by username in another case");
    assert_eq!(by_username.user, user);
    let by_id = store
        .find_credentials(&UserLookup::Id(new.id.clone()))
        .await
        .unwrap()
        .expect("found by id");
    assert_eq!(by_id.user, user);
}

/// A second account with the same email in another case is `EmailTaken`, and nothing is written.
pub async fn email_is_unique_case_insensitively<S: Store>(store: &S) {
    store
        .insert(&new_user("a1", "jane@example.com", Some("jane")))
        .await
        .unwrap();
    let duplicate = new_user("a2", "JANE@example.com", Some("other"));
    assert!(matches!(
        store.insert(&duplicate).await,
        Err(InsertUserError::EmailTaken)
    ));
    assert_eq!(store.find(&duplicate.id).await.unwrap(), None);
    // The username of the refused insert stays free.
    store
        .insert(&new_user("a3", "other@example.com", Some("other")))
        .await
        .unwrap();
}

/// A second account with the same username in another case is `UsernameTaken`, and nothing is written.
pub async fn username_is_unique_case_insensitively<S: Store>(store: &S) {
    store
        .insert(&new_user("a1", "jane@example.com", Some("Jane")))
        .await
        .unwrap();
    let duplicate = new_user("a2", "other@example.com", Some("JANE"));
    assert!(matches!(
        store.insert(&duplicate).await,
        Err(InsertUserError::UsernameTaken)
    ));
    assert_eq!(store.find(&duplicate.id).await.unwrap(), None);
    store
        .insert(&new_user("a3", "other@example.com", None))
        .await
        .unwrap();
}

/// Any number of accounts may have no username.
pub async fn users_without_username_do_not_collide<S: Store>(store: &S) {
    store
        .insert(&new_user("a1", "one@example.com", None))
        .await
        .unwrap();
    store
        .insert(&new_user("a2", "two@example.com", None))
        .await
        .unwrap();
}

/// Unknown ids, emails and usernames are `None`, not errors.
pub async fn unknown_users_are_none<S: Store>(store: &S) {
    let ghost = new_user("zz", "ghost@example.com", Some("ghost"));
    assert_eq!(store.find(&ghost.id).await.unwrap(), None);
    for lookup in [
        UserLookup::Id(ghost.id.clone()),
        UserLookup::Email(ghost.email.clone()),
        UserLookup::Username(Username::parse("ghost").unwrap()),
    ] {
        assert!(store.find_credentials(&lookup).await.unwrap().is_none());
    }
}

/// Emails are unique and found under [`Email::key`]: NFC and NFD spellings and an internationalised domain in
/// Unicode or ASCII form are one account, while look-alikes that are other mailboxes (full-width letters, a dotless
/// `ı`, a non-ASCII capital) are other accounts, each found only by itself. The store must compare the key as
/// stored, byte for byte (no collation or case folding of its own).
pub async fn email_keys_keep_look_alike_mailboxes_apart<S: Store>(store: &S) {
    let jose = store
        .insert(&new_user("a1", "Jos\u{E9}@B\u{FC}cher.example", None))
        .await
        .unwrap();
    for same in [
        "jose\u{301}@bu\u{308}cher.example",
        "JOS\u{E9}@xn--bcher-kva.example",
        "jos\u{E9}@XN--BCHER-KVA.EXAMPLE",
    ] {
        let found = store
            .find_credentials(&UserLookup::Email(Email::parse(same).unwrap()))
            .await
            .unwrap();
        assert_eq!(found.map(|c| c.user.id), Some(jose.id.clone()), "{same:?}");
        assert!(matches!(
            store.insert(&new_user("a9", same, None)).await,
            Err(InsertUserError::EmailTaken)
        ));
    }

    let kate = store
        .insert(&new_user("b1", "kate@example.com", None))
        .await
        .unwrap();
    let others = [
        ("b2", "\u{FF4B}ate@example.com"),
        ("b3", "k\u{131}te@example.com"),
        ("b4", "kite@example.com"),
        ("b5", "K\u{130}TE@example.com"),
        ("b6", "\u{C9}mile@example.com"),
        ("b7", "\u{E9}mile@example.com"),
    ];
    let mut ids = vec![kate.id.clone()];
    for (id, address) in others {
        let user = store.insert(&new_user(id, address, None)).await;
        ids.push(
            user.unwrap_or_else(|e| panic!("{address:?} is its own account: {e:?}"))
                .id,
        );
    }
    for (expected, address) in ids.iter().zip(
        ["KATE@Example.com"]
            .into_iter()
            .chain(others.iter().map(|(_, address)| *address)),
    ) {
        let found = store
            .find_credentials(&UserLookup::Email(Email::parse(address).unwrap()))
            .await
            .unwrap();
        assert_eq!(found.map(|c| c.user.id).as_ref(), Some(expected), "{address:?}");
    }
}

/// A password update replaces the hash, bumps `updated_at` and revokes every session but the one kept.
pub async fn update_password_revokes_other_sessions<S: Store>(store: &S) {
    let user = store
        .insert(&new_user("a1", "jane@example.com", None))
        .await
        .unwrap();
    let other_user = store
        .insert(&new_user("b1", "bob@example.com", None))
        .await
        .unwrap();
    let kept = store
        .create(&new_session("s1", &user.id, "tok-1", t0()))
        .await
        .unwrap();
    let dropped = store
        .create(&new_session("s2", &user.id, "tok-2", t0()))
        .await
        .unwrap();
    let bystander = store
        .create(&new_session("s3", &other_user.id, "tok-3", t0()))
        .await
        .unwrap();

    let later = t0() + TimeDelta::minutes(5);
    let new_hash = PasswordHash::new("$fake$new".into());
    assert!(store
        .update_password(&user.id, &new_hash, Some(&kept.id), later)
        .await
        .unwrap());

    let credentials = store
        .find_credentials(&UserLookup::Id(user.id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.password_hash, new_hash);
    assert_eq!(credentials.user.updated_at, later);
    assert!(store.is_active(&kept.id, &user.id, t0()).await.unwrap());
    assert!(!store.is_active(&dropped.id, &user.id, t0()).await.unwrap());
    assert!(store
        .is_active(&bystander.id, &other_user.id, t0())
        .await
        .unwrap());

    // Without a session to keep, every session goes.
    assert!(store
        .update_password(&user.id, &new_hash, None, later)
        .await
        .unwrap());
    assert!(!store.is_active(&kept.id, &user.id, t0()).await.unwrap());
}

/// A change a session asked for is written only while that session is active: once a reset (or anything else) has
/// revoked it, or it has expired, `update_password` keeping it writes nothing, so the reset's password stands.
pub async fn a_password_change_by_an_ended_session_writes_nothing<S: Store>(store: &S) {
    let user = store.insert(&new_user("a1", "jane@example.com", None)).await.unwrap();
    let asking = store.create(&new_session("s1", &user.id, "tok-1", t0())).await.unwrap();
    let later = t0() + TimeDelta::minutes(5);
    let reset = PasswordHash::new("$fake$reset".into());
    assert!(store.update_password(&user.id, &reset, None, later).await.unwrap());
    let after_reset = store.create(&new_session("s2", &user.id, "tok-2", later)).await.unwrap();

    let stale = PasswordHash::new("$fake$stale".into());
    assert!(!store.update_password(&user.id, &stale, Some(&asking.id), later).await.unwrap());
    let credentials = store.find_credentials(&UserLookup::Id(user.id.clone())).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, reset, "the reset's password stands");
    assert_eq!(credentials.user.updated_at, later);
    assert!(store.is_active(&after_reset.id, &user.id, later).await.unwrap(), "no session revoked");

    // Expired, unknown, or another account's: the same.
    let expired = later + TimeDelta::days(31);
    assert!(!store.update_password(&user.id, &stale, Some(&after_reset.id), expired).await.unwrap());
    let bob = store.insert(&new_user("b1", "bob@example.com", None)).await.unwrap();
    let bobs = store.create(&new_session("s3", &bob.id, "tok-3", later)).await.unwrap();
    assert!(!store.update_password(&user.id, &stale, Some(&bobs.id), later).await.unwrap());
    let credentials = store.find_credentials(&UserLookup::Id(user.id.clone())).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, reset);
    assert!(store.is_active(&after_reset.id, &user.id, later).await.unwrap());
}

/// `rehash_password` replaces the hash only while it is still the one given (a compare-and-set), leaving sessions
/// and `updated_at` alone; once a password change has landed, an upgrade of the hash verified before it changes
/// nothing.
pub async fn rehash_password_is_a_compare_and_set<S: Store>(store: &S) {
    let user = store
        .insert(&new_user("a1", "jane@example.com", None))
        .await
        .unwrap();
    let session = store
        .create(&new_session("s1", &user.id, "tok-1", t0()))
        .await
        .unwrap();
    let lookup = UserLookup::Id(user.id.clone());
    let original = PasswordHash::new("$fake$a1".into());
    let upgraded = PasswordHash::new("$fake$a1-upgraded".into());
    assert!(store
        .rehash_password(&user.id, &original, &upgraded)
        .await
        .unwrap());
    let stored = store.find_credentials(&lookup).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, upgraded);
    assert_eq!(stored.user.updated_at, user.updated_at);
    assert!(store.is_active(&session.id, &user.id, t0()).await.unwrap());

    let changed = PasswordHash::new("$fake$changed".into());
    assert!(store
        .update_password(&user.id, &changed, None, t0())
        .await
        .unwrap());
    let late = PasswordHash::new("$fake$late-upgrade".into());
    assert!(!store
        .rehash_password(&user.id, &upgraded, &late)
        .await
        .unwrap());
    let stored = store.find_credentials(&lookup).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, changed);

    let ghost = new_user("zz", "ghost@example.com", None);
    assert!(!store
        .rehash_password(&ghost.id, &original, &upgraded)
        .await
        .unwrap());
}

/// Updating the password of an unknown user reports `false`.
pub async fn update_password_of_unknown_user_is_false<S: Store>(store: &S) {
    let ghost = new_user("zz", "ghost@example.com", None);
    let hash = PasswordHash::new("$fake$x".into());
    assert!(!store
        .update_password(&ghost.id, &hash, None, t0())
        .await
        .unwrap());
}

/// When both the email and the username are taken, the email is reported (a user can only fix one at a time, and
/// the email is the account's identity).
pub async fn email_conflict_is_reported_before_username_conflict<S: Store>(store: &S) {
    store
        .insert(&new_user("a1", "jane@example.com", Some("jane")))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert(&new_user("a2", "Jane@Example.com", Some("JANE")))
            .await,
        Err(InsertUserError::EmailTaken)
    ));
}

/// Of two concurrent registrations of one email (in different cases), exactly one succeeds: uniqueness is not a
/// read-then-write race.
pub async fn concurrent_registrations_of_one_email_admit_one<S: Store>(store: &S) {
    let first = new_user("a1", "race@example.com", None);
    let second = new_user("a2", "RACE@example.com", None);
    let (one, two) = super::join(store.insert(&first), store.insert(&second)).await;
    let admitted = [one.is_ok(), two.is_ok()];
    assert_eq!(
        admitted.iter().filter(|ok| **ok).count(),
        1,
        "exactly one registration wins"
    );
    for outcome in [one, two] {
        assert!(matches!(outcome, Ok(_) | Err(InsertUserError::EmailTaken)));
    }
    let found = store
        .find_credentials(&UserLookup::Email(first.email.clone()))
        .await
        .unwrap()
        .expect("the winner is stored");
    assert!(found.user.id == first.id || found.user.id == second.id);
}

/// `find_by_active_session` returns the account only for its own, unrevoked session.
pub async fn find_by_active_session_sees_only_live_own_sessions<S: Store>(store: &S) {
    let jane = store
        .insert(&new_user("a1", "jane@example.com", None))
        .await
        .unwrap();
    let bob = store
        .insert(&new_user("b1", "bob@example.com", None))
        .await
        .unwrap();
    let session = store
        .create(&new_session("s1", &jane.id, "tok-1", t0()))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_by_active_session(&session.id, &jane.id, t0())
            .await
            .unwrap(),
        Some(jane.clone())
    );
    assert_eq!(
        store
            .find_by_active_session(&session.id, &bob.id, t0())
            .await
            .unwrap(),
        None
    );
    let unknown = new_session("nope", &jane.id, "tok-x", t0()).id;
    assert_eq!(
        store
            .find_by_active_session(&unknown, &jane.id, t0())
            .await
            .unwrap(),
        None
    );
    store.revoke(&session.id, &jane.id, t0()).await.unwrap();
    assert_eq!(
        store
            .find_by_active_session(&session.id, &jane.id, t0())
            .await
            .unwrap(),
        None
    );
}

}
