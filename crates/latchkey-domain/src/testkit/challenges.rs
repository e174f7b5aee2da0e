//! Rules of [`ChallengeRepository`](crate::ports::ChallengeRepository).

use chrono::TimeDelta;

use super::fixtures::{new_credential, new_session, new_user, reset, t0, verification};
use super::Store;
use crate::model::{CredentialKind, Email, PasswordHash, User};
use crate::ports::{CodeCheck, IssueOutcome, UserLookup};
use crate::secret::TokenHash;

const MINUTE: TimeDelta = TimeDelta::minutes(1);

async fn jane<S: Store>(store: &S) -> User {
    store
        .insert(&new_user("jane", "Jane@Example.com", None))
        .await
        .unwrap()
}

fn by_email(address: &str) -> UserLookup {
    UserLookup::Email(Email::parse(address).unwrap())
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

async fn verified<S: Store>(store: &S, user: &User) -> bool {
    store.find(&user.id).await.unwrap().unwrap().is_verified
}

rules! { $ challenges => challenge_rules;

/// A verification challenge is stored with its email, addressed to the account's address as stored, whichever way
/// the account was named.
pub async fn issuing_a_verification_queues_its_email_to_the_account<S: Store>(store: &S) {
    let user = jane(store).await;
    let challenge = verification("link-1", "111111", t0());
    let outcome = store
        .issue_verification(&by_email("jane@EXAMPLE.com"), &challenge, MINUTE)
        .await
        .unwrap();
    assert_eq!(outcome, IssueOutcome::Issued);
    let claimed = store.claim(t0(), TimeDelta::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, challenge.email.id);
    assert_eq!(claimed[0].to, "Jane@Example.com");
    assert_eq!(claimed[0].content, challenge.email.content);
    assert_eq!(claimed[0].attempt, 1);
    assert!(!verified(store, &user).await);
}

/// Unknown accounts get nothing; verified accounts get nothing; and nothing is queued for either.
pub async fn unknown_and_verified_accounts_get_no_challenge<S: Store>(store: &S) {
    let user = jane(store).await;
    let unknown = verification("nobody", "000000", t0());
    assert_eq!(
        store
            .issue_verification(&by_email("nobody@example.com"), &unknown, TimeDelta::zero())
            .await
            .unwrap(),
        IssueOutcome::NoAccount
    );
    let first = verification("link-1", "111111", t0());
    store
        .issue_verification(&UserLookup::Id(user.id.clone()), &first, TimeDelta::zero())
        .await
        .unwrap();
    assert!(store.verify_by_link(&TokenHash::of("link-1"), t0()).await.unwrap().is_some());
    let again = verification("link-2", "222222", t0() + TimeDelta::hours(1));
    assert_eq!(
        store
            .issue_verification(&UserLookup::Id(user.id.clone()), &again, TimeDelta::zero())
            .await
            .unwrap(),
        IssueOutcome::AlreadyVerified
    );
    let claimed = store.claim(t0() + TimeDelta::hours(2), TimeDelta::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the first challenge's email");
    assert_eq!(claimed[0].id, first.email.id);
}

/// Within the minimum interval a new challenge is refused (and queues nothing); after it, the new challenge
/// replaces the old one, whose link and code stop working.
pub async fn a_new_challenge_voids_the_old_one_but_not_too_soon<S: Store>(store: &S) {
    let user = jane(store).await;
    let account = UserLookup::Id(user.id.clone());
    store.issue_verification(&account, &verification("old", "111111", t0()), MINUTE).await.unwrap();
    let soon = t0() + TimeDelta::seconds(59);
    assert_eq!(
        store.issue_verification(&account, &verification("soon", "222222", soon), MINUTE).await.unwrap(),
        IssueOutcome::Throttled
    );
    let later = t0() + MINUTE;
    assert_eq!(
        store.issue_verification(&account, &verification("new", "333333", later), MINUTE).await.unwrap(),
        IssueOutcome::Issued
    );
    assert_eq!(store.verify_by_link(&TokenHash::of("soon"), later).await.unwrap(), None);
    assert_eq!(store.verify_by_link(&TokenHash::of("old"), later).await.unwrap(), None);
    assert_eq!(
        store.verify_by_code(&user.email, &TokenHash::of("111111"), later, 5).await.unwrap(),
        CodeCheck::Wrong,
        "the old code is just a wrong code now"
    );
    assert_eq!(
        store.verify_by_code(&user.email, &TokenHash::of("333333"), later, 5).await.unwrap(),
        CodeCheck::Verified(user.id.clone())
    );
    let claimed = store.claim(later, TimeDelta::minutes(5), 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "the throttled request queued nothing");
}

/// A link verifies once, before it expires, and spends the code with it.
pub async fn a_link_verifies_once_until_it_expires<S: Store>(store: &S) {
    let user = jane(store).await;
    let bob = store.insert(&new_user("bob", "bob@example.com", None)).await.unwrap();
    let account = UserLookup::Id(user.id.clone());
    store.issue_verification(&account, &verification("link-1", "111111", t0()), MINUTE).await.unwrap();
    store
        .issue_verification(&UserLookup::Id(bob.id.clone()), &verification("link-b", "999999", t0()), MINUTE)
        .await
        .unwrap();
    let expired = t0() + TimeDelta::hours(24);
    assert_eq!(store.verify_by_link(&TokenHash::of("link-b"), expired).await.unwrap(), None);
    assert!(!verified(store, &bob).await);

    let now = t0() + TimeDelta::hours(23);
    assert_eq!(
        store.verify_by_link(&TokenHash::of("link-1"), now).await.unwrap(),
        Some(user.id.clone())
    );
    assert!(verified(store, &user).await);
    assert!(!verified(store, &bob).await);
    assert_eq!(store.verify_by_link(&TokenHash::of("link-1"), now).await.unwrap(), None);
    assert_eq!(
        store.verify_by_code(&user.email, &TokenHash::of("111111"), t0(), 5).await.unwrap(),
        CodeCheck::Invalid,
        "the code went with the link"
    );
}

/// Wrong codes are counted in the store; after `max_attempts` of them even the right code is refused. Expired
/// codes and unknown addresses are `Invalid` and count nothing.
pub async fn wrong_codes_are_counted_until_the_code_burns<S: Store>(store: &S) {
    let user = jane(store).await;
    let account = UserLookup::Id(user.id.clone());
    store.issue_verification(&account, &verification("l1", "123456", t0()), MINUTE).await.unwrap();
    let right = TokenHash::of("123456");
    assert_eq!(
        store.verify_by_code(&email("nobody@example.com"), &right, t0(), 3).await.unwrap(),
        CodeCheck::Invalid
    );
    assert_eq!(
        store.verify_by_code(&user.email, &right, t0() + TimeDelta::minutes(15), 3).await.unwrap(),
        CodeCheck::Invalid,
        "expired"
    );
    for _ in 0..3 {
        assert_eq!(
            store.verify_by_code(&email("JANE@example.com"), &TokenHash::of("654321"), t0(), 3).await.unwrap(),
            CodeCheck::Wrong
        );
    }
    assert_eq!(store.verify_by_code(&user.email, &right, t0(), 3).await.unwrap(), CodeCheck::Invalid);
    assert!(!verified(store, &user).await);

    // A new challenge starts a new count.
    let later = t0() + MINUTE;
    store.issue_verification(&account, &verification("l2", "222222", later), MINUTE).await.unwrap();
    assert_eq!(
        store.verify_by_code(&user.email, &TokenHash::of("000000"), later, 3).await.unwrap(),
        CodeCheck::Wrong
    );
    assert_eq!(
        store.verify_by_code(&user.email, &TokenHash::of("222222"), later, 3).await.unwrap(),
        CodeCheck::Verified(user.id.clone())
    );
    assert!(verified(store, &user).await);
}

/// Two concurrent uses of one link verify once; two concurrent wrong codes are both counted.
pub async fn concurrent_uses_of_one_challenge_count_exactly<S: Store>(store: &S) {
    let user = jane(store).await;
    let account = UserLookup::Id(user.id.clone());
    store.issue_verification(&account, &verification("l1", "123456", t0()), MINUTE).await.unwrap();
    let wrong = TokenHash::of("000000");
    let (a, b) = super::join(
        store.verify_by_code(&user.email, &wrong, t0(), 2),
        store.verify_by_code(&user.email, &wrong, t0(), 2),
    )
    .await;
    assert_eq!((a.unwrap(), b.unwrap()), (CodeCheck::Wrong, CodeCheck::Wrong));
    assert_eq!(
        store.verify_by_code(&user.email, &TokenHash::of("123456"), t0(), 2).await.unwrap(),
        CodeCheck::Invalid,
        "both wrong tries were counted"
    );
    let link = TokenHash::of("l1");
    let (a, b) = super::join(store.verify_by_link(&link, t0()), store.verify_by_link(&link, t0())).await;
    let winners = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
    assert_eq!(winners, 1, "exactly one use of the link verifies");
}

/// A reset token is stored with its email for a known address only; a newer one (after the interval) voids the
/// older; one within the interval is refused and queues nothing.
pub async fn reset_tokens_are_issued_to_known_addresses_and_replace_older_ones<S: Store>(store: &S) {
    let user = jane(store).await;
    assert_eq!(
        store.issue_reset(&email("nobody@example.com"), &reset("ghost", t0()), MINUTE).await.unwrap(),
        IssueOutcome::NoAccount
    );
    assert!(store.reset_owner(&TokenHash::of("ghost"), t0()).await.unwrap().is_none());
    let first = reset("first", t0());
    assert_eq!(
        store.issue_reset(&email("JANE@example.com"), &first, MINUTE).await.unwrap(),
        IssueOutcome::Issued
    );
    assert_eq!(store.reset_owner(&TokenHash::of("first"), t0()).await.unwrap(), Some(user.id.clone()));
    assert_eq!(
        store.issue_reset(&user.email, &reset("soon", t0() + TimeDelta::seconds(30)), MINUTE).await.unwrap(),
        IssueOutcome::Throttled
    );
    let later = t0() + MINUTE;
    let second = reset("second", later);
    assert_eq!(store.issue_reset(&user.email, &second, MINUTE).await.unwrap(), IssueOutcome::Issued);
    assert!(store.reset_owner(&TokenHash::of("first"), later).await.unwrap().is_none());
    assert_eq!(store.reset_owner(&TokenHash::of("second"), later).await.unwrap(), Some(user.id.clone()));
    assert!(store.reset_owner(&TokenHash::of("second"), later + TimeDelta::minutes(15)).await.unwrap().is_none());
    let hash = PasswordHash::new("$fake$new".into());
    assert_eq!(store.reset_password(&TokenHash::of("first"), &hash, later).await.unwrap(), None);
    let claimed = store.claim(later, TimeDelta::minutes(5), 10).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, vec![first.email.id.clone(), second.email.id.clone()]);
    assert!(claimed.iter().all(|c| c.to == "Jane@Example.com"));
}

/// A reset sets the password, verifies the address, revokes every session, personal token and API key, spends the
/// verification challenge, and works once and only before it expires.
pub async fn a_reset_sets_the_password_verifies_and_revokes_everything<S: Store>(store: &S) {
    let user = jane(store).await;
    let bob = store.insert(&new_user("bob", "bob@example.com", None)).await.unwrap();
    let s1 = store.create(&new_session("s1", &user.id, "tok-1", t0())).await.unwrap();
    let s2 = store.create(&new_session("s2", &user.id, "tok-2", t0())).await.unwrap();
    let bobs = store.create(&new_session("sb", &bob.id, "tok-b", t0())).await.unwrap();
    for (id, kind, secret) in [
        ("p1", CredentialKind::PersonalToken, "jane-pat"),
        ("k1", CredentialKind::ApiKey, "jane-key"),
    ] {
        store
            .insert_credential(&new_credential(id, kind, &user.id, secret, t0(), None), 10, t0())
            .await
            .unwrap();
    }
    store
        .insert_credential(
            &new_credential("k2", CredentialKind::ApiKey, &bob.id, "bob-key", t0(), None),
            10,
            t0(),
        )
        .await
        .unwrap();
    store
        .issue_verification(&UserLookup::Id(user.id.clone()), &verification("link", "123456", t0()), MINUTE)
        .await
        .unwrap();
    store.issue_reset(&user.email, &reset("tok", t0()), MINUTE).await.unwrap();
    store.issue_reset(&bob.email, &reset("bobs", t0()), MINUTE).await.unwrap();
    let hash = PasswordHash::new("$fake$new".into());
    let expired = t0() + TimeDelta::minutes(15);
    assert_eq!(store.reset_password(&TokenHash::of("bobs"), &hash, expired).await.unwrap(), None);

    let now = t0() + TimeDelta::minutes(10);
    assert_eq!(
        store.reset_password(&TokenHash::of("tok"), &hash, now).await.unwrap(),
        Some(user.id.clone())
    );
    let credentials = store.find_credentials(&UserLookup::Id(user.id.clone())).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, hash);
    assert!(credentials.user.is_verified);
    assert_eq!(credentials.user.updated_at, now);
    assert!(!store.is_active(&s1.id, &user.id, t0()).await.unwrap());
    assert!(!store.is_active(&s2.id, &user.id, t0()).await.unwrap());
    assert!(store.is_active(&bobs.id, &bob.id, t0()).await.unwrap());
    for secret in ["jane-pat", "jane-key"] {
        assert!(store.find_credential(&TokenHash::of(secret)).await.unwrap().is_none(), "{secret}");
    }
    assert!(store.find_credential(&TokenHash::of("bob-key")).await.unwrap().is_some());
    assert_eq!(store.reset_password(&TokenHash::of("tok"), &hash, now).await.unwrap(), None);
    assert!(store.reset_owner(&TokenHash::of("tok"), now).await.unwrap().is_none());
    assert_eq!(store.verify_by_link(&TokenHash::of("link"), now).await.unwrap(), None);
    let bob_now = store.find_credentials(&UserLookup::Id(bob.id.clone())).await.unwrap().unwrap();
    assert_ne!(bob_now.password_hash, hash);
    assert!(!bob_now.user.is_verified);
}

/// Of two concurrent resets with one token, exactly one succeeds.
pub async fn concurrent_resets_with_one_token_admit_one<S: Store>(store: &S) {
    let user = jane(store).await;
    store.issue_reset(&user.email, &reset("tok", t0()), MINUTE).await.unwrap();
    let (a, b) = (PasswordHash::new("$fake$a".into()), PasswordHash::new("$fake$b".into()));
    let token = TokenHash::of("tok");
    let (one, two) = super::join(
        store.reset_password(&token, &a, t0()),
        store.reset_password(&token, &b, t0()),
    )
    .await;
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!([one.is_some(), two.is_some()].iter().filter(|won| **won).count(), 1);
    let stored = store.find_credentials(&UserLookup::Id(user.id.clone())).await.unwrap().unwrap();
    let winner = if one.is_some() { a } else { b };
    assert_eq!(stored.password_hash, winner);
}


/// `purge_challenges` deletes expired verification challenges and reset tokens issued at or before the cut-off,
/// and nothing live: a live link still verifies after a purge.
pub async fn purge_deletes_expired_challenges_issued_before_the_cutoff<S: Store>(store: &S) {
    let jane = jane(store).await;
    let bob = store
        .insert(&new_user("bob", "bob@example.com", None))
        .await
        .unwrap();
    store
        .issue_verification(&by_email("jane@example.com"), &verification("link-j", "111111", t0()), MINUTE)
        .await
        .unwrap();
    store
        .issue_verification(&by_email("bob@example.com"), &verification("link-b", "222222", t0()), MINUTE)
        .await
        .unwrap();
    store
        .issue_reset(&email("jane@example.com"), &reset("reset-j", t0()), MINUTE)
        .await
        .unwrap();

    // An hour in, the reset token (15 minutes) has expired, the links (24 hours) have not.
    let hour = t0() + TimeDelta::hours(1);
    assert_eq!(store.purge_challenges(hour, t0() - MINUTE, 1000).await.unwrap(), 0, "issued after the cut-off");
    assert_eq!(store.purge_challenges(hour, hour, 1000).await.unwrap(), 1);
    assert_eq!(store.purge_challenges(hour, hour, 1000).await.unwrap(), 0);
    assert_eq!(
        store.verify_by_link(&TokenHash::of("link-b"), hour).await.unwrap(),
        Some(bob.id.clone())
    );

    // A day later, jane's expired challenge goes too.
    let day = t0() + TimeDelta::days(1);
    assert_eq!(store.purge_challenges(day, day, 1000).await.unwrap(), 1);
    assert_eq!(store.verify_by_link(&TokenHash::of("link-j"), day).await.unwrap(), None);
    assert!(!verified(store, &jane).await);
}

}
