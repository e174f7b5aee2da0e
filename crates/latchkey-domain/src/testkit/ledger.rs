//! Rules of [`CreditLedger`](crate::ports::CreditLedger): balances that never go below zero and always equal the
//! sum of the ledger, exactly one charge per idempotency key, refunds once, welcome credits once.

use chrono::TimeDelta;

use super::fixtures::{charge, new_user, t0};
use super::{join, join_all, Store};
use crate::model::{ChargeId, LedgerEntryId, LedgerKind, User, UserId};
use crate::ports::{ChargeOutcome, GrantOutcome, GrantRequest, RefundOutcome, RefundRequest};

async fn account<S: Store>(store: &S, id: &str) -> User {
    store
        .insert(&new_user(id, &format!("{id}@example.com"), None))
        .await
        .unwrap()
}

async fn balance<S: Store>(store: &S, user: &UserId) -> i64 {
    store
        .find(user)
        .await
        .unwrap()
        .expect("account exists")
        .credits
}

/// The balance equals the sum of the ledger, and each entry's `balance_after` is the running sum.
async fn assert_balanced<S: Store>(store: &S, user: &UserId) {
    let mut entries = store.list_entries(user, None, 100_000).await.unwrap();
    entries.reverse();
    let mut running = 0;
    for entry in &entries {
        running += entry.amount;
        assert_eq!(entry.balance_after, running, "{entry:?}");
        assert!(entry.balance_after >= 0);
    }
    assert_eq!(
        balance(store, user).await,
        running,
        "balance == sum(ledger)"
    );
    if let Some(first) = entries.first() {
        assert_eq!(
            first.kind,
            LedgerKind::Welcome,
            "the welcome credits come first"
        );
    }
}

rules! { $ ledger => ledger_rules;

/// An account created with credits has them as its first ledger entry, written with the account.
pub async fn an_account_opens_with_its_welcome_entry<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let entries = store.list_entries(&jane.id, None, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let welcome = &entries[0];
    assert_eq!((welcome.kind, welcome.amount, welcome.balance_after), (LedgerKind::Welcome, 1000, 1000));
    assert_eq!(welcome.id, LedgerEntryId::from_random("wjane"));
    assert_eq!(welcome.user_id.as_ref(), Some(&jane.id));
    assert_eq!(welcome.created_at, t0());
    let mut broke = new_user("broke", "broke@example.com", None);
    broke.credits = 0;
    let broke = store.insert(&broke).await.unwrap();
    assert!(store.list_entries(&broke.id, None, 10).await.unwrap().is_empty(), "no entry for nothing");
}

/// A charge takes its price, writes its entry (negative, with unit, quantity and charge id) and answers the balance
/// after it.
pub async fn a_charge_takes_its_price_and_writes_its_entry<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let request = charge(&jane.id, "1", "key-1", 3, 300, t0());
    let ChargeOutcome::Charged(made) = store.charge(&request).await.unwrap() else { panic!("charged") };
    assert_eq!((made.id.clone(), made.charged, made.credits, made.quantity), (request.charge_id.clone(), 300, 700, 3));
    assert_eq!((made.unit.as_str(), made.created_at), ("photo", t0()));
    assert_eq!(balance(store, &jane.id).await, 700);
    let entries = store.list_entries(&jane.id, None, 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    let entry = &entries[0];
    assert_eq!((entry.kind, entry.amount, entry.balance_after), (LedgerKind::Charge, -300, 700));
    assert_eq!(entry.charge_id.as_ref(), Some(&request.charge_id));
    assert_eq!((entry.unit.as_deref(), entry.quantity), (Some("photo"), Some(3)));
    assert!(entries[0].sequence > entries[1].sequence);
    assert_balanced(store, &jane.id).await;
}

/// The same key with the same request answers the first charge and takes nothing more; with another request it is
/// refused; keys are per user.
pub async fn a_key_replays_its_charge_and_refuses_another_request<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let joe = account(store, "joe").await;
    let ChargeOutcome::Charged(first) = store.charge(&charge(&jane.id, "1", "k", 1, 100, t0())).await.unwrap() else {
        panic!("charged")
    };
    let later = t0() + TimeDelta::minutes(5);
    assert_eq!(
        store.charge(&charge(&jane.id, "2", "k", 1, 100, later)).await.unwrap(),
        ChargeOutcome::Replayed(first.clone())
    );
    assert_eq!(
        store.charge(&charge(&jane.id, "3", "k", 2, 200, later)).await.unwrap(),
        ChargeOutcome::KeyReusedWithOtherRequest
    );
    assert_eq!(balance(store, &jane.id).await, 900);
    // After the balance ran low, the replay still answers the stored charge rather than a refusal.
    store.grant(&GrantRequest::grant(jane.id.clone(), LedgerEntryId::from_random("g1"), -900, Some("drain".into()), later)).await.unwrap();
    assert_eq!(
        store.charge(&charge(&jane.id, "4", "k", 1, 100, later)).await.unwrap(),
        ChargeOutcome::Replayed(first)
    );
    assert!(matches!(
        store.charge(&charge(&joe.id, "5", "k", 1, 100, later)).await.unwrap(),
        ChargeOutcome::Charged(_)
    ), "another user's key of the same name is another key");
    assert_balanced(store, &jane.id).await;
    assert_balanced(store, &joe.id).await;
}

/// A charge above the balance takes nothing and stores no key: the same key may succeed once credits arrive.
pub async fn an_insufficient_balance_charges_and_stores_nothing<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    assert_eq!(
        store.charge(&charge(&jane.id, "1", "k", 11, 1100, t0())).await.unwrap(),
        ChargeOutcome::InsufficientCredits { balance: 1000 }
    );
    assert_eq!(store.list_entries(&jane.id, None, 10).await.unwrap().len(), 1);
    store.grant(&GrantRequest::grant(jane.id.clone(), LedgerEntryId::from_random("g1"), 100, Some("top up".into()), t0())).await.unwrap();
    let ChargeOutcome::Charged(made) = store.charge(&charge(&jane.id, "2", "k", 11, 1100, t0())).await.unwrap() else {
        panic!("charged once the balance allows it")
    };
    assert_eq!(made.credits, 0);
    assert_eq!(
        store.charge(&charge(&jane.id, "3", "k2", 1, 1, t0())).await.unwrap(),
        ChargeOutcome::InsufficientCredits { balance: 0 }
    );
    assert!(matches!(
        store.charge(&charge(&jane.id, "4", "free", 1, 0, t0())).await.unwrap(),
        ChargeOutcome::Charged(_)
    ), "a free unit may be charged at a zero balance");
    let nobody = UserId::from_random("nobody");
    assert_eq!(store.charge(&charge(&nobody, "5", "k", 1, 1, t0())).await.unwrap(), ChargeOutcome::AccountGone);
    assert_balanced(store, &jane.id).await;
}

/// A key past its expiry is a new key; the purge deletes expired keys (at most `limit` at a time) and leaves the
/// charges.
pub async fn expired_keys_are_new_keys_and_are_purged<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    store.charge(&charge(&jane.id, "1", "k1", 1, 10, t0())).await.unwrap();
    store.charge(&charge(&jane.id, "2", "k2", 1, 10, t0())).await.unwrap();
    let later = t0() + TimeDelta::hours(1);
    assert!(matches!(store.charge(&charge(&jane.id, "3", "k1", 1, 10, later)).await.unwrap(), ChargeOutcome::Charged(_)));
    assert_eq!(balance(store, &jane.id).await, 970);
    // k1 was renewed at `later`; only k2 is expired then.
    assert_eq!(store.purge_idempotency_keys(later, 10).await.unwrap(), 1);
    assert_eq!(store.purge_idempotency_keys(later, 10).await.unwrap(), 0);
    assert_eq!(store.purge_idempotency_keys(later + TimeDelta::hours(1), 10).await.unwrap(), 1);
    assert_eq!(store.list_entries(&jane.id, None, 10).await.unwrap().len(), 4, "the ledger stays");
    assert_balanced(store, &jane.id).await;
}

/// A refund gives the charge back once, as an entry with the charge's id, unit and quantity; only the charge's
/// owner can refund it.
pub async fn a_charge_is_refunded_once_by_its_owner<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let joe = account(store, "joe").await;
    let request = charge(&jane.id, "1", "k", 2, 200, t0());
    store.charge(&request).await.unwrap();
    let refund = |user: &UserId, n: &str| RefundRequest::new(user.clone(), request.charge_id.clone(), LedgerEntryId::from_random(n), t0());
    assert_eq!(store.refund(&refund(&joe.id, "r0")).await.unwrap(), RefundOutcome::NotFound);
    let RefundOutcome::Refunded(entry) = store.refund(&refund(&jane.id, "r1")).await.unwrap() else { panic!("refunded") };
    assert_eq!((entry.kind, entry.amount, entry.balance_after), (LedgerKind::Refund, 200, 1000));
    assert_eq!(entry.charge_id.as_ref(), Some(&request.charge_id));
    assert_eq!((entry.unit.as_deref(), entry.quantity), (Some("photo"), Some(2)));
    assert_eq!(store.refund(&refund(&jane.id, "r2")).await.unwrap(), RefundOutcome::AlreadyRefunded);
    let unknown = RefundRequest::new(jane.id.clone(), ChargeId::from_random("none"), LedgerEntryId::from_random("r3"), t0());
    assert_eq!(store.refund(&unknown).await.unwrap(), RefundOutcome::NotFound);
    assert_eq!(balance(store, &jane.id).await, 1000);
    assert_balanced(store, &jane.id).await;
}

/// Two refunds of one charge at once: one refunds, the other finds it refunded.
pub async fn racing_refunds_refund_once<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let request = charge(&jane.id, "1", "k", 1, 100, t0());
    store.charge(&request).await.unwrap();
    let refund = |n: &str| RefundRequest::new(jane.id.clone(), request.charge_id.clone(), LedgerEntryId::from_random(n), t0());
    let (a, b) = join(store.refund(&refund("r1")), store.refund(&refund("r2"))).await;
    let outcomes = [a.unwrap(), b.unwrap()];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, RefundOutcome::Refunded(_))).count(), 1, "{outcomes:?}");
    assert!(outcomes.contains(&RefundOutcome::AlreadyRefunded));
    assert_eq!(balance(store, &jane.id).await, 1000);
    assert_balanced(store, &jane.id).await;
}

/// Grants and corrections move the balance within 0..=MAX_BALANCE, with their reason; the welcome grant is
/// written once per account, even when raced.
pub async fn grants_stay_in_range_and_welcome_once<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let grant = |amount: i64, n: &str| GrantRequest::grant(jane.id.clone(), LedgerEntryId::from_random(n), amount, Some("support ticket 12".into()), t0());
    assert_eq!(store.grant(&grant(-1001, "g1")).await.unwrap(), GrantOutcome::OutOfRange { balance: 1000 });
    assert_eq!(store.grant(&grant(crate::model::MAX_BALANCE, "g2")).await.unwrap(), GrantOutcome::OutOfRange { balance: 1000 });
    let GrantOutcome::Granted(entry) = store.grant(&grant(-1000, "g3")).await.unwrap() else { panic!("granted") };
    assert_eq!((entry.kind, entry.amount, entry.balance_after), (LedgerKind::Grant, -1000, 0));
    assert_eq!(entry.reason.as_deref(), Some("support ticket 12"));
    let welcome = GrantRequest::welcome(jane.id.clone(), LedgerEntryId::from_random("w2"), 1000, t0());
    assert_eq!(store.grant(&welcome).await.unwrap(), GrantOutcome::AlreadyWelcomed);

    let mut late = new_user("late", "late@example.com", None);
    late.credits = 0;
    let late = store.insert(&late).await.unwrap();
    let welcome = |n: &str| GrantRequest::welcome(late.id.clone(), LedgerEntryId::from_random(n), 500, t0());
    let (a, b) = join(store.grant(&welcome("w3")), store.grant(&welcome("w4"))).await;
    let outcomes = [a.unwrap(), b.unwrap()];
    assert!(outcomes.contains(&GrantOutcome::AlreadyWelcomed), "{outcomes:?}");
    assert_eq!(store.grant(&welcome("w5")).await.unwrap(), GrantOutcome::AlreadyWelcomed);
    assert_eq!(balance(store, &late.id).await, 500);
    let nobody = GrantRequest::grant(UserId::from_random("nobody"), LedgerEntryId::from_random("g4"), 1, None, t0());
    assert_eq!(store.grant(&nobody).await.unwrap(), GrantOutcome::AccountGone);
    assert_balanced(store, &jane.id).await;
    assert_balanced(store, &late.id).await;
}

/// Verified accounts without a welcome entry are found (by id, at most `limit`) until they are welcomed; unverified
/// accounts and accounts welcomed at registration are not.
pub async fn verified_accounts_owed_their_welcome_are_found<S: Store>(store: &S) {
    let mut owed = Vec::new();
    for id in ["b", "a", "c"] {
        let mut new = new_user(id, &format!("{id}@example.com"), None);
        new.credits = 0;
        let user = store.insert(&new).await.unwrap();
        owed.push(user.id);
    }
    let unverified = {
        let mut new = new_user("u", "u@example.com", None);
        new.credits = 0;
        store.insert(&new).await.unwrap()
    };
    let welcomed = account(store, "w").await;
    for (user, link) in [(&owed[0], "lb"), (&owed[1], "la"), (&owed[2], "lc"), (&welcomed.id, "lw")] {
        let lookup = crate::ports::UserLookup::Id(user.clone());
        store.issue_verification(&lookup, &super::fixtures::verification(link, "123456", t0()), TimeDelta::zero()).await.unwrap();
        store.verify_by_link(&crate::secret::TokenHash::of(link), t0()).await.unwrap().expect("verified");
    }
    owed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(store.verified_without_welcome(10).await.unwrap(), owed);
    assert_eq!(store.verified_without_welcome(2).await.unwrap(), owed[..2]);
    let welcome = GrantRequest::welcome(owed[0].clone(), LedgerEntryId::from_random("wa"), 500, t0());
    assert!(matches!(store.grant(&welcome).await.unwrap(), GrantOutcome::Granted(_)));
    assert_eq!(store.verified_without_welcome(10).await.unwrap(), owed[1..]);
    assert!(!store.verified_without_welcome(10).await.unwrap().contains(&unverified.id));
}

/// The ledger lists one account's entries newest first, `limit` at a time, before a sequence.
pub async fn the_ledger_pages_newest_first<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    account(store, "joe").await;
    for n in 0..5 {
        store.charge(&charge(&jane.id, &n.to_string(), &format!("k{n}"), 1, 1, t0() + TimeDelta::seconds(n))).await.unwrap();
    }
    let first = store.list_entries(&jane.id, None, 4).await.unwrap();
    assert_eq!(first.len(), 4);
    assert!(first.windows(2).all(|pair| pair[0].sequence > pair[1].sequence));
    assert_eq!(first[0].balance_after, 995);
    let rest = store.list_entries(&jane.id, Some(first[3].sequence), 4).await.unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1].kind, LedgerKind::Welcome);
    assert!(rest.iter().all(|entry| entry.user_id.as_ref() == Some(&jane.id)));
}

/// A thousand concurrent charges against an account with room for a hundred: exactly a hundred succeed, the
/// balance ends at zero, and it equals the sum of the ledger.
pub async fn a_thousand_racing_charges_never_overdraw<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let requests: Vec<_> = (0..1000).map(|n| charge(&jane.id, &n.to_string(), &format!("k{n}"), 1, 10, t0())).collect();
    let outcomes = join_all(requests.iter().map(|request| store.charge(request))).await;
    let mut charged = 0;
    for outcome in outcomes {
        match outcome.unwrap() {
            ChargeOutcome::Charged(_) => charged += 1,
            ChargeOutcome::InsufficientCredits { balance } => assert!(balance < 10),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(charged, 100);
    assert_eq!(balance(store, &jane.id).await, 0);
    assert_eq!(store.list_entries(&jane.id, None, 2000).await.unwrap().len(), 101);
    assert_balanced(store, &jane.id).await;
}

/// Twenty concurrent requests with one key: exactly one charge, and all twenty answer it.
pub async fn twenty_racing_requests_with_one_key_charge_once<S: Store>(store: &S) {
    let jane = account(store, "jane").await;
    let requests: Vec<_> = (0..20).map(|n| charge(&jane.id, &n.to_string(), "same", 1, 10, t0())).collect();
    let outcomes = join_all(requests.iter().map(|request| store.charge(request))).await;
    let mut charges = Vec::new();
    let mut made = 0;
    for outcome in outcomes {
        match outcome.unwrap() {
            ChargeOutcome::Charged(charge) => {
                made += 1;
                charges.push(charge);
            }
            ChargeOutcome::Replayed(charge) => charges.push(charge),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(made, 1);
    assert!(charges.iter().all(|charge| charge == &charges[0]));
    assert_eq!(balance(store, &jane.id).await, 990);
    assert_balanced(store, &jane.id).await;
}

}
