//! Rules of [`RateLimiter`](crate::ports::RateLimiter).

use chrono::TimeDelta;

use super::fixtures::{new_user, t0};
use super::{join, Store};
use crate::policy::Rate;
use crate::ports::{Admission, LimitKey};

fn rate(max: u32, seconds: i64) -> Rate {
    Rate::new(max, TimeDelta::seconds(seconds)).unwrap()
}

fn refused(admission: Admission) -> Option<TimeDelta> {
    match admission {
        Admission::Admitted => None,
        Admission::Refused { retry_after } => Some(retry_after),
    }
}

rules! { $ limiter => limiter_rules;

/// A key admits `max` attempts at once, refuses the next with the wait until one more fits, and admits again once
/// that wait has passed; other keys are untouched.
pub async fn a_key_admits_its_burst_then_refuses_until_an_interval_passes<S: Store>(store: &S) {
    let key = LimitKey::new("login:address", "192.0.2.1");
    let ten_per_900s = rate(10, 900);
    for attempt in 0..10 {
        assert_eq!(store.acquire(&key, ten_per_900s, t0()).await.unwrap(), Admission::Admitted, "attempt {attempt}");
    }
    let wait = refused(store.acquire(&key, ten_per_900s, t0()).await.unwrap()).expect("the 11th is refused");
    assert_eq!(wait, TimeDelta::seconds(90), "one interval: 900 s / 10");
    let wait = refused(store.acquire(&key, ten_per_900s, t0() + TimeDelta::seconds(30)).await.unwrap())
        .expect("still refused, and a refusal counts nothing");
    assert_eq!(wait, TimeDelta::seconds(60));
    assert_eq!(
        store.acquire(&key, ten_per_900s, t0() + TimeDelta::seconds(90)).await.unwrap(),
        Admission::Admitted
    );
    assert!(refused(store.acquire(&key, ten_per_900s, t0() + TimeDelta::seconds(90)).await.unwrap()).is_some());
    let other = LimitKey::new("login:address", "192.0.2.2");
    assert_eq!(store.acquire(&other, ten_per_900s, t0()).await.unwrap(), Admission::Admitted);
    let same_subject_other_action = LimitKey::new("register:address", "192.0.2.1");
    assert_eq!(store.acquire(&same_subject_other_action, ten_per_900s, t0()).await.unwrap(), Admission::Admitted);
}

/// After a whole period without attempts a key admits a full burst again.
pub async fn a_quiet_period_restores_the_whole_burst<S: Store>(store: &S) {
    let key = LimitKey::new("refresh:address", "192.0.2.1");
    let three_per_minute = rate(3, 60);
    for _ in 0..3 {
        assert_eq!(store.acquire(&key, three_per_minute, t0()).await.unwrap(), Admission::Admitted);
    }
    assert!(refused(store.acquire(&key, three_per_minute, t0()).await.unwrap()).is_some());
    let later = t0() + TimeDelta::seconds(60);
    for _ in 0..3 {
        assert_eq!(store.acquire(&key, three_per_minute, later).await.unwrap(), Admission::Admitted);
    }
    assert!(refused(store.acquire(&key, three_per_minute, later).await.unwrap()).is_some());
}

/// Releasing gives one counted attempt back, so successes do not use up the allowance of failures.
pub async fn a_released_attempt_is_given_back<S: Store>(store: &S) {
    let key = LimitKey::new("login:account", "usr_1");
    let two_per_minute = rate(2, 60);
    for _ in 0..10 {
        assert_eq!(store.acquire(&key, two_per_minute, t0()).await.unwrap(), Admission::Admitted);
        store.release(&key, two_per_minute).await.unwrap();
    }
    assert_eq!(store.acquire(&key, two_per_minute, t0()).await.unwrap(), Admission::Admitted);
    assert_eq!(store.acquire(&key, two_per_minute, t0()).await.unwrap(), Admission::Admitted);
    assert!(refused(store.acquire(&key, two_per_minute, t0()).await.unwrap()).is_some());
    // Releasing a key that never counted anything is harmless.
    store.release(&LimitKey::new("login:account", "nobody"), two_per_minute).await.unwrap();
}

/// Concurrent attempts on one key never pass the limit together: the count is one atomic step.
pub async fn concurrent_attempts_never_overshoot<S: Store>(store: &S) {
    let key = LimitKey::new("login:address", "198.51.100.9");
    let five_per_hour = rate(5, 3600);
    let attempt = || store.acquire(&key, five_per_hour, t0());
    let mut admitted = 0;
    for _ in 0..6 {
        let (a, b) = join(attempt(), attempt()).await;
        admitted += [a.unwrap(), b.unwrap()].into_iter().filter(|x| *x == Admission::Admitted).count();
    }
    assert_eq!(admitted, 5);
}

/// Addresses are remembered per account, for as long as the caller asks.
pub async fn login_addresses_are_remembered_per_account<S: Store>(store: &S) {
    let jane = store.insert(&new_user("jane", "jane@example.com", None)).await.unwrap();
    let john = store.insert(&new_user("john", "john@example.com", None)).await.unwrap();
    let home = LimitKey::new("known-address", "192.0.2.1");
    assert!(!store.knows_address(&jane.id, &home, t0()).await.unwrap());
    store.remember_address(&jane.id, &home, t0()).await.unwrap();
    assert!(store.knows_address(&jane.id, &home, t0()).await.unwrap());
    assert!(!store.knows_address(&jane.id, &home, t0() + TimeDelta::seconds(1)).await.unwrap(), "older than asked");
    assert!(!store.knows_address(&john.id, &home, t0()).await.unwrap(), "another account");
    store.remember_address(&jane.id, &home, t0() + TimeDelta::days(1)).await.unwrap();
    assert!(store.knows_address(&jane.id, &home, t0() + TimeDelta::days(1)).await.unwrap(), "refreshed");
    store.remember_address(&john.id, &home, t0()).await.unwrap();
    store.forget_addresses(&jane.id).await.unwrap();
    assert!(!store.knows_address(&jane.id, &home, t0()).await.unwrap(), "forgotten");
    assert!(store.knows_address(&john.id, &home, t0()).await.unwrap(), "only hers");
}

/// Purging deletes only what limits nothing any more: spent keys keep counting until their attempts expire.
pub async fn purging_keeps_every_live_count<S: Store>(store: &S) {
    let jane = store.insert(&new_user("jane", "jane@example.com", None)).await.unwrap();
    let key = LimitKey::new("login:address", "192.0.2.1");
    let two_per_minute = rate(2, 60);
    for _ in 0..2 {
        assert_eq!(store.acquire(&key, two_per_minute, t0()).await.unwrap(), Admission::Admitted);
    }
    let home = LimitKey::new("known-address", "192.0.2.1");
    store.remember_address(&jane.id, &home, t0()).await.unwrap();
    assert_eq!(store.purge_limits(t0() + TimeDelta::seconds(59), t0()).await.unwrap(), 0);
    assert!(refused(store.acquire(&key, two_per_minute, t0() + TimeDelta::seconds(29)).await.unwrap()).is_some());
    assert!(store.knows_address(&jane.id, &home, t0()).await.unwrap());
    assert_eq!(
        store.purge_limits(t0() + TimeDelta::seconds(61), t0() + TimeDelta::seconds(1)).await.unwrap(),
        2,
        "the spent key and the old address"
    );
    assert!(!store.knows_address(&jane.id, &home, t0()).await.unwrap());
    assert_eq!(store.acquire(&key, two_per_minute, t0() + TimeDelta::seconds(61)).await.unwrap(), Admission::Admitted);
}

}
