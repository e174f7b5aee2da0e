//! Rules of the account lifecycle: profile changes, listing, disabling and deleting accounts
//! ([`UserRepository`](crate::ports::UserRepository)), and email changes
//! ([`ChallengeRepository`](crate::ports::ChallengeRepository)).

use chrono::TimeDelta;
use serde_json::json;

use super::fixtures::{email, new_credential, new_session, new_user, t0, verification};
use super::Store;
use crate::model::{
    ClientInfo, CredentialKind, DisplayName, Email, EmailContent, EventId, EventKind, EventOutcome,
    Metadata, PasswordHash, PhoneNumber, ProfileChanges, SecurityEvent, SessionId, User, UserId,
    Username,
};
use crate::ports::{
    EmailChangeCheck, EventQuery, IssueOutcome, LimitKey, NewEmailChange, UpdateProfileError,
    UserLookup, UserQuery,
};
use crate::secret::{PlainSecret, TokenHash};

const MINUTE: TimeDelta = TimeDelta::minutes(1);

async fn user<S: Store>(store: &S, id: &str, address: &str, username: Option<&str>) -> User {
    store
        .insert(&new_user(id, address, username))
        .await
        .unwrap()
}

/// A change of `user`'s address to `new_address` asked for by `session` at `at`, with link `link` (valid 24
/// hours) and code `code` (valid 15 minutes).
fn change(new_address: &str, link: &str, code: &str, session: Option<&str>) -> NewEmailChange {
    let confirmation = EmailContent::EmailChange {
        link: PlainSecret::new(format!(
            "https://auth.example.com/verify-email?token={link}"
        )),
        code: PlainSecret::new(code),
        link_valid_for: TimeDelta::hours(24),
        code_valid_for: TimeDelta::minutes(15),
    };
    let notice = EmailContent::EmailChangeNotice {
        new_address: "n***@example.org".to_owned(),
    };
    NewEmailChange::new(
        Email::parse(new_address).unwrap(),
        (TokenHash::of(link), t0() + TimeDelta::hours(24)),
        (TokenHash::of(code), t0() + TimeDelta::minutes(15)),
        session.map(SessionId::from_random),
        t0(),
        email(&format!("c{link}"), confirmation, t0()),
        email(&format!("n{link}"), notice, t0()),
    )
}

async fn address_of<S: Store>(store: &S, user: &User) -> String {
    store
        .find(&user.id)
        .await
        .unwrap()
        .unwrap()
        .email
        .as_str()
        .to_owned()
}

rules! { $ lifecycle => lifecycle_rules;

/// A profile change sets what it names, clears what it sets to `None`, keeps the rest, and moves `updated_at`.
pub async fn profile_changes_set_clear_and_keep_fields<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", Some("jane")).await;
    let later = t0() + MINUTE;
    let metadata = Metadata::parse(json!({"skills": ["rust"], "experience_years": 5}).as_object().unwrap().clone()).unwrap();
    let changes = ProfileChanges {
        name: Some(None),
        phone: Some(Some(PhoneNumber::parse("+14155552671").unwrap())),
        metadata: Some(metadata.clone()),
        ..ProfileChanges::default()
    };
    let changed = store.update_profile(&jane.id, &changes, later).await.unwrap().unwrap();
    assert_eq!(changed.name, None);
    assert_eq!(changed.phone.as_deref(), Some("+14155552671"));
    assert_eq!(&changed.metadata, metadata.as_map());
    assert_eq!(changed.username, jane.username, "left out: kept");
    assert_eq!(changed.email, jane.email);
    assert_eq!(changed.updated_at, later);
    assert_eq!(store.find(&jane.id).await.unwrap(), Some(changed.clone()));

    let renamed = ProfileChanges {
        name: Some(Some(DisplayName::parse("Jane Roe").unwrap())),
        username: Some(Some(Username::parse("JaneR").unwrap())),
        ..ProfileChanges::default()
    };
    let changed = store.update_profile(&jane.id, &renamed, later).await.unwrap().unwrap();
    assert_eq!(changed.name.as_ref().map(DisplayName::as_str), Some("Jane Roe"));
    assert_eq!(changed.phone.as_deref(), Some("+14155552671"), "left out: kept");
    let found = store
        .find_credentials(&UserLookup::Username(Username::parse("janer").unwrap()))
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.user.id), Some(jane.id.clone()), "the new username logs in");
    assert!(store
        .find_credentials(&UserLookup::Username(Username::parse("jane").unwrap()))
        .await
        .unwrap()
        .is_none(), "the old one no longer does");
    assert!(store
        .update_profile(&UserId::from_random("nobody"), &changes, later)
        .await
        .unwrap()
        .is_none());
}

/// A username another account holds (in any case) is `UsernameTaken` and changes nothing; the account's own in
/// another case, and clearing it, are fine; a cleared username is free for others.
pub async fn profile_usernames_stay_unique<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", Some("jane")).await;
    let bob = user(store, "bob", "bob@example.com", Some("bob")).await;
    let take = |name: &str| ProfileChanges {
        username: Some(Some(Username::parse(name).unwrap())),
        name: Some(None),
        ..ProfileChanges::default()
    };
    let refused = store.update_profile(&bob.id, &take("JANE"), t0() + MINUTE).await;
    assert!(matches!(refused, Err(UpdateProfileError::UsernameTaken)), "{refused:?}");
    assert_eq!(store.find(&bob.id).await.unwrap(), Some(bob.clone()), "nothing changed");
    let recased = store.update_profile(&jane.id, &take("JANE"), t0()).await.unwrap().unwrap();
    assert_eq!(recased.username.as_ref().map(Username::as_str), Some("JANE"));
    let clear = ProfileChanges { username: Some(None), ..ProfileChanges::default() };
    assert_eq!(store.update_profile(&jane.id, &clear, t0()).await.unwrap().unwrap().username, None);
    let taken = store.update_profile(&bob.id, &take("jane"), t0()).await.unwrap().unwrap();
    assert_eq!(taken.username.as_ref().map(Username::as_str), Some("jane"));
}

/// Accounts list newest first (ties by id, descending), at most the limit, filtered by a substring or a `*`
/// pattern of the email key, with `%` and `_` taken literally.
pub async fn accounts_list_newest_first_by_email_pattern<S: Store>(store: &S) {
    for (i, (id, address)) in [
        ("a", "ann@example.com"),
        ("b", "Bob@Example.org"),
        ("c", "carl_x@example.com"),
        ("d", "dora%@example.com"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut new = new_user(id, address, None);
        new.created_at = t0() + TimeDelta::seconds(i as i64);
        store.insert(&new).await.unwrap();
    }
    let ids = |users: Vec<User>| users.into_iter().map(|u| u.id.as_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(store.list_users(&UserQuery::newest(10)).await.unwrap()), ["usr_d", "usr_c", "usr_b", "usr_a"]);
    assert_eq!(ids(store.list_users(&UserQuery::newest(2)).await.unwrap()), ["usr_d", "usr_c"]);
    let matching = |pattern: &str| UserQuery::newest(10).matching(pattern);
    assert_eq!(ids(store.list_users(&matching("EXAMPLE.ORG")).await.unwrap()), ["usr_b"]);
    assert_eq!(ids(store.list_users(&matching("*@example.com")).await.unwrap()), ["usr_d", "usr_c", "usr_a"]);
    assert_eq!(ids(store.list_users(&matching("a*")).await.unwrap()), ["usr_a"]);
    assert_eq!(ids(store.list_users(&matching("l_x")).await.unwrap()), ["usr_c"], "`_` is literal");
    assert_eq!(ids(store.list_users(&matching("a%")).await.unwrap()), ["usr_d"], "`%` is literal");
    assert!(store.list_users(&matching("nobody")).await.unwrap().is_empty());
}

/// Disabling revokes every session and credential of the account (and only its own) and refuses new sessions;
/// enabling lets it log in again, without bringing back what was revoked. Disabling twice keeps the first time.
pub async fn disabling_ends_everything_and_enabling_restores_only_login<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    let bob = user(store, "bob", "bob@example.com", None).await;
    let session = store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    let bobs = store.create(&new_session("sb", &bob.id, "tok-b", t0())).await.unwrap();
    for (id, kind, secret) in [("p1", CredentialKind::PersonalToken, "jane-pat"), ("k1", CredentialKind::ApiKey, "jane-key")] {
        store.insert_credential(&new_credential(id, kind, &jane.id, secret, t0(), None), 10, t0()).await.unwrap();
    }
    store
        .insert_credential(&new_credential("k2", CredentialKind::ApiKey, &bob.id, "bob-key", t0(), None), 10, t0())
        .await
        .unwrap();

    let at = t0() + MINUTE;
    let disabled = store.set_disabled(&jane.id, Some("abuse report 42"), at).await.unwrap().unwrap();
    assert_eq!(disabled.disabled_at, Some(at));
    assert_eq!(disabled.disabled_reason.as_deref(), Some("abuse report 42"));
    assert!(!store.is_active(&session.id, &jane.id, at).await.unwrap());
    assert!(store.find_credential(&TokenHash::of("jane-pat")).await.unwrap().is_none());
    assert!(store.find_credential(&TokenHash::of("jane-key")).await.unwrap().is_none());
    assert!(store.is_active(&bobs.id, &bob.id, at).await.unwrap(), "other accounts keep theirs");
    assert!(store.find_credential(&TokenHash::of("bob-key")).await.unwrap().is_some());
    let mut login = new_session("s2", &jane.id, "tok-2", at);
    login.verified_password = Some(PasswordHash::new("$fake$jane".into()));
    assert!(store.create(&login).await.is_err(), "a disabled account gets no session");

    let again = store.set_disabled(&jane.id, Some("still"), at + MINUTE).await.unwrap().unwrap();
    assert_eq!(again.disabled_at, Some(at), "the first time is kept");
    assert_eq!(again.disabled_reason.as_deref(), Some("still"));

    let enabled = store.set_disabled(&jane.id, None, at + MINUTE).await.unwrap().unwrap();
    assert_eq!((enabled.disabled_at, enabled.disabled_reason), (None, None));
    assert!(!store.is_active(&session.id, &jane.id, at).await.unwrap(), "revoked stays revoked");
    assert!(store.find_credential(&TokenHash::of("jane-key")).await.unwrap().is_none());
    store.create(&login).await.unwrap();
    assert!(store.set_disabled(&UserId::from_random("nobody"), Some("x"), at).await.unwrap().is_none());
}

/// Deleting an account removes it and what identifies its owner: sessions, credentials, challenges, known
/// addresses, emails queued to it; its events stay without the account, address or user agent. Its address and
/// username are free again. Other accounts keep everything.
pub async fn deleting_an_account_erases_its_owner<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", Some("jane")).await;
    let bob = user(store, "bob", "bob@example.com", None).await;
    let session = store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    store
        .insert_credential(&new_credential("k1", CredentialKind::ApiKey, &jane.id, "jane-key", t0(), None), 10, t0())
        .await
        .unwrap();
    store
        .issue_verification(&UserLookup::Id(jane.id.clone()), &verification("link", "111111", t0()), MINUTE)
        .await
        .unwrap();
    store.issue_verification(&UserLookup::Id(bob.id.clone()), &verification("bobs", "222222", t0()), MINUTE).await.unwrap();
    store.issue_email_change(&jane.id, &change("new@example.org", "chg", "333333", None)).await.unwrap();
    let address = LimitKey::new("login-address", "192.0.2.1");
    store.remember_address(&jane.id, &address, t0()).await.unwrap();
    let event = SecurityEvent {
        id: EventId::from_random("e1"),
        user_id: Some(jane.id.clone()),
        kind: EventKind::Login,
        outcome: EventOutcome::Success,
        subject: None,
        client: ClientInfo::new(Some("jane's browser"), Some("192.0.2.1".to_owned())),
        at: t0(),
    };
    store.record_event(&event).await.unwrap();

    assert!(store.delete_user(&jane.id, None, t0()).await.unwrap());
    assert!(store.find(&jane.id).await.unwrap().is_none());
    assert!(!store.is_active(&session.id, &jane.id, t0()).await.unwrap());
    assert!(store.find_credential(&TokenHash::of("jane-key")).await.unwrap().is_none());
    assert_eq!(store.verify_by_link(&TokenHash::of("link"), t0()).await.unwrap(), None);
    assert_eq!(
        store.confirm_email_change_by_link(&TokenHash::of("chg"), t0()).await.unwrap(),
        EmailChangeCheck::Invalid
    );
    assert!(!store.knows_address(&jane.id, &address, t0()).await.unwrap());
    let queued: Vec<String> = store.claim(t0(), MINUTE, 10).await.unwrap().into_iter().map(|e| e.to).collect();
    assert_eq!(queued, ["bob@example.com"], "emails to jane's addresses are dropped");
    let events = store.list_events(&EventQuery::newest(10)).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id, None);
    assert_eq!(events[0].client, ClientInfo::default());
    assert_eq!(events[0].kind, EventKind::Login);

    store.insert(&new_user("jane2", "JANE@example.com", Some("Jane"))).await.unwrap();
    assert!(store.find(&bob.id).await.unwrap().is_some());
    assert!(!store.delete_user(&jane.id, None, t0()).await.unwrap(), "already gone");
}

/// A deletion the owner asked for from a session is made only while that session is active: once a reset (or a
/// disable, a logout) has revoked it, nothing is deleted; from an active session it is.
pub async fn a_deletion_by_an_ended_session_deletes_nothing<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    let asking = store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    assert!(store.update_password(&jane.id, &PasswordHash::new("$fake$reset".into()), None, t0()).await.unwrap());
    assert!(!store.delete_user(&jane.id, Some(&asking.id), t0()).await.unwrap());
    assert!(store.find(&jane.id).await.unwrap().is_some(), "the account stays");
    let live = store.create(&new_session("s2", &jane.id, "tok-2", t0())).await.unwrap();
    assert!(!store.delete_user(&jane.id, Some(&live.id), t0() + TimeDelta::days(31)).await.unwrap(), "expired");
    assert!(store.delete_user(&jane.id, Some(&live.id), t0()).await.unwrap());
    assert!(store.find(&jane.id).await.unwrap().is_none());
}

/// An email change is stored with its two emails, the confirmation to the new address and the notice to the
/// current one; an address another account has is refused, and an unknown account gets nothing.
pub async fn email_changes_queue_a_confirmation_and_a_notice<S: Store>(store: &S) {
    let jane = user(store, "jane", "Jane@Example.com", None).await;
    user(store, "bob", "bob@example.com", None).await;
    let request = change("New@Example.org", "chg", "123456", None);
    assert_eq!(store.issue_email_change(&jane.id, &request).await.unwrap(), IssueOutcome::Issued);
    let mut queued: Vec<(String, &'static str)> = store
        .claim(t0(), MINUTE, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.to, e.content.kind()))
        .collect();
    queued.sort();
    assert_eq!(
        queued,
        [("Jane@Example.com".to_owned(), "email_change_notice"), ("New@Example.org".to_owned(), "email_change")]
    );
    assert_eq!(address_of(store, &jane).await, "Jane@Example.com", "nothing changes before confirmation");
    let taken = change("BOB@example.com", "chg2", "654321", None);
    assert_eq!(store.issue_email_change(&jane.id, &taken).await.unwrap(), IssueOutcome::EmailTaken);
    assert_eq!(
        store.issue_email_change(&UserId::from_random("nobody"), &request).await.unwrap(),
        IssueOutcome::NoAccount
    );
    assert_eq!(store.claim(t0(), MINUTE, 10).await.unwrap().len(), 0, "refusals queue nothing");
}

/// An email change asked for by a session that a reset (or anything else) has revoked since is not stored, and
/// none of its emails is queued.
pub async fn an_email_change_by_an_ended_session_is_not_stored<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    assert!(store.update_password(&jane.id, &PasswordHash::new("$fake$reset".into()), None, t0()).await.unwrap());
    let request = change("new@example.org", "chg", "123456", Some("s1"));
    assert_eq!(store.issue_email_change(&jane.id, &request).await.unwrap(), IssueOutcome::SessionEnded);
    assert_eq!(store.claim(t0(), MINUTE, 10).await.unwrap().len(), 0, "no email queued");
    assert_eq!(
        store.confirm_email_change_by_link(&TokenHash::of("chg"), t0() + MINUTE).await.unwrap(),
        EmailChangeCheck::Invalid
    );
    store.create(&new_session("s2", &jane.id, "tok-2", t0())).await.unwrap();
    let request = change("new@example.org", "chg2", "654321", Some("s2"));
    assert_eq!(store.issue_email_change(&jane.id, &request).await.unwrap(), IssueOutcome::Issued);
}

/// The link moves the account to the new address (verified), once, before it expires; the asking session stays
/// and the others are revoked; a newer request voids the older link.
pub async fn an_email_change_link_applies_once<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    let asking = store.create(&new_session("s1", &jane.id, "tok-1", t0())).await.unwrap();
    let other = store.create(&new_session("s2", &jane.id, "tok-2", t0())).await.unwrap();
    store.issue_email_change(&jane.id, &change("old-request@example.org", "old", "111111", Some("s1"))).await.unwrap();
    store.issue_email_change(&jane.id, &change("new@example.org", "chg", "123456", Some("s1"))).await.unwrap();
    let now = t0() + MINUTE;
    assert_eq!(store.confirm_email_change_by_link(&TokenHash::of("old"), now).await.unwrap(), EmailChangeCheck::Invalid);
    let expired = t0() + TimeDelta::hours(24);
    assert_eq!(store.confirm_email_change_by_link(&TokenHash::of("chg"), expired).await.unwrap(), EmailChangeCheck::Invalid);

    assert_eq!(
        store.confirm_email_change_by_link(&TokenHash::of("chg"), now).await.unwrap(),
        EmailChangeCheck::Changed(jane.id.clone())
    );
    let changed = store.find(&jane.id).await.unwrap().unwrap();
    assert_eq!(changed.email.as_str(), "new@example.org");
    assert!(changed.is_verified);
    assert_eq!(changed.updated_at, now);
    assert!(store.is_active(&asking.id, &jane.id, now).await.unwrap());
    assert!(!store.is_active(&other.id, &jane.id, now).await.unwrap());
    let by_new = store.find_credentials(&UserLookup::Email(Email::parse("NEW@example.org").unwrap())).await.unwrap();
    assert_eq!(by_new.map(|c| c.user.id), Some(jane.id.clone()));
    assert!(store.find_credentials(&UserLookup::Email(Email::parse("jane@example.com").unwrap())).await.unwrap().is_none());
    assert_eq!(store.confirm_email_change_by_link(&TokenHash::of("chg"), now).await.unwrap(), EmailChangeCheck::Invalid);
}

/// A wrong code counts a try; the code burns after `max_attempts`; the right code, with the new address in any
/// case, applies the change.
pub async fn an_email_change_code_counts_wrong_tries<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    store.issue_email_change(&jane.id, &change("new@example.org", "chg", "123456", None)).await.unwrap();
    let new = Email::parse("NEW@example.org").unwrap();
    let now = t0() + MINUTE;
    assert_eq!(store.confirm_email_change_by_code(&new, &TokenHash::of("000000"), now, 3).await.unwrap(), EmailChangeCheck::Wrong);
    let elsewhere = Email::parse("other@example.org").unwrap();
    assert_eq!(store.confirm_email_change_by_code(&elsewhere, &TokenHash::of("123456"), now, 3).await.unwrap(), EmailChangeCheck::Invalid);
    assert_eq!(
        store.confirm_email_change_by_code(&new, &TokenHash::of("123456"), now, 3).await.unwrap(),
        EmailChangeCheck::Changed(jane.id.clone())
    );
    assert_eq!(address_of(store, &jane).await, "new@example.org");

    let bob = user(store, "bob", "bob@example.com", None).await;
    store.issue_email_change(&bob.id, &change("bob2@example.org", "b", "654321", None)).await.unwrap();
    let bob2 = Email::parse("bob2@example.org").unwrap();
    for _ in 0..3 {
        assert_eq!(store.confirm_email_change_by_code(&bob2, &TokenHash::of("000000"), now, 3).await.unwrap(), EmailChangeCheck::Wrong);
    }
    assert_eq!(
        store.confirm_email_change_by_code(&bob2, &TokenHash::of("654321"), now, 3).await.unwrap(),
        EmailChangeCheck::Invalid,
        "burnt"
    );
    assert_eq!(address_of(store, &bob).await, "bob@example.com");
}

/// An address registered by someone else after the change was asked for: confirming it is `EmailTaken`, the change
/// is spent and the account keeps its address.
pub async fn an_email_change_to_an_address_taken_since_is_refused<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    store.issue_email_change(&jane.id, &change("new@example.org", "chg", "123456", None)).await.unwrap();
    user(store, "bob", "NEW@example.org", None).await;
    let now = t0() + MINUTE;
    assert_eq!(store.confirm_email_change_by_link(&TokenHash::of("chg"), now).await.unwrap(), EmailChangeCheck::EmailTaken);
    assert_eq!(address_of(store, &jane).await, "jane@example.com");
    assert_eq!(store.confirm_email_change_by_link(&TokenHash::of("chg"), now).await.unwrap(), EmailChangeCheck::Invalid);
}

/// A password change drops a pending email change (it was asked for under the old password).
pub async fn a_password_change_drops_a_pending_email_change<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    store.issue_email_change(&jane.id, &change("new@example.org", "chg", "123456", None)).await.unwrap();
    store.update_password(&jane.id, &PasswordHash::new("$fake$new".into()), None, t0()).await.unwrap();
    assert_eq!(
        store.confirm_email_change_by_link(&TokenHash::of("chg"), t0() + MINUTE).await.unwrap(),
        EmailChangeCheck::Invalid
    );
    assert_eq!(address_of(store, &jane).await, "jane@example.com");
}

/// A password change voids a pending reset link: whoever holds it (the one the change is meant to lock out, perhaps)
/// would otherwise set a password of their own with it afterwards.
pub async fn a_password_change_voids_a_pending_reset<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    store.issue_reset(&jane.email, &super::fixtures::reset("rst", t0()), TimeDelta::zero()).await.unwrap();
    store.update_password(&jane.id, &PasswordHash::new("$fake$new".into()), None, t0()).await.unwrap();
    let now = t0() + MINUTE;
    assert_eq!(store.reset_owner(&TokenHash::of("rst"), now).await.unwrap(), None);
    assert_eq!(store.reset_password(&TokenHash::of("rst"), &PasswordHash::new("$fake$theirs".into()), now).await.unwrap(), None);
    let stored = store.find_credentials(&UserLookup::Id(jane.id.clone())).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_str(), "$fake$new");
}

/// A reset link used while the owner changes the password: both finish (neither fails on a lock the other holds:
/// they take the account's row before its pending reset, in that order), and the password is one of the two.
pub async fn a_reset_racing_a_password_change_finishes<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    for round in 0..20 {
        let token = format!("rst{round}");
        store.issue_reset(&jane.email, &super::fixtures::reset(&token, t0()), TimeDelta::zero()).await.unwrap();
        let (by_reset, by_change) = (PasswordHash::new(format!("$fake$reset{round}")), PasswordHash::new(format!("$fake$change{round}")));
        let (reset, changed) = super::join(
            store.reset_password(&TokenHash::of(&token), &by_reset, t0() + MINUTE),
            store.update_password(&jane.id, &by_change, None, t0() + MINUTE),
        )
        .await;
        let reset = reset.unwrap();
        assert!(changed.unwrap());
        let stored = store.find_credentials(&UserLookup::Id(jane.id.clone())).await.unwrap().unwrap().password_hash;
        // Whichever committed last holds the account; a change that came first voided the link.
        match reset {
            Some(owner) => {
                assert_eq!(owner, jane.id);
                assert!(stored == by_reset || stored == by_change, "round {round}");
            }
            None => assert_eq!(stored, by_change, "round {round}"),
        }
    }
}

/// Of two concurrent uses of one email-change link, exactly one applies it.
pub async fn concurrent_email_change_confirmations_apply_once<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    store.issue_email_change(&jane.id, &change("new@example.org", "chg", "123456", None)).await.unwrap();
    let now = t0() + MINUTE;
    let link = TokenHash::of("chg");
    let (a, b) = super::join(
        store.confirm_email_change_by_link(&link, now),
        store.confirm_email_change_by_link(&link, now),
    )
    .await;
    let mut outcomes = [a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|check| matches!(check, EmailChangeCheck::Invalid));
    assert_eq!(outcomes, [EmailChangeCheck::Changed(jane.id.clone()), EmailChangeCheck::Invalid]);
}

/// Deleting an account while its refresh token is being rotated: both finish (neither fails on a lock the other
/// holds), and the account is gone. (On PostgreSQL, with the tokens left to the cascade, this deadlocked within a
/// hundred races on a busy machine.)
pub async fn a_deletion_racing_a_refresh_finishes<S: Store>(store: &S) {
    for round in 0..100 {
        let jane = user(store, &format!("jane{round}"), &format!("jane{round}@example.com"), None).await;
        let (token, successor) = (format!("tok-{round}"), format!("next-{round}"));
        store.create(&new_session(&format!("s{round}"), &jane.id, &token, t0())).await.unwrap();
        let rotation = super::fixtures::rotation(&token, &successor, t0() + MINUTE);
        let (rotated, deleted) = super::join(store.rotate(&rotation), store.delete_user(&jane.id, None, t0() + MINUTE)).await;
        rotated.unwrap();
        assert!(deleted.unwrap());
        assert!(store.find(&jane.id).await.unwrap().is_none());
    }
}

/// Deleting an account while a spent refresh token is presented again within the grace period (a client retrying a
/// refresh whose answer it lost): both finish, and the account is gone. The retry holds the spent token while it
/// reads its successor, and the deletion removes the session's tokens in whatever order it finds them; the retry
/// must not wait for a successor the deletion holds (the PostgreSQL suite pins that case down with a held lock, as
/// this race rarely lines up).
pub async fn a_deletion_racing_a_retried_refresh_finishes<S: Store>(store: &S) {
    for round in 0..20 {
        let jane = user(store, &format!("jane{round}"), &format!("jane{round}@example.com"), None).await;
        let (token, successor) = (format!("tok-{round}"), format!("next-{round}"));
        store.create(&new_session(&format!("s{round}"), &jane.id, &token, t0())).await.unwrap();
        let rotation = super::fixtures::rotation(&token, &successor, t0() + MINUTE);
        store.rotate(&rotation).await.unwrap();
        let (retried, deleted) = super::join(store.rotate(&rotation), store.delete_user(&jane.id, None, t0() + MINUTE)).await;
        retried.unwrap();
        assert!(deleted.unwrap());
        assert!(store.find(&jane.id).await.unwrap().is_none());
    }
}

/// A confirmation (by link or by code) racing a newer request and a password change of the same account: every
/// call finishes, none failing on a lock another holds (they take the account's row before its pending change, in
/// that order), and the address moves only when the confirmation said so.
pub async fn email_change_confirmations_race_requests_and_password_changes<S: Store>(store: &S) {
    let jane = user(store, "jane", "jane@example.com", None).await;
    let now = t0() + MINUTE;
    for round in 0..10 {
        let (address, link) = (format!("new{round}@example.org"), format!("chg{round}"));
        store.issue_email_change(&jane.id, &change(&address, &link, "123456", None)).await.unwrap();
        let newer = change(&format!("newer{round}@example.org"), &format!("nwr{round}"), "654321", None);
        let hash = PasswordHash::new(format!("$fake${round}"));
        // By link in even rounds, by code in odd ones.
        let confirmation = async {
            if round % 2 == 0 {
                store.confirm_email_change_by_link(&TokenHash::of(&link), now).await
            } else {
                let email = Email::parse(&address).unwrap();
                store.confirm_email_change_by_code(&email, &TokenHash::of("123456"), now, 5).await
            }
        };
        let (confirmed, (requested, changed)) = super::join(
            confirmation,
            super::join(store.issue_email_change(&jane.id, &newer), store.update_password(&jane.id, &hash, None, now)),
        )
        .await;
        requested.unwrap();
        assert!(changed.unwrap());
        match confirmed.unwrap() {
            EmailChangeCheck::Changed(id) => {
                assert_eq!(id, jane.id);
                assert_eq!(address_of(store, &jane).await, address);
            }
            EmailChangeCheck::Invalid => assert_ne!(address_of(store, &jane).await, address),
            other => panic!("{other:?}"),
        }
    }
}

}
