//! Checks beyond the contract suite that need real parallelism (a multi-threaded runtime, many connections).

use std::sync::Arc;

use chrono::TimeDelta;
use latchkey_domain::ports::{RotationOutcome, RotationRequest, SessionRepository, UserRepository};
use latchkey_domain::testkit::fixtures::{new_session, new_user, t0};
use latchkey_domain::TokenHash;

/// Rotates one token from `parallel` tasks at once, for several generations of the token family: each time
/// exactly one rotation wins and the others are told about it as retries; the session survives throughout.
pub async fn racing_rotations_rotate_once<S>(store: Arc<S>, parallel: usize)
where
    S: UserRepository + SessionRepository + 'static,
{
    let user = store
        .insert(&new_user("racer", "racer@example.com", None))
        .await
        .unwrap();
    let session = store
        .create(&new_session("race", &user.id, "gen-0", t0()))
        .await
        .unwrap();
    for generation in 0..10 {
        let request = RotationRequest {
            presented: TokenHash::of(&format!("gen-{generation}")),
            successor: TokenHash::of(&format!("gen-{}", generation + 1)),
            successor_ttl: TimeDelta::days(30),
            now: t0() + TimeDelta::minutes(generation),
            grace: TimeDelta::seconds(10),
        };
        let tasks: Vec<_> = (0..parallel)
            .map(|_| {
                let (store, request) = (Arc::clone(&store), request.clone());
                tokio::spawn(async move { store.rotate(&request).await })
            })
            .collect();
        let (mut rotated, mut retried) = (0, 0);
        for task in tasks {
            match task.await.unwrap().unwrap() {
                RotationOutcome::Rotated { rotated_at, .. } => {
                    assert_eq!(rotated_at, request.now);
                    rotated += 1;
                }
                RotationOutcome::Retried { rotated_at, .. } => {
                    assert_eq!(rotated_at, request.now);
                    retried += 1;
                }
                other => panic!("generation {generation}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            (rotated, retried),
            (1, parallel - 1),
            "generation {generation}"
        );
    }
    assert!(store
        .is_active(&session.id, &user.id, t0() + TimeDelta::hours(1))
        .await
        .unwrap());
}

/// Retries the rotation of a spent token from `parallel` tasks while the successor it handed out is rotated in turn,
/// on fresh sessions, many times: no request fails (in particular, no deadlock between the retries' lock on the
/// successor and its rotation), and the outcomes are consistent with some serial order.
pub async fn retries_racing_the_successor_rotation<S>(store: Arc<S>, parallel: usize)
where
    S: UserRepository + SessionRepository + 'static,
{
    let user = store
        .insert(&new_user("retrier", "retrier@example.com", None))
        .await
        .unwrap();
    let request = |presented: &str, successor: &str, seconds| RotationRequest {
        presented: TokenHash::of(presented),
        successor: TokenHash::of(successor),
        successor_ttl: TimeDelta::days(30),
        now: t0() + TimeDelta::seconds(seconds),
        grace: TimeDelta::seconds(10),
    };
    for round in 0..20 {
        let (first, second, third) = (
            format!("r{round}-0"),
            format!("r{round}-1"),
            format!("r{round}-2"),
        );
        let session = store
            .create(&new_session(
                &format!("retry{round}"),
                &user.id,
                &first,
                t0(),
            ))
            .await
            .unwrap();
        let rotated = store.rotate(&request(&first, &second, 1)).await.unwrap();
        assert!(matches!(rotated, RotationOutcome::Rotated { .. }));

        let retry = request(&first, &second, 2);
        let mut tasks: Vec<_> = (0..parallel)
            .map(|_| {
                let (store, retry) = (Arc::clone(&store), retry.clone());
                tokio::spawn(async move { store.rotate(&retry).await })
            })
            .collect();
        let next = request(&second, &third, 2);
        let rotation = {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.rotate(&next).await })
        };
        tasks.push(rotation);
        let mut outcomes: Vec<_> = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap().unwrap());
        }
        let successor_outcome = outcomes.pop().unwrap();
        let reuse = outcomes
            .iter()
            .filter(|o| matches!(o, RotationOutcome::ReuseDetected { .. }))
            .count();
        for outcome in &outcomes {
            match outcome {
                RotationOutcome::Retried { .. } | RotationOutcome::ReuseDetected { .. } => {}
                // After a replay revoked the session, the token is refused.
                RotationOutcome::Rejected => assert!(reuse > 0, "round {round}"),
                other => panic!("round {round}: retry got {other:?}"),
            }
        }
        match successor_outcome {
            // Some retries came after it and saw the successor spent: a replay, which revokes the session.
            RotationOutcome::Rotated { .. } => {}
            // A replay was detected first: the session was revoked, so the successor is refused.
            RotationOutcome::Rejected => assert!(reuse > 0, "round {round}"),
            other => panic!("round {round}: successor rotation got {other:?}"),
        }
        assert_eq!(
            store
                .is_active(&session.id, &user.id, t0() + TimeDelta::hours(1))
                .await
                .unwrap(),
            reuse == 0,
            "round {round}"
        );
    }
}

/// Spends one reset token from `parallel` tasks at once: exactly one sets its password; and claims the outbox
/// from `parallel` workers at once: no email goes to two of them.
pub async fn racing_resets_and_claims<S>(store: Arc<S>, parallel: usize)
where
    S: UserRepository
        + latchkey_domain::ports::ChallengeRepository
        + latchkey_domain::ports::Outbox
        + 'static,
{
    use latchkey_domain::testkit::fixtures::reset;
    use latchkey_domain::PasswordHash;
    let user = store
        .insert(&new_user("racer", "racer@example.com", None))
        .await
        .unwrap();
    store
        .issue_reset(&user.email, &reset("tok", t0()), TimeDelta::zero())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..parallel)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let hash = PasswordHash::new(format!("$fake${n}"));
                store
                    .reset_password(&TokenHash::of("tok"), &hash, t0())
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        winners += usize::from(task.await.unwrap().unwrap().is_some());
    }
    assert_eq!(winners, 1, "exactly one reset wins");

    for n in 0..parallel {
        let other = store
            .insert(&new_user(
                &format!("o{n}"),
                &format!("o{n}@example.com"),
                None,
            ))
            .await
            .unwrap();
        store
            .issue_reset(
                &other.email,
                &reset(&format!("t{n}"), t0()),
                TimeDelta::zero(),
            )
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..parallel)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .claim(t0() + TimeDelta::minutes(1), TimeDelta::minutes(5), 3)
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for worker in workers {
        ids.extend(worker.await.unwrap().unwrap().into_iter().map(|c| c.id));
    }
    let claimed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "no email was claimed twice");
    assert_eq!(claimed, parallel + 1, "every due email was claimed");
}

/// Accounts as releases before the `email_keys` migration stored them, keyed by the Unicode lowercase of the whole
/// address: (id, address, that key, seconds after the epoch it was created).
pub const LEGACY_ACCOUNTS: [(&str, &str, &str, i64); 7] = [
    ("usr_kate", "kate@example.com", "kate@example.com", 1),
    // A KELVIN SIGN: the old key made it kate's, on a domain where kate has no account yet.
    (
        "usr_kelvin",
        "\u{212A}ate@other.example",
        "kate@other.example",
        2,
    ),
    (
        "usr_jose_nfc",
        "Jos\u{E9}@example.com",
        "jos\u{E9}@example.com",
        3,
    ),
    // The same address in NFD, registered later: one mailbox under the new keys.
    (
        "usr_jose_nfd",
        "jose\u{301}@example.com",
        "jose\u{301}@example.com",
        4,
    ),
    // An IDN domain in Unicode, and later the same domain in punycode: the older one is not the ASCII one.
    (
        "usr_ann_unicode",
        "ann@b\u{FC}cher.example",
        "ann@b\u{FC}cher.example",
        5,
    ),
    (
        "usr_ann_ascii",
        "ann@xn--bcher-kva.example",
        "ann@xn--bcher-kva.example",
        6,
    ),
    (
        "usr_emile",
        "\u{C9}mile@example.com",
        "\u{E9}mile@example.com",
        7,
    ),
];

/// What the `email_keys` migration must leave of [`LEGACY_ACCOUNTS`], given every stored `(id, email_key)`.
pub async fn assert_legacy_accounts_rekeyed<S: UserRepository>(
    store: &S,
    keys: &[(String, String)],
) {
    use latchkey_domain::ports::UserLookup;
    use latchkey_domain::Email;

    let key_of = |id: &str| {
        keys.iter()
            .find(|(stored, _)| stored == id)
            .map(|(_, key)| key.as_str())
            .unwrap()
            .to_owned()
    };
    assert_eq!(key_of("usr_kate"), "kate@example.com");
    assert_eq!(key_of("usr_kelvin"), "\u{212A}ate@other.example");
    assert_eq!(key_of("usr_jose_nfc"), "jos\u{E9}@example.com");
    assert_eq!(
        key_of("usr_jose_nfd"),
        "collision:usr_jose_nfd",
        "the newer loses"
    );
    assert_eq!(key_of("usr_ann_unicode"), "ann@xn--bcher-kva.example");
    assert_eq!(
        key_of("usr_ann_ascii"),
        "collision:usr_ann_ascii",
        "the newer loses"
    );
    assert_eq!(key_of("usr_emile"), "\u{C9}mile@example.com");

    let find = |address: &str| {
        let lookup = UserLookup::Email(Email::parse(address).unwrap());
        async move {
            store
                .find_credentials(&lookup)
                .await
                .unwrap()
                .map(|c| c.user.id.as_str().to_owned())
        }
    };
    assert_eq!(find("kate@other.example").await, None, "no longer kelvin's");
    assert_eq!(find("KATE@example.com").await.as_deref(), Some("usr_kate"));
    assert_eq!(
        find("jose\u{301}@EXAMPLE.com").await.as_deref(),
        Some("usr_jose_nfc")
    );
    assert_eq!(
        find("ann@xn--bcher-kva.example").await.as_deref(),
        Some("usr_ann_unicode")
    );
    assert_eq!(
        find("\u{C9}mile@example.com").await.as_deref(),
        Some("usr_emile")
    );
    assert_eq!(find("\u{E9}mile@example.com").await, None);
    // The real kate of other.example can now register.
    store
        .insert(&new_user("kate2", "kate@other.example", None))
        .await
        .unwrap();
}

/// An account's stored email key, read with raw SQL.
#[derive(diesel::QueryableByName)]
pub struct StoredKey {
    /// The account.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub id: String,
    /// Its key as stored.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub email_key: String,
}

/// Accounts an older release stored before the ledger: `(id, credits, created)`.
pub const PRE_LEDGER_ACCOUNTS: [(&str, i64, i64); 2] = [("usr_rich", 500, 1), ("usr_broke", 0, 2)];

/// The SQL that takes the `credit_ledger` migration back, so that accounts can be written as before it.
pub const UNDO_LEDGER_MIGRATION: &str = "DROP TABLE idempotency_keys; DROP TABLE credit_ledger; \
     DELETE FROM __diesel_schema_migrations WHERE version = '20261124000100';";

/// What the `credit_ledger` migration must leave of [`PRE_LEDGER_ACCOUNTS`]: an opening entry equal to each positive
/// balance, so balance == sum(ledger) holds for them too, and a ledger that works on.
pub async fn assert_pre_ledger_accounts_opened<S>(store: &S)
where
    S: latchkey_domain::ports::CreditLedger,
{
    use latchkey_domain::ports::GrantRequest;
    use latchkey_domain::{LedgerEntryId, LedgerKind, UserId};

    let rich = UserId::parse("usr_rich").unwrap();
    let entries = store.list_entries(&rich, None, 10).await.unwrap();
    assert_eq!(entries.len(), 1);
    let opening = &entries[0];
    assert_eq!(
        (opening.kind, opening.amount, opening.balance_after),
        (LedgerKind::Welcome, 500, 500)
    );
    assert_eq!(opening.reason.as_deref(), Some("opening balance"));
    let broke = UserId::parse("usr_broke").unwrap();
    assert!(store
        .list_entries(&broke, None, 10)
        .await
        .unwrap()
        .is_empty());
    let granted = store
        .grant(&GrantRequest::grant(
            rich,
            LedgerEntryId::from_random("g"),
            1,
            Some("x".into()),
            chrono::Utc::now(),
        ))
        .await
        .unwrap();
    assert!(
        matches!(granted, latchkey_domain::ports::GrantOutcome::Granted(entry) if entry.balance_after == 501)
    );
}

/// Runs each named cancellation rule on a fresh store of one pooled connection (`store_with_connections(1)`, defined
/// by the calling test file; none, and the test is skipped). The names must be every `cancellation::` rule of the
/// suite, in its order: a rule added to the suite but not here fails the test instead of silently not running.
#[macro_export]
macro_rules! cancellation_rules_on_fresh_stores {
    ($($rule:ident),+ $(,)?) => {
        let listed = [$(concat!("cancellation::", stringify!($rule))),+];
        let in_the_suite: Vec<&str> = latchkey_domain::testkit::RULES
            .iter()
            .copied()
            .filter(|rule| rule.starts_with("cancellation::"))
            .collect();
        assert_eq!(listed.to_vec(), in_the_suite, "run every cancellation rule on one connection");
        $(
            let Some((store, _guard)) = store_with_connections(1).await else {
                return;
            };
            $rule(&store).await;
        )+
    };
}
