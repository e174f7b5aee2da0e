//! Throw-away PostgreSQL databases for tests: one per test, so no test sees another's rows.
//!
//! Enabled by the `test-support` feature; the contract tests of this crate and the black-box HTTP tests use it.

use std::fmt;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::redact::redact_url;

/// Where the test server is looked for when `LATCHKEY_TEST_DATABASE_URL` is unset.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the server before deciding it is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database created for one test; it is dropped, best effort, when this guard is.
///
/// Its `Debug` output shows the URLs without their passwords.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("url", &redact_url(&self.url))
            .field("admin_url", &redact_url(&self.admin_url))
            .finish()
    }
}

impl TestDatabase {
    /// The connection URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name (`latchkey_test_…`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // The guard may be dropped on a runtime thread, where blocking on a future is forbidden: drop the database
        // from a thread with its own runtime. FORCE ends the connections a pool still holds.
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                    if let Err(error) = admin.batch_execute(&statement).await {
                        eprintln!("could not drop test database: {error}");
                    }
                }
            });
        });
        let _ = dropper.join();
    }
}

/// Creates an empty database `latchkey_test_<random>` on the server named by `LATCHKEY_TEST_DATABASE_URL` (default
/// [`DEFAULT_ADMIN_URL`]) and returns its guard. Migrations are not applied.
///
/// When no server answers, prints `skipped: PostgreSQL not reachable at …` and returns `None`, so that a laptop
/// without PostgreSQL can still run the other tests.
///
/// # Panics
/// When no server answers and `CI=true`: on CI a missing database must fail the build, not skip silently. Also when
/// the server answers but refuses to create the database.
pub async fn fresh_postgres_database() -> Option<TestDatabase> {
    let admin_url = std::env::var("LATCHKEY_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let target = redact_url(&admin_url);
    let connected =
        tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(&admin_url)).await;
    let mut admin = match connected {
        Ok(Ok(admin)) => admin,
        Ok(Err(error)) => {
            return unreachable(&target, &crate::error::innermost(&error).to_string())
        }
        Err(_) => return unreachable(&target, "timed out"),
    };
    let name = format!("latchkey_test_{:016x}", rand::random::<u64>());
    if let Err(error) = admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
    {
        panic!("PostgreSQL at {target} refused to create test database {name}: {error}");
    }
    let url = with_database(&admin_url, &name);
    Some(TestDatabase {
        name,
        url,
        admin_url,
    })
}

fn unreachable(target: &str, reason: &str) -> Option<TestDatabase> {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "PostgreSQL not reachable at {target} ({reason}); CI=true requires it \
             (set LATCHKEY_TEST_DATABASE_URL)"
        );
    }
    eprintln!("skipped: PostgreSQL not reachable at {target} ({reason})");
    None
}

/// The same server URL pointing at database `name` (keeping credentials and query parameters).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{with_database, TestDatabase};

    #[test]
    fn debug_output_hides_the_passwords() {
        let database = TestDatabase {
            name: "latchkey_test_0".to_owned(),
            url: "postgres://app:s3cret@h:5432/latchkey_test_0".to_owned(),
            admin_url: "postgres://app:s3cret@h:5432/postgres".to_owned(),
        };
        let debug = format!("{database:?}");
        // The guard's drop would try to drop the database on a server that does not exist.
        std::mem::forget(database);
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(
            debug.contains("postgres://app:***@h:5432/latchkey_test_0"),
            "{debug}"
        );
    }

    #[test]
    fn database_name_replaces_only_the_path() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
