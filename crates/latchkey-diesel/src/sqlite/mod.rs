//! The SQLite store: the zero-setup backend, one file in WAL mode.
//!
//! Connections are [`SyncConnectionWrapper`]s in a bounded deadpool pool, handed out most recently used first.
//! Each port method's work, every statement of it, runs in one call on tokio's blocking pool, so SQLite's waits
//! (the write lock, a synced commit) never stall the async workers, a transaction costs one hop to another thread
//! rather than one per statement, and a cancelled request cannot leave a connection mid-call. The reads by key every
//! request makes are the exception: they run in place on the calling thread, where one read costs less than the hop
//! (both in `crate::pool::run_raw_on_sqlite`). Every connection is set up with
//! [`CONNECTION_PRAGMAS`]. Port methods that write run inside `BEGIN IMMEDIATE` transactions: they take SQLite's
//! single write lock up front, so two connections never both read under a shared lock and then deadlock trying to
//! upgrade it (which SQLite reports as `SQLITE_BUSY` without waiting for the busy timeout). That also makes each
//! write transaction serialisable, so `rotate` may decide on what it read.

/// No row locks on SQLite: every write transaction holds the database's write lock from its start.
macro_rules! locked {
    ($query:expr) => {
        $query
    };
}

/// Nothing to skip on SQLite: write transactions take turns on the database's write lock, so no row is ever held by
/// another.
macro_rules! locked_or_skipped {
    ($query:expr) => {
        $query
    };
}

// The repository bodies are shared with the other backend: see the crate documentation.
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/challenges.rs"]
mod challenges;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/credentials.rs"]
mod credentials;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/email_changes.rs"]
mod email_changes;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/events.rs"]
mod events;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/ledger.rs"]
mod ledger;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/limiter.rs"]
mod limiter;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/outbox.rs"]
mod outbox;
#[cfg(test)]
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/prepared_tests.rs"]
mod prepared_tests;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/revoke.rs"]
mod revoke;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/sessions.rs"]
mod sessions;
#[allow(clippy::duplicate_mod)]
#[path = "../repositories/users.rs"]
mod users;
// The email re-keying that follows the migrations, shared with the other backend.
#[allow(clippy::duplicate_mod)]
#[path = "../rekey.rs"]
mod rekey;

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use deadpool::managed::QueueMode;
use diesel::connection::AnsiTransactionManager;
use diesel::{ConnectionError, ConnectionResult, QueryResult, SqliteConnection};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection, TransactionManager};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use latchkey_domain::ports::HealthCheck;
use latchkey_domain::PortError;

use crate::error::{innermost, Cause, ConnectError};
use crate::pool::{BlockingCalls, Pooled, Work};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Run on every new connection. The busy timeout comes first so that switching to WAL waits for other connections
/// instead of failing. `synchronous = FULL` syncs the WAL at every commit: an answered registration, charge or
/// password change survives a power loss or an operating-system crash, not only the process's (`NORMAL`, 5-35 %
/// more charges a second in `docs/benchmarks.md`, may lose the last commits then). Foreign keys are off by default
/// in SQLite and the cascades need them.
pub const CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                                      PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/// Blocking calls through [`BlockingCalls`], which is safe to drop on actix's current-thread workers.
type Connection = SyncConnectionWrapper<SqliteConnection, BlockingCalls>;

/// What the shared repository bodies implement the ports for.
type Store = SqliteStore;

/// The synchronous connection the migration harness (and `rekey`) runs on.
type MigrationConnection = SqliteConnection;

/// Nothing to do: `rekey` runs in the migrations' `BEGIN IMMEDIATE` transaction, which holds the write lock.
fn lock_users(_connection: &mut MigrationConnection) -> QueryResult<()> {
    Ok(())
}

/// Users, sessions and refresh tokens in one SQLite file.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<Connection>,
    path: PathBuf,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("max_connections", &self.pool.status().max_size)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating it and its directory if needed) the database file at `path`, with a pool of at most
    /// `max_connections` connections. One connection is opened at once so that an unwritable path is reported at
    /// start-up.
    ///
    /// # Errors
    /// [`ConnectError::SqliteUnavailable`] when the path is not UTF-8, its directory cannot be created, or the file
    /// cannot be opened and set up.
    pub async fn open(path: &Path, max_connections: usize) -> Result<Self, ConnectError> {
        let unavailable = |reason: Cause| ConnectError::SqliteUnavailable {
            path: path.display().to_string(),
            reason,
        };
        let url = path
            .to_str()
            .ok_or_else(|| unavailable("the path is not valid UTF-8".into()))?
            .to_owned();
        if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(directory).map_err(|e| unavailable(e.into()))?;
        }
        let mut config = ManagerConfig::default();
        // The file is local: a broken connection is rare and detected on use, so skip the ping on every checkout.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(|url| Box::pin(establish(url.to_owned())));
        let manager = AsyncDieselConnectionManager::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            // The most recently used connection first: SQLite drops a connection's page cache whenever another
            // connection wrote since it last read, so rotating through the whole pool (the default, FIFO) re-reads
            // every page a transaction touches; reusing the connection that wrote last keeps its cache.
            .queue_mode(QueueMode::Lifo)
            .build()
            .map_err(|e| unavailable(e.into()))?;
        let store = Self {
            pool,
            path: path.to_owned(),
        };
        let first = store
            .connection("open")
            .await
            .map_err(|e| unavailable(innermost(&e)))?;
        drop(first);
        Ok(store)
    }

    /// Applies the pending embedded migrations (`migrations/sqlite`) in one `BEGIN IMMEDIATE` transaction, so
    /// processes starting at once on the same file apply them one after the other, and a failure leaves the schema
    /// as it was.
    ///
    /// Diesel's harness is synchronous; it runs on a blocking thread with the pooled connection's inner
    /// [`SqliteConnection`], so it is safe on a current-thread runtime.
    ///
    /// # Errors
    /// [`ConnectError::SqliteUnavailable`] without a connection; [`ConnectError::Migration`] when a migration fails.
    pub async fn run_migrations(&self) -> Result<(), ConnectError> {
        let mut connection =
            self.connection("migrate")
                .await
                .map_err(|e| ConnectError::SqliteUnavailable {
                    path: self.path.display().to_string(),
                    reason: innermost(&e),
                })?;
        let migrated = connection
            .spawn_blocking(|connection| {
                Ok(
                    connection.immediate_transaction(|connection| -> Result<(), Cause> {
                        connection.run_pending_migrations(MIGRATIONS)?;
                        Ok(rekey::rekey_emails(connection)?)
                    }),
                )
            })
            .await;
        let reason = match migrated {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => error,
            Err(error) => error.into(),
        };
        Err(ConnectError::Migration {
            backend: "SQLite",
            reason,
        })
    }

    /// A pooled connection, waiting at most [`ACQUIRE_TIMEOUT`](crate::pool::ACQUIRE_TIMEOUT).
    async fn connection(&self, context: &'static str) -> Result<Object<Connection>, PortError> {
        crate::pool::acquire(context, self.pool.get()).await
    }
}

impl crate::pool::Pooled for SqliteStore {
    type Connection = Connection;
    type Object = Object<Connection>;
    type Error = diesel_async::pooled_connection::deadpool::PoolError;

    fn checkout(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Object, Self::Error>> + Send + 'static {
        let pool = self.pool.clone();
        async move { pool.get().await }
    }

    /// Each port method's statements, BEGIN and COMMIT included, run in one blocking call rather than one each; a
    /// read by key runs in place on the calling thread, cheaper than the two thread wake-ups of a blocking call.
    fn run_raw_as<R, F>(
        &self,
        access: crate::pool::Access,
        context: &'static str,
        work: F,
    ) -> impl std::future::Future<Output = Result<QueryResult<R>, PortError>> + Send + 'static
    where
        F: for<'c> FnOnce(&'c mut Connection) -> Work<'c, QueryResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        crate::pool::run_raw_on_sqlite(access, context, self.checkout(), discard, work)
    }
}

/// Closes a connection instead of returning it to the pool: one whose unit of work panicked, perhaps inside a
/// transaction, which closing rolls back (releasing SQLite's write lock), or one whose call panicked, leaving its lock
/// poisoned.
fn discard(connection: Object<Connection>) {
    drop(Object::take(connection));
}

/// Where this process's write transactions queue for their turn before `BEGIN IMMEDIATE`.
///
/// SQLite admits one writer per file; a connection that finds the write lock taken does not wait in line but sleeps
/// in SQLite's busy handler, in steps growing to 100 ms, and tries again. Under a load of writes (charges, logins)
/// that sleeping made the slowest writes wait most of a second while the lock sat free (docs/benchmarks.md). Queued
/// here first, a transaction finds the lock free unless another process holds it. One queue for the whole process:
/// a deployment has one database file; tests with many files merely take turns.
static WRITERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `body` in a `BEGIN IMMEDIATE` transaction, committing if it succeeds and rolling back if it fails.
///
/// Taking the write lock up front means two connections never both read under a shared lock and then deadlock
/// upgrading it (which SQLite reports as `SQLITE_BUSY` at once, without waiting for the busy timeout); it also makes
/// each write transaction serialisable, so `rotate` may decide on what it read. The transaction is begun through
/// diesel's transaction manager, so a connection abandoned mid-transaction is known to be in one and is discarded
/// by the pool rather than reused; a body that panics mid-transaction loses its connection (see `discard`).
///
/// The transaction runs in one blocking call (`crate::pool::run_raw_on_sqlite`): `body` may await its
/// connection's calls, nothing else.
fn write_transaction<'c, R, F>(connection: &'c mut Connection, body: F) -> Work<'c, QueryResult<R>>
where
    F: for<'t> FnOnce(&'t mut Connection) -> Work<'t, QueryResult<R>> + Send + 'c,
    R: Send + 'c,
{
    type Manager = <Connection as AsyncConnection>::TransactionManager;
    Box::pin(async move {
        // A read run in place holds an async worker; a write would hold it through the write lock and the sync.
        if crate::pool::reading_in_place() {
            return Err(diesel::result::Error::QueryBuilderError(
                "a write transaction inside a read run in place".into(),
            ));
        }
        let _turn = WRITERS.lock().await;
        connection
            .spawn_blocking(|connection| {
                AnsiTransactionManager::begin_transaction_sql(connection, "BEGIN IMMEDIATE")
            })
            .await?;
        match body(connection).await {
            Ok(value) => {
                Manager::commit_transaction(connection).await?;
                Ok(value)
            }
            Err(error) => match Manager::rollback_transaction(connection).await {
                // The body's error says more than a failed rollback of the transaction it broke.
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback_error) => Err(rollback_error),
            },
        }
    })
}

/// Opens one connection and applies [`CONNECTION_PRAGMAS`] before the pool hands it out.
async fn establish(url: String) -> ConnectionResult<Connection> {
    let mut connection = Connection::establish(&url).await?;
    connection
        .batch_execute(CONNECTION_PRAGMAS)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(connection)
}

#[async_trait]
impl HealthCheck for SqliteStore {
    async fn check(&self) -> Result<(), PortError> {
        self.run("check database", |connection| {
            Box::pin(async move {
                diesel::sql_query("SELECT 1")
                    .execute(connection)
                    .await
                    .map(drop)
            })
        })
        .await
    }
}

/// A migrated store with `connections` connections on a fresh file, for the tests the backends share; the directory
/// guard deletes the file when dropped. `Some` unless the migrations fail (the other backend's may find no server).
#[cfg(test)]
async fn store_for_tests(
    connections: usize,
) -> Option<(Box<dyn std::any::Any + Send>, SqliteStore)> {
    let (directory, store) = tests::fresh_store(connections).await;
    store.run_migrations().await.ok()?;
    Some((Box::new(directory), store))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use diesel::sql_types::{Integer, Text};
    use diesel::{Connection as _, QueryResult, QueryableByName};
    use diesel_async::RunQueryDsl;
    use latchkey_domain::PortError;

    use super::{write_transaction, SqliteStore};
    use crate::pool::Pooled;

    #[derive(QueryableByName)]
    struct Pragmas {
        #[diesel(sql_type = Text)]
        journal_mode: String,
        #[diesel(sql_type = Integer)]
        synchronous: i32,
        #[diesel(sql_type = Integer)]
        foreign_keys: i32,
    }

    /// A store on a fresh file in a directory of its own (deleted when the directory is dropped), with a pool of
    /// `connections`.
    pub(super) async fn fresh_store(connections: usize) -> (tempfile::TempDir, SqliteStore) {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&directory.path().join("latchkey.db"), connections)
            .await
            .unwrap();
        (directory, store)
    }

    #[tokio::test]
    async fn a_port_methods_statements_run_in_one_blocking_call_off_the_async_thread() {
        let (_directory, store) = fresh_store(1).await;
        let caller = std::thread::current().id();
        let (driver, statement) = store
            .run("test", |connection| {
                Box::pin(async move {
                    let driver = std::thread::current().id();
                    let statement = connection
                        .spawn_blocking(|_| Ok(std::thread::current().id()))
                        .await?;
                    Ok((driver, statement))
                })
            })
            .await
            .unwrap();
        // Off the async worker, so SQLite's waits never stall it; and in place, not a hop per statement.
        assert_ne!(driver, caller);
        assert_eq!(statement, driver);
    }

    #[tokio::test]
    async fn a_read_runs_in_place_on_the_calling_thread_and_leaves_other_calls_spawned() {
        let (_directory, store) = fresh_store(1).await;
        let caller = std::thread::current().id();
        let statement = store
            .read("test", |connection| {
                Box::pin(async move {
                    connection
                        .spawn_blocking(|_| Ok(std::thread::current().id()))
                        .await
                })
            })
            .await
            .unwrap();
        // No hop to a blocking thread and back for a read by key.
        assert_eq!(statement, caller);
        // Not while the read waits: a task that runs meanwhile on the same thread calls as usual.
        let meanwhile = store
            .read("test", |_| {
                Box::pin(async move {
                    let sibling = tokio::spawn(async { crate::pool::reading_in_place() });
                    tokio::task::yield_now().await;
                    Ok(sibling.await.unwrap())
                })
            })
            .await
            .unwrap();
        assert!(
            !meanwhile,
            "a task run while the read waited saw itself reading"
        );
        // Only while the read is polled: a call outside it (a connection's set-up, say) still goes to the pool.
        let mut outside = store.connection("test").await.unwrap();
        let elsewhere = outside
            .spawn_blocking(|_| Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_ne!(elsewhere, caller);
    }

    #[tokio::test]
    async fn a_read_that_begins_a_write_transaction_is_refused() {
        let (_directory, store) = fresh_store(1).await;
        let result = store
            .run_raw_as(crate::pool::Access::ReadByKey, "test", |connection| {
                write_transaction(connection, |_| Box::pin(async { Ok(()) }))
            })
            .await
            .unwrap();
        let error = result.expect_err("the write ran on the async worker");
        assert!(
            error
                .to_string()
                .contains("a write transaction inside a read run in place"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_statement_that_panics_in_a_read_closes_its_connection_and_the_next_read_works() {
        // One connection: the next read would get the one whose call panicked, its lock poisoned.
        let (_directory, store) = fresh_store(1).await;
        let panicked = store
            .run_raw_as(crate::pool::Access::ReadByKey, "test", |connection| {
                Box::pin(async move {
                    connection
                        .spawn_blocking(|_| -> QueryResult<()> { panic!("a statement panics") })
                        .await
                })
            })
            .await;
        assert!(matches!(panicked, Ok(Err(_))), "{panicked:?}");
        let next = store
            .read("test", |connection| {
                Box::pin(async move { diesel::sql_query("SELECT 1").execute(connection).await })
            })
            .await;
        assert!(next.is_ok(), "{next:?}");
    }

    /// A write transaction on `store` that creates table `name`, through the same path as every port method.
    async fn create_table(store: &SqliteStore, name: &'static str) -> Result<(), PortError> {
        store
            .run("test", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        diesel::sql_query(format!("CREATE TABLE {name} (x INTEGER)"))
                            .execute(connection)
                            .await
                            .map(drop)
                    })
                })
            })
            .await
    }

    #[tokio::test]
    async fn a_statement_that_panics_rolls_its_transaction_back_and_leaves_the_connection_usable() {
        // One connection: the write after the panic runs on the connection that panicked.
        let (_directory, store) = fresh_store(1).await;
        let panicked = store
            .run_raw("test", |connection| {
                write_transaction(connection, |connection| {
                    Box::pin(async move {
                        diesel::sql_query("CREATE TABLE lost (x INTEGER)")
                            .execute(connection)
                            .await?;
                        connection
                            .spawn_blocking(|_| -> QueryResult<()> { panic!("a statement panics") })
                            .await
                    })
                })
            })
            .await;
        // The statement's error, as a call spawned on the blocking pool would report it; so the transaction was
        // rolled back on the connection, which stays in the pool.
        assert!(matches!(panicked, Ok(Err(_))), "{panicked:?}");
        create_table(&store, "kept").await.unwrap();
        let tables: Vec<Name> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE name IN ('lost', 'kept') ORDER BY name",
        )
        .load(&mut *store.connection("test").await.unwrap())
        .await
        .unwrap();
        let names: Vec<_> = tables.into_iter().map(|table| table.name).collect();
        assert_eq!(names, ["kept"]);
    }

    #[tokio::test]
    async fn a_unit_of_work_that_panics_mid_transaction_closes_its_connection_releasing_the_write_lock(
    ) {
        let (directory, store) = fresh_store(2).await;
        let path = directory.path().join("latchkey.db");
        let panicked: Result<(), PortError> = store
            .run("test", |connection| {
                write_transaction(connection, |connection| {
                    Box::pin(async move {
                        diesel::sql_query("CREATE TABLE lost (x INTEGER)")
                            .execute(connection)
                            .await?;
                        panic!("the body panics between statements");
                    })
                })
            })
            .await;
        assert!(panicked.is_err());
        // Another connection, outside the pool and without a busy timeout, takes the write lock at once: the
        // connection that panicked in its transaction is closed, not idle in the pool holding the lock.
        let mut other = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        diesel::connection::SimpleConnection::batch_execute(
            &mut other,
            "BEGIN IMMEDIATE; CREATE TABLE kept (x INTEGER); COMMIT;",
        )
        .unwrap();
    }

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    #[tokio::test]
    async fn every_connection_is_in_wal_mode_syncs_each_commit_and_enforces_foreign_keys() {
        let (_directory, store) = fresh_store(2).await;
        // Both connections of the pool, each set up on its own.
        let mut first = store.connection("test").await.unwrap();
        let mut second = store.connection("test").await.unwrap();
        for connection in [&mut *first, &mut *second] {
            let pragmas: Pragmas = diesel::sql_query(
                "SELECT journal_mode, synchronous, foreign_keys \
                 FROM pragma_journal_mode, pragma_synchronous, pragma_foreign_keys",
            )
            .get_result(connection)
            .await
            .unwrap();
            assert_eq!(pragmas.journal_mode, "wal");
            // 2 is FULL: the WAL is synced at every commit.
            assert_eq!(pragmas.synchronous, 2);
            assert_eq!(pragmas.foreign_keys, 1);
        }
    }

    #[tokio::test]
    async fn the_pool_hands_out_the_connection_returned_last_whose_page_cache_is_still_warm() {
        let (_directory, store) = fresh_store(2).await;
        let first = store.connection("test").await.unwrap();
        let mut second = store.connection("test").await.unwrap();
        // A temporary table is seen only by the connection that made it: it tells the two apart.
        diesel::sql_query("CREATE TEMP TABLE returned_last (x INTEGER)")
            .execute(&mut *second)
            .await
            .unwrap();
        drop(first);
        drop(second);
        let mut next = store.connection("test").await.unwrap();
        let found = diesel::sql_query("SELECT x FROM returned_last")
            .execute(&mut *next)
            .await;
        assert!(
            found.is_ok(),
            "the next checkout got the connection returned first: {found:?}"
        );
    }
}
