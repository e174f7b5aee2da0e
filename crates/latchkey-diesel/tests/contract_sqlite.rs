//! The repository contract suite on SQLite: a fresh database file per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use latchkey_diesel::sqlite::SqliteStore;
use tempfile::TempDir;

/// A migrated store in its own directory; the directory (and the file) go away with the guard.
async fn fresh_store() -> Option<(SqliteStore, TempDir)> {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&directory.path().join("latchkey.db"), 8)
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
async fn retries_racing_the_successor_rotation() {
    let Some((store, _guard)) = fresh_store().await else {
        return;
    };
    common::retries_racing_the_successor_rotation(std::sync::Arc::new(store), 6).await;
}
