//! The PostgreSQL store: the production backend.
//!
//! Connections come from a bounded deadpool pool of [`AsyncPgConnection`]s. Every port method runs as one statement
//! or one transaction at PostgreSQL's default READ COMMITTED level; where a read decides a write (`rotate`), the
//! rows read are locked (`SELECT … FOR UPDATE`) until the write commits, so concurrent requests, across any number
//! of instances, cannot both win.

/// `SELECT … FOR UPDATE`: the shared `rotate` locks the rows its decision rests on.
macro_rules! locked {
    ($query:expr) => {
        $query.for_update()
    };
}

/// `SELECT … FOR UPDATE SKIP LOCKED`: a row another transaction holds is passed over instead of waited for (outbox
/// workers on several instances claim different rows at once; a retried refresh does not wait for its successor).
macro_rules! locked_or_skipped {
    ($query:expr) => {
        $query.for_update().skip_locked()
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

mod tls;

use std::fmt;

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::QueryResult;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use latchkey_domain::ports::HealthCheck;
use latchkey_domain::PortError;

use crate::error::{innermost, ConnectError};
use crate::pool::{Pooled, Work};
use crate::redact::redact_url;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Serialises migrations across instances starting together: diesel's harness takes no lock of its own, and two
/// harnesses racing would both try to create the same tables. The value is "latchkey" in ASCII.
const MIGRATION_LOCK: i64 = 0x6c61_7463_686b_6579;

/// What the shared repository bodies implement the ports for.
type Store = PgStore;

/// The synchronous connection the migration harness (and `rekey`) runs on.
type MigrationConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Keeps other instances from writing accounts while `rekey` moves email keys, until its transaction ends.
fn lock_users(connection: &mut MigrationConnection) -> QueryResult<()> {
    connection.batch_execute("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE")
}

/// Users, sessions and refresh tokens in PostgreSQL.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    /// The URL without its password, for messages.
    target: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .field("max_connections", &self.pool.status().max_size)
            .finish()
    }
}

impl PgStore {
    /// Builds a pool of at most `max_connections` connections to `url` and opens one, so that a wrong URL or an
    /// unreachable server is reported at start-up rather than on the first request.
    ///
    /// # Errors
    /// [`ConnectError::PostgresUnreachable`] when the pool cannot be built or the first connection fails.
    pub async fn connect(url: &str, max_connections: usize) -> Result<Self, ConnectError> {
        let target = redact_url(url);
        let unreachable = |reason: crate::error::Cause| ConnectError::PostgresUnreachable {
            target: target.clone(),
            reason,
        };
        let mut config = ManagerConfig::default();
        // A broken connection is detected by the driver and discarded on return; pinging on every checkout would add
        // a round trip to each request, `is_active` included.
        config.recycling_method = RecyclingMethod::Fast;
        // `sslmode` and `sslrootcert` are honoured here, with rustls; the driver alone would refuse `verify-ca` and
        // `verify-full` and check nothing under `require`.
        let tls = tls::Target::parse(url).map_err(|e| unreachable(e.to_string().into()))?;
        config.custom_setup = tls.setup();
        let manager = AsyncDieselConnectionManager::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .build()
            .map_err(|e| unreachable(e.into()))?;
        let store = Self {
            pool,
            target: target.clone(),
        };
        let first = store
            .connection("connect")
            .await
            .map_err(|e| unreachable(innermost(&e)))?;
        // Back into the pool: the first request need not connect again.
        drop(first);
        Ok(store)
    }

    /// Applies the pending embedded migrations (`migrations/postgres`), holding a PostgreSQL advisory lock so that
    /// instances starting at once apply them one after the other.
    ///
    /// Runs diesel's synchronous harness on a blocking thread through [`AsyncConnectionWrapper`], so it is safe on
    /// a current-thread runtime (`block_in_place` would panic there).
    ///
    /// # Errors
    /// [`ConnectError::PostgresUnreachable`] without a connection; [`ConnectError::Migration`] when a migration
    /// fails (it is rolled back).
    pub async fn run_migrations(&self) -> Result<(), ConnectError> {
        let connection =
            self.connection("migrate")
                .await
                .map_err(|e| ConnectError::PostgresUnreachable {
                    target: self.target.clone(),
                    reason: innermost(&e),
                })?;
        // The connection leaves the pool: it holds a session-level lock and is driven from another thread.
        let connection = Object::take(connection);
        let migration_error = |reason| ConnectError::Migration {
            backend: "PostgreSQL",
            reason,
        };
        tokio::task::spawn_blocking(move || -> Result<(), crate::error::Cause> {
            let mut connection: AsyncConnectionWrapper<AsyncPgConnection> =
                AsyncConnectionWrapper::from(connection);
            connection.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let applied = connection
                .run_pending_migrations(MIGRATIONS)
                .map(drop)
                .and_then(|()| {
                    Ok(diesel::Connection::transaction(
                        &mut connection,
                        rekey::rekey_emails,
                    )?)
                });
            // Dropping the connection would release the lock too; unlocking keeps that explicit.
            let unlocked =
                connection.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            applied?;
            unlocked.map_err(Into::into)
        })
        .await
        .map_err(|e| migration_error(e.into()))?
        .map_err(migration_error)
    }

    /// A pooled connection, waiting at most [`ACQUIRE_TIMEOUT`](crate::pool::ACQUIRE_TIMEOUT).
    async fn connection(
        &self,
        context: &'static str,
    ) -> Result<Object<AsyncPgConnection>, PortError> {
        crate::pool::acquire(context, self.pool.get()).await
    }
}

impl crate::pool::Pooled for PgStore {
    type Connection = AsyncPgConnection;
    type Object = Object<AsyncPgConnection>;
    type Error = diesel_async::pooled_connection::deadpool::PoolError;

    fn checkout(
        &self,
    ) -> impl std::future::Future<Output = Result<Self::Object, Self::Error>> + Send + 'static {
        let pool = self.pool.clone();
        async move { pool.get().await }
    }
}

/// Runs `body` in a transaction at PostgreSQL's default READ COMMITTED level (rows the body must decide on are
/// locked with `locked!`), committing if it succeeds and rolling back if it fails.
fn write_transaction<'c, R, F>(
    connection: &'c mut AsyncPgConnection,
    body: F,
) -> Work<'c, QueryResult<R>>
where
    F: for<'t> FnOnce(&'t mut AsyncPgConnection) -> Work<'t, QueryResult<R>> + Send + 'c,
    R: Send + 'c,
{
    Box::pin(connection.transaction(async move |connection| body(connection).await))
}

#[async_trait]
impl HealthCheck for PgStore {
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

/// A migrated store with `connections` connections on a fresh database, for the tests the backends share; the
/// database guard drops it. `None` when no server answers, outside CI (see [`crate::test_support`]).
#[cfg(test)]
async fn store_for_tests(connections: usize) -> Option<(Box<dyn std::any::Any + Send>, PgStore)> {
    let database = crate::test_support::fresh_postgres_database().await?;
    let store = PgStore::connect(database.url(), connections).await.ok()?;
    store.run_migrations().await.ok()?;
    Some((Box::new(database), store))
}
