//! Rules of [`Outbox`](crate::ports::Outbox).

use chrono::TimeDelta;

use super::fixtures::{new_user, reset, t0};
use super::Store;
use crate::model::EmailId;
use crate::ports::ChallengeRepository;

const LEASE: TimeDelta = TimeDelta::minutes(5);

/// Queues `count` reset emails, one per account, a second apart; returns their ids, oldest first.
async fn queue<S: Store>(store: &S, count: usize) -> Vec<EmailId> {
    let mut ids = Vec::new();
    for n in 0..count {
        let user = store
            .insert(&new_user(
                &format!("u{n}"),
                &format!("u{n}@example.com"),
                None,
            ))
            .await
            .unwrap();
        let at = t0() + TimeDelta::seconds(n as i64);
        let reset = reset(&format!("t{n}"), at);
        ChallengeRepository::issue_reset(store, &user.email, &reset, TimeDelta::zero())
            .await
            .unwrap();
        ids.push(reset.email.id.clone());
    }
    ids
}

rules! { $ outbox => outbox_rules;

/// Claims come oldest first, at most `limit`, only once due, and a claimed email is not claimed again while its
/// lease runs; once the lease runs out (its worker died) it is claimed again as the next try.
pub async fn claims_are_ordered_limited_and_leased<S: Store>(store: &S) {
    let ids = queue(store, 3).await;
    assert!(store.claim(t0() - TimeDelta::seconds(1), LEASE, 10).await.unwrap().is_empty(), "not due yet");
    let now = t0() + TimeDelta::seconds(10);
    let first = store.claim(now, LEASE, 2).await.unwrap();
    assert_eq!(first.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), ids[..2].to_vec());
    assert!(first.iter().all(|c| c.attempt == 1));
    let second = store.claim(now, LEASE, 10).await.unwrap();
    assert_eq!(second.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), ids[2..].to_vec());
    assert!(store.claim(now + LEASE - TimeDelta::seconds(1), LEASE, 10).await.unwrap().is_empty());
    let again = store.claim(now + LEASE, LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 3, "every lease ran out");
    assert!(again.iter().all(|c| c.attempt == 2));
}

/// A completed email is never claimed again; a retried one comes back at its retry time and not before; a given-up
/// one never comes back.
pub async fn outcomes_decide_what_is_claimed_again<S: Store>(store: &S) {
    let ids = queue(store, 3).await;
    let now = t0() + TimeDelta::seconds(10);
    assert_eq!(store.claim(now, LEASE, 10).await.unwrap().len(), 3);
    store.complete(&ids[0], now).await.unwrap();
    let retry_at = now + TimeDelta::seconds(30);
    store.retry_later(&ids[1], retry_at, "451 try again later").await.unwrap();
    store.give_up(&ids[2], now, "550 no such mailbox").await.unwrap();
    assert!(store.claim(retry_at - TimeDelta::seconds(1), LEASE, 10).await.unwrap().is_empty());
    let retried = store.claim(retry_at, LEASE, 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, ids[1]);
    assert_eq!(retried[0].attempt, 2);
    store.complete(&ids[1], retry_at).await.unwrap();
    let much_later = now + TimeDelta::days(1);
    assert!(store.claim(much_later, LEASE, 10).await.unwrap().is_empty());
}

/// Only finished emails (sent or given up) that finished before the cutoff are purged, at most `limit` at a time;
/// an email still being sent is never purged, and stays claimable.
pub async fn purging_removes_only_emails_finished_before_the_cutoff<S: Store>(store: &S) {
    let ids = queue(store, 4).await;
    let claimed = store.claim(t0() + TimeDelta::seconds(10), LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 4);
    let (t1, t2) = (t0() + TimeDelta::hours(1), t0() + TimeDelta::hours(2));
    store.complete(&ids[0], t1).await.unwrap();
    store.give_up(&ids[1], t1, "refused").await.unwrap();
    store.complete(&ids[2], t2).await.unwrap();
    // ids[3] stays claimed, unfinished.
    let cutoff = t1 + TimeDelta::minutes(1);
    assert_eq!(store.purge_finished(cutoff, 1).await.unwrap(), 1, "at most the limit");
    assert_eq!(store.purge_finished(cutoff, 10).await.unwrap(), 1, "the other one finished before the cutoff");
    assert_eq!(store.purge_finished(cutoff, 10).await.unwrap(), 0, "nothing else finished before it");
    let much_later = t2 + TimeDelta::days(365);
    assert_eq!(store.purge_finished(much_later, 10).await.unwrap(), 1, "the later one, never the unfinished");
    assert_eq!(store.purge_finished(much_later, 10).await.unwrap(), 0);
    // The unfinished email is still there: claimed again once its lease runs out.
    let again = store.claim(much_later, LEASE, 10).await.unwrap();
    assert_eq!(again.iter().map(|email| &email.id).collect::<Vec<_>>(), vec![&ids[3]]);
}

/// Two workers claiming at once never get the same email, and between them get every due one.
pub async fn two_workers_claiming_at_once_never_share_an_email<S: Store>(store: &S) {
    let mut ids = queue(store, 8).await;
    let now = t0() + TimeDelta::minutes(1);
    let (a, b) = super::join(store.claim(now, LEASE, 5), store.claim(now, LEASE, 5)).await;
    let mut claimed: Vec<EmailId> = a.unwrap().into_iter().chain(b.unwrap()).map(|c| c.id).collect();
    let total = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), total, "no email went to both workers");
    // What neither got (a worker may have skipped rows the other held) is still there for the next claim.
    let rest = store.claim(now, LEASE, 10).await.unwrap();
    claimed.extend(rest.into_iter().map(|c| c.id));
    claimed.sort();
    ids.sort();
    assert_eq!(claimed, ids);
}

}
