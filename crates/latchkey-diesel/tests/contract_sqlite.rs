//! The repository contract suite on SQLite: a fresh database file per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use latchkey_diesel::sqlite::SqliteStore;
use tempfile::TempDir;

/// A migrated store in its own directory; the directory (and the file) go away with the guard.
async fn fresh_store() -> Option<(SqliteStore, TempDir)> {
    store_with_connections(8).await
}

async fn store_with_connections(connections: usize) -> Option<(SqliteStore, TempDir)> {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("latchkey.db"), connections)
        .await
        .unwrap();
    store.run_migrations().await.unwrap();
    Some((store, directory))
}

latchkey_domain::repository_contract!(optional: fresh_store());

#[tokio::test]
async fn migrations_are_idempotent_wal_is_on_and_health_check_answers() {
    use latchkey_domain::ports::HealthCheck;
    let (store, directory) = fresh_store().await.unwrap();
    store.run_migrations().await.unwrap();
    store.check().await.unwrap();
    assert!(
        directory.path().join("latchkey.db-wal").exists(),
        "connections run in WAL mode"
    );
}

#[tokio::test]
async fn open_reports_an_unusable_path() {
    let directory = tempfile::tempdir().unwrap();
    let blocker = directory.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    let error = SqliteStore::open(&blocker.join("latchkey.db"), 1)
        .await
        .unwrap_err();
    assert!(
        error.to_string().starts_with("cannot open SQLite database"),
        "{error}"
    );
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
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};

    let (store, directory) = fresh_store().await.unwrap();
    let mut raw =
        diesel::SqliteConnection::establish(directory.path().join("latchkey.db").to_str().unwrap())
            .unwrap();
    raw.batch_execute(
        "DROP TABLE email_rekey; \
         DELETE FROM __diesel_schema_migrations WHERE version = '20261123000400';",
    )
    .unwrap();
    for (id, email, key, created) in common::LEGACY_ACCOUNTS {
        raw.batch_execute(&format!(
            "INSERT INTO users (id, email, email_key, credits, password_hash, created_at, updated_at) \
             VALUES ('{id}', '{email}', '{key}', 0, 'x', {created}000000, {created}000000);"
        ))
        .unwrap();
    }

    store.run_migrations().await.unwrap();
    store.run_migrations().await.unwrap();

    let keys = diesel::sql_query("SELECT id, email_key FROM users")
        .load::<common::StoredKey>(&mut raw)
        .unwrap();
    let keys: Vec<_> = keys.into_iter().map(|k| (k.id, k.email_key)).collect();
    common::assert_legacy_accounts_rekeyed(&store, &keys).await;
    let left: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM email_rekey)",
    ))
    .get_result(&mut raw)
    .unwrap();
    assert_eq!(left, 0);
}

/// The `credit_ledger` migration gives accounts stored before it an opening entry equal to their balance.
#[tokio::test]
async fn credit_ledger_migration_opens_the_ledger_of_existing_accounts() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    let (store, directory) = fresh_store().await.unwrap();
    let mut raw =
        diesel::SqliteConnection::establish(directory.path().join("latchkey.db").to_str().unwrap())
            .unwrap();
    raw.batch_execute(common::UNDO_LEDGER_MIGRATION).unwrap();
    for (id, credits, created) in common::PRE_LEDGER_ACCOUNTS {
        raw.batch_execute(&format!(
            "INSERT INTO users (id, email, email_key, credits, password_hash, created_at, updated_at) \
             VALUES ('{id}', '{id}@example.com', '{id}@example.com', {credits}, 'x', {created}000000, {created}000000);"
        ))
        .unwrap();
    }
    store.run_migrations().await.unwrap();
    store.run_migrations().await.unwrap();
    common::assert_pre_ledger_accounts_opened(&store).await;
}

/// What the planner does with the live-session lookups (the sessions beyond a login's cap, the session list, the
/// per-user revocations), written out as the adapter's queries read: each must walk the partial index of live
/// sessions, not every session the user ever had, revoked ones included.
#[tokio::test]
async fn live_session_lookups_walk_only_live_sessions() {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    let (_store, directory) = fresh_store().await.unwrap();
    let path = directory.path().join("latchkey.db");
    let mut connection = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    let live = "user_id = 'u' AND revoked_at IS NULL AND expires_at > 0";
    let plan_of = |query: &str, connection: &mut SqliteConnection| -> Vec<String> {
        let plan: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
            .load(connection)
            .unwrap();
        plan.into_iter().map(|step| step.detail).collect()
    };
    // The sessions beyond a login's cap come from the index alone, in its order (no sort, no table row).
    let beyond_the_cap = format!(
        "SELECT id FROM sessions WHERE {live} ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET 99"
    );
    assert_eq!(
        plan_of(&beyond_the_cap, &mut connection),
        ["SEARCH sessions USING COVERING INDEX sessions_live_by_user (user_id=?)"]
    );
    for query in [
        format!("SELECT * FROM sessions WHERE {live} ORDER BY created_at DESC, id DESC"),
        "UPDATE sessions SET revoked_at = 1 WHERE user_id = 'u' AND revoked_at IS NULL".to_owned(),
    ] {
        let plan = plan_of(&query, &mut connection);
        assert!(
            plan.iter()
                .any(|step| step.contains("sessions_live_by_user")),
            "{query}: {plan:?}"
        );
    }
}
