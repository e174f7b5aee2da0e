//! The repository contract suite on PostgreSQL: a fresh database per test, skipped when no server answers (unless
//! `CI=true`). Set `LATCHKEY_TEST_DATABASE_URL` to use another server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use latchkey_diesel::pg::PgStore;
use latchkey_diesel::test_support::{fresh_postgres_database, TestDatabase};

/// A migrated store on its own database, dropped with the guard.
async fn fresh_store() -> Option<(PgStore, TestDatabase)> {
    store_with_connections(8).await
}

async fn store_with_connections(connections: usize) -> Option<(PgStore, TestDatabase)> {
    let database = fresh_postgres_database().await?;
    let store = PgStore::connect(database.url(), connections).await.unwrap();
    store.run_migrations().await.unwrap();
    Some((store, database))
}

latchkey_domain::repository_contract!(optional: fresh_store());

#[tokio::test]
async fn concurrent_migrations_apply_once_and_health_check_answers() {
    use latchkey_domain::ports::HealthCheck;
    let Some(database) = fresh_postgres_database().await else {
        return;
    };
    let one = PgStore::connect(database.url(), 2).await.unwrap();
    let two = PgStore::connect(database.url(), 2).await.unwrap();
    let (first, second) = tokio::join!(one.run_migrations(), two.run_migrations());
    first.unwrap();
    second.unwrap();
    one.check().await.unwrap();
}

#[tokio::test]
async fn connect_reports_an_unreachable_server_without_its_password() {
    let error = PgStore::connect("postgres://app:s3cret@127.0.0.1:1/latchkey", 1)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("cannot reach PostgreSQL at postgres://app:***@127.0.0.1:1/latchkey: "),
        "{message}"
    );
    assert!(!message.contains("s3cret"));
    // The password in any other place a connection string can hold it.
    for url in [
        "postgres://app@127.0.0.1:1/latchkey?password=s3cret",
        "postgres://app:s3%2Fcret@127.0.0.1:1/latchkey?sslpassword=s3cret",
        "host=127.0.0.1 port=1 user=app password = 's3cret' dbname=latchkey",
    ] {
        let message = PgStore::connect(url, 1).await.unwrap_err().to_string();
        assert!(
            message.starts_with("cannot reach PostgreSQL at "),
            "{message}"
        );
        assert!(
            !message.contains("s3") && !message.contains("cret"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_rotations_rotate_once() {
    let Some((store, _guard)) = fresh_store().await else {
        return;
    };
    common::racing_rotations_rotate_once(std::sync::Arc::new(store), 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_racing_resets_admit_one_and_racing_workers_share_no_email() {
    let Some((store, _guard)) = fresh_store().await else {
        return;
    };
    common::racing_resets_and_claims(std::sync::Arc::new(store), 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retries_racing_the_successor_rotation() {
    let Some((store, _guard)) = fresh_store().await else {
        return;
    };
    common::retries_racing_the_successor_rotation(std::sync::Arc::new(store), 6).await;
}

/// A client retrying a refresh whose answer it lost, while its account is being deleted: the deletion removes the
/// session's tokens in whatever order it finds them, so it may hold the successor while it waits for the spent token
/// the retry holds. The retry must not wait for the successor in turn (that cycle is a deadlock, which PostgreSQL
/// ends by failing one of them): holding the successor's lock here in place of the deletion, the retry still
/// finishes, and treats the successor as spent rather than handing it out again.
#[tokio::test]
async fn a_retried_refresh_does_not_wait_for_a_successor_held_elsewhere() {
    use chrono::TimeDelta;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
    use latchkey_domain::ports::{
        RotationOutcome, RotationRequest, SessionRepository, UserRepository,
    };
    use latchkey_domain::testkit::fixtures::{new_session, new_user, t0};
    use latchkey_domain::TokenHash;

    let Some((store, database)) = fresh_store().await else {
        return;
    };
    let jane = store
        .insert(&new_user("jane", "jane@example.com", None))
        .await
        .unwrap();
    store
        .create(&new_session("s1", &jane.id, "spent", t0()))
        .await
        .unwrap();
    let rotation = RotationRequest {
        presented: TokenHash::of("spent"),
        successor: TokenHash::of("successor"),
        successor_ttl: TimeDelta::days(30),
        now: t0() + TimeDelta::seconds(1),
        grace: TimeDelta::seconds(10),
    };
    store.rotate(&rotation).await.unwrap();

    let mut deletion = AsyncPgConnection::establish(database.url()).await.unwrap();
    deletion.batch_execute("BEGIN").await.unwrap();
    diesel::sql_query("SELECT 1 FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE")
        .bind::<diesel::sql_types::Binary, _>(TokenHash::of("successor").as_bytes().to_vec())
        .execute(&mut deletion)
        .await
        .unwrap();
    let retried = tokio::time::timeout(std::time::Duration::from_secs(10), store.rotate(&rotation))
        .await
        .expect("the retry waited for the successor's lock")
        .unwrap();
    assert!(
        matches!(retried, RotationOutcome::ReuseDetected { .. }),
        "{retried:?}"
    );
    deletion.batch_execute("ROLLBACK").await.unwrap();
}

/// The cancellation rules again with a single pooled connection: every call after an abandoned one then runs on the
/// very connection the abandoned call was using, so a connection handed back mid-query would be caught.
#[tokio::test]
async fn cancellation_rules_on_a_single_connection() {
    use latchkey_domain::testkit::cancellation::*;
    cancellation_rules_on_fresh_stores!(
        cancelled_insert_is_all_or_nothing,
        cancelled_reads_leave_the_store_usable,
        cancelled_create_is_all_or_nothing,
        cancelled_create_login_is_all_or_nothing,
        cancelled_rotate_is_all_or_nothing,
        cancelled_update_password_leaves_the_store_usable,
        cancelled_revocations_leave_the_store_usable,
        cancelled_challenge_and_outbox_calls_are_all_or_nothing,
    );
}

/// The `email_keys` migration re-keys accounts stored under the old keys (see `common::LEGACY_ACCOUNTS`): it is
/// taken back, the accounts are written as an older release wrote them, and the migrations run again.
#[tokio::test]
async fn email_keys_migration_rekeys_stored_accounts_and_settles_collisions() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

    let Some((store, database)) = fresh_store().await else {
        return;
    };
    let mut raw = AsyncPgConnection::establish(database.url()).await.unwrap();
    raw.batch_execute(
        "DROP TABLE email_rekey; \
         DELETE FROM __diesel_schema_migrations WHERE version = '20261123000400';",
    )
    .await
    .unwrap();
    for (id, email, key, created) in common::LEGACY_ACCOUNTS {
        raw.batch_execute(&format!(
            "INSERT INTO users (id, email, email_key, credits, password_hash, created_at, updated_at) \
             VALUES ('{id}', '{email}', '{key}', 0, 'x', to_timestamp({created}), to_timestamp({created}));"
        ))
        .await
        .unwrap();
    }

    store.run_migrations().await.unwrap();
    store.run_migrations().await.unwrap();

    let keys = diesel::sql_query("SELECT id, email_key FROM users")
        .load::<common::StoredKey>(&mut raw)
        .await
        .unwrap();
    let keys: Vec<_> = keys.into_iter().map(|k| (k.id, k.email_key)).collect();
    common::assert_legacy_accounts_rekeyed(&store, &keys).await;
    let left: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM email_rekey)",
    ))
    .get_result(&mut raw)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

/// The `credit_ledger` migration gives accounts stored before it an opening entry equal to their balance.
#[tokio::test]
async fn credit_ledger_migration_opens_the_ledger_of_existing_accounts() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

    let Some((store, database)) = fresh_store().await else {
        return;
    };
    let mut raw = AsyncPgConnection::establish(database.url()).await.unwrap();
    raw.batch_execute(common::UNDO_LEDGER_MIGRATION)
        .await
        .unwrap();
    for (id, credits, created) in common::PRE_LEDGER_ACCOUNTS {
        raw.batch_execute(&format!(
            "INSERT INTO users (id, email, email_key, credits, password_hash, created_at, updated_at) \
             VALUES ('{id}', '{id}@example.com', '{id}@example.com', {credits}, 'x', to_timestamp({created}), \
             to_timestamp({created}));"
        ))
        .await
        .unwrap();
    }
    store.run_migrations().await.unwrap();
    store.run_migrations().await.unwrap();
    common::assert_pre_ledger_accounts_opened(&store).await;
}
