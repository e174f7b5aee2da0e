//! Acquiring pooled connections and running work on them so that it survives the caller going away.
//!
//! A port method's future can be dropped at any await: a client disconnects, a proxy times out, a sibling actix
//! extractor fails and actix drops the request's other extractors. Dropping a database call half-way is unsafe on
//! both backends: diesel-async's `SyncConnectionWrapper` (SQLite) waits for its blocking call in `Drop` with
//! `block_in_place`, which panics on the current-thread runtimes actix workers run; and a transaction abandoned
//! between statements leaves its connection with an open transaction. So every port method runs its connection work
//! through [`detached`]: on a task of its own that owns the connection and finishes (commits or rolls back) whether
//! or not anyone still waits for the answer. The connection then goes back to the pool only after the work is done.
//! SQLite's store drives the work itself on top of that ([`run_raw_on_sqlite`]): each unit of work in one blocking
//! call, each read by key in place on the calling thread.

use std::cell::Cell;
use std::future::Future;
use std::ops::DerefMut;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use std::thread::LocalKey;
use std::time::Duration;

use diesel::QueryResult;
use latchkey_domain::PortError;

/// How long a request waits for a pooled connection before reporting the store unavailable, rather than queueing
/// without bound behind a stalled database.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The future of a unit of connection work, borrowing the connection for `'c`.
pub(crate) type Work<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Awaits `checkout` (a pool's `get()`) for at most [`ACQUIRE_TIMEOUT`], reporting a pool error or the timeout as a
/// [`PortError`] with `context`.
pub(crate) async fn acquire<T, E>(
    context: &'static str,
    checkout: impl Future<Output = Result<T, E>>,
) -> Result<T, PortError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(ACQUIRE_TIMEOUT, checkout).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(error)) => Err(PortError::new(context, error)),
        Err(elapsed) => Err(PortError::new(context, elapsed)),
    }
}

/// Runs `work` to completion on a task of its own and waits for its result.
///
/// Dropping the returned future stops the waiting, not the work. A panic in `work` (or the runtime shutting down
/// under it) is reported as a [`PortError`] with `context`.
pub(crate) async fn detached<T, E>(
    context: &'static str,
    work: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<PortError> + Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(join_error) => Err(PortError::new(context, join_error).into()),
    }
}

/// Runs `work` [`detached`] on the connection `checkout` yields (a pool's `get()`, given at most
/// [`ACQUIRE_TIMEOUT`]), leaving its diesel error to the caller. The connection returns to its pool when the work is
/// done, whether or not the caller still waits.
pub(crate) async fn run_raw<O, E, R, F>(
    context: &'static str,
    checkout: impl Future<Output = Result<O, E>> + Send + 'static,
    work: F,
) -> Result<QueryResult<R>, PortError>
where
    O: DerefMut + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
    F: for<'c> FnOnce(&'c mut O::Target) -> Work<'c, QueryResult<R>> + Send + 'static,
    R: Send + 'static,
{
    detached(context, async move {
        let mut connection = acquire(context, checkout).await?;
        Ok(work(&mut connection).await)
    })
    .await
}

/// What a unit of connection work does, which decides how a store may run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anything: reads, writes, transactions.
    Any,
    /// One lookup by unique or indexed key, outside any transaction, built inside the work's async block: the
    /// lookups every request makes (the session and account behind a token, the account a login names, an API key
    /// or personal token). SQLite runs it in place on the calling thread (see [`run_raw_on_sqlite`]).
    ReadByKey,
}

/// A store whose port methods run their connection work detached, on connections from its pool: what the shared
/// repository bodies call (`self.run(…)`), implemented by each backend's store with what differs, how a connection
/// is checked out (and, for SQLite, how the work is driven: [`run_raw_on_sqlite`]).
pub(crate) trait Pooled {
    /// The connection the repository bodies run on.
    type Connection: Send + 'static;
    /// A checked-out connection; it returns to the pool when dropped.
    type Object: DerefMut<Target = Self::Connection> + Send + 'static;
    /// Why a checkout failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Checks a connection out; the future owns what it needs, so it can run on another task.
    fn checkout(&self) -> impl Future<Output = Result<Self::Object, Self::Error>> + Send + 'static;

    /// Runs `work`, of the given [`Access`], with a pooled connection, [`detached`] (by default; SQLite drives it
    /// itself, [`run_raw_on_sqlite`]), leaving its diesel error to the caller: it finishes (commits or rolls back)
    /// before its connection returns to the pool, even if the caller stops waiting. The one method a store
    /// overrides to change how its work runs; the others call it.
    fn run_raw_as<R, F>(
        &self,
        _access: Access,
        context: &'static str,
        work: F,
    ) -> impl Future<Output = Result<QueryResult<R>, PortError>> + Send + 'static
    where
        F: for<'c> FnOnce(&'c mut Self::Connection) -> Work<'c, QueryResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        run_raw(context, self.checkout(), work)
    }

    /// [`Pooled::run_raw_as`] for any unit of work ([`Access::Any`]).
    fn run_raw<R, F>(
        &self,
        context: &'static str,
        work: F,
    ) -> impl Future<Output = Result<QueryResult<R>, PortError>> + Send + 'static
    where
        F: for<'c> FnOnce(&'c mut Self::Connection) -> Work<'c, QueryResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        self.run_raw_as(Access::Any, context, work)
    }

    /// [`Pooled::run_raw_as`] for one read by key ([`Access::ReadByKey`]), reporting a diesel error as a
    /// [`PortError`] with `context`.
    fn read<R, F>(
        &self,
        context: &'static str,
        work: F,
    ) -> impl Future<Output = Result<R, PortError>> + Send
    where
        F: for<'c> FnOnce(&'c mut Self::Connection) -> Work<'c, QueryResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        let raw = self.run_raw_as(Access::ReadByKey, context, work);
        async move { raw.await?.map_err(|e| PortError::new(context, e)) }
    }

    /// As [`Pooled::run_raw`], reporting a diesel error as a [`PortError`] with `context`.
    fn run<R, F>(
        &self,
        context: &'static str,
        work: F,
    ) -> impl Future<Output = Result<R, PortError>> + Send
    where
        F: for<'c> FnOnce(&'c mut Self::Connection) -> Work<'c, QueryResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        let raw = self.run_raw(context, work);
        async move { raw.await?.map_err(|e| PortError::new(context, e)) }
    }

    /// Starts `work` as [`Pooled::run`] would, without waiting for it; a failure is logged with `context`. For
    /// writes a request must not wait for (recording a credential's use).
    fn run_in_background<F>(&self, context: &'static str, work: F)
    where
        F: for<'c> FnOnce(&'c mut Self::Connection) -> Work<'c, QueryResult<()>> + Send + 'static,
    {
        let raw = self.run_raw(context, work);
        tokio::spawn(async move {
            let outcome = raw
                .await
                .and_then(|result| result.map_err(|e| PortError::new(context, e)));
            if let Err(error) = outcome {
                tracing::warn!(error = %error, "background database write failed");
            }
        });
    }
}

/// Runs `work` on the connection `checkout` yields, as SQLite needs, leaving its diesel error to the caller.
///
/// [`Access::Any`]: all of it in one call on tokio's blocking pool. `SyncConnectionWrapper` would otherwise send
/// each statement to the blocking pool on its own, a round trip of thread wake-ups per statement (BEGIN and COMMIT
/// included): about 40 context switches and most of a login's own CPU, in the kernel (docs/benchmarks.md). Here the
/// whole unit of work is driven on one blocking thread, on which [`BlockingCalls`] runs each statement in place. It
/// is driven by `Handle::block_on`, which on a current-thread runtime cannot drive the runtime's timers or I/O: it
/// may await the connection's calls and the process's write queue (a `tokio::sync::Mutex`), never a timer, a socket
/// or another task's result. The repository bodies keep to that (see the crate documentation).
///
/// [`Access::ReadByKey`]: in place on the thread that polls it, the async worker. Such a read is one statement,
/// usually on pages SQLite or the kernel has cached: tens of microseconds, less than the two thread wake-ups a
/// blocking call costs (there and back), which on a loaded machine also take a core from whatever runs there. In
/// WAL mode a reader does not wait for this process's writers (they queue in the process, and readers take no lock
/// they hold); it can still stall its worker on a page read from disk, or in SQLite's busy handler (up to
/// `busy_timeout`) while another process that shares the file recovers from a crash mid-commit. Only reads may run
/// so: a write waits for SQLite's write lock and syncs its commit, and `write_transaction` refuses to begin inside a
/// read (see [`reading_in_place`]).
///
/// Like [`detached`], the checkout and the work run apart from the caller and finish (commit or roll back) whether
/// or not it still waits; the checkout may set up a new connection (a blocking call, never run in place) that must
/// not be abandoned half-way. A panic in the work reaches the caller as a [`PortError`]; the connection it panicked
/// on may still be inside a transaction, holding SQLite's write lock, so it goes to `discard` (which closes it,
/// rolling back) instead of back to the pool, as does one whose call panicked ([`release`]).
pub(crate) async fn run_raw_on_sqlite<O, E, R, F>(
    access: Access,
    context: &'static str,
    checkout: impl Future<Output = Result<O, E>> + Send + 'static,
    discard: fn(O),
    work: F,
) -> Result<QueryResult<R>, PortError>
where
    O: DerefMut + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
    F: for<'c> FnOnce(&'c mut O::Target) -> Work<'c, QueryResult<R>> + Send + 'static,
    R: Send + 'static,
{
    detached(context, async move {
        let mut connection = acquire(context, checkout).await?;
        if access == Access::ReadByKey {
            // Built in place too: a body that sends its statement as it is built, not when first polled, stays here.
            let read = {
                let _in_place = ThreadFlag::raise(&IN_PLACE);
                let _reading = ThreadFlag::raise(&READING);
                work(&mut connection)
            };
            let result = InPlace(read).await;
            release(connection, &result, discard);
            return Ok(result);
        }
        let runtime = tokio::runtime::Handle::current();
        let call = tokio::task::spawn_blocking(move || {
            let in_place = ThreadFlag::raise(&IN_PLACE);
            let outcome =
                panic::catch_unwind(AssertUnwindSafe(|| runtime.block_on(work(&mut connection))));
            drop(in_place);
            match outcome {
                Ok(result) => {
                    release(connection, &result, discard);
                    result
                }
                Err(payload) => {
                    discard(connection);
                    panic::resume_unwind(payload)
                }
            }
        });
        call.await
            .map_err(|join_error| PortError::new(context, join_error))
    })
    .await
}

/// Returns `connection` to its pool when it is dropped, unless one of its blocking calls panicked (which
/// `SyncConnectionWrapper` reports as `UnableToSendCommand`): its lock is then poisoned, and the pool's next check of
/// it would panic in another request, so it goes to `discard` (which closes it) instead.
fn release<O, R>(connection: O, result: &QueryResult<R>, discard: fn(O)) {
    if matches!(
        result,
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UnableToSendCommand,
            _
        ))
    ) {
        discard(connection);
    }
}

/// A read whose blocking calls run in place while it is being polled, and only then: between polls the thread runs
/// other tasks, whose calls must not.
struct InPlace<F>(F);

impl<F: Future + Unpin> Future for InPlace<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _in_place = ThreadFlag::raise(&IN_PLACE);
        let _reading = ThreadFlag::raise(&READING);
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Whether the current thread is polling a read of [`run_raw_on_sqlite`]: what a write transaction checks, so a read
/// body that began one would not hold an async worker through SQLite's write lock and a synced commit.
pub(crate) fn reading_in_place() -> bool {
    READING.get()
}

thread_local! {
    /// Whether this thread is running SQLite's blocking calls in place: a blocking thread driving a unit of work of
    /// [`run_raw_on_sqlite`], or an async worker polling one of its reads by key.
    static IN_PLACE: Cell<bool> = const { Cell::new(false) };
    /// Whether this thread is polling a read of [`run_raw_on_sqlite`].
    static READING: Cell<bool> = const { Cell::new(false) };
}

/// Raises one of this module's thread-local flags until dropped, then puts back what was there: the thread goes on to
/// other work afterwards (a blocking thread back to tokio's pool, an async worker to its next task), panic or not.
struct ThreadFlag {
    flag: &'static LocalKey<Cell<bool>>,
    before: bool,
}

impl ThreadFlag {
    fn raise(flag: &'static LocalKey<Cell<bool>>) -> Self {
        Self {
            flag,
            before: flag.replace(true),
        }
    }
}

impl Drop for ThreadFlag {
    fn drop(&mut self) {
        self.flag.set(self.before);
    }
}

/// A blocking call that panicked while running in place: what a spawned call's `JoinError` would have said.
#[derive(Debug, thiserror::Error)]
#[error("a blocking database call panicked: {0}")]
struct CallPanicked(String);

impl CallPanicked {
    fn from_payload(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|message| (*message).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Self(message)
    }
}

/// How `SyncConnectionWrapper` runs SQLite's blocking calls: in place when already on a blocking thread driving a
/// unit of work of [`run_raw_on_sqlite`] or while one of its reads by key is polled; otherwise on
/// tokio's blocking pool, like its default, but safe to drop on any runtime.
///
/// The default waits for an unfinished call in `Drop` with `block_in_place`, which panics outside a multi-threaded
/// runtime. Waiting is still required (the wrapper's next call needs the connection back, and reads the transaction
/// state without locking), so this one waits on a plain channel instead, which works on every runtime flavour.
/// Outside a unit of work the calls are a connection's set-up and the migrations, both run apart from any request,
/// so that wait only happens when a runtime shuts down mid-call.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BlockingCalls;

impl diesel_async::sync_connection_wrapper::SpawnBlocking for BlockingCalls {
    fn spawn_blocking<'a, R>(
        &mut self,
        task: impl FnOnce() -> R + Send + 'static,
    ) -> Work<'a, Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>>
    where
        R: Send + 'static,
    {
        if IN_PLACE.get() {
            // Run now, as a spawned call would start now: the wrapper awaits it next, and nothing else holds the
            // connection meanwhile. A panic becomes an error, as a spawned call's would, so the wrapper's caller
            // still rolls back its transaction (the wrapper's lock, poisoned by the panic, is cleared on next use).
            let result = panic::catch_unwind(AssertUnwindSafe(task))
                .map_err(|payload| Box::from(CallPanicked::from_payload(&*payload)));
            return Box::pin(std::future::ready(result));
        }
        // The sender is dropped when the task ends, however it ends; that is what `Drop` waits for.
        let (finished, on_finish) = mpsc::sync_channel::<()>(0);
        let handle = tokio::task::spawn_blocking(move || {
            let _finished = finished;
            task()
        });
        Box::pin(WaitOnDrop { handle, on_finish })
    }

    fn get_runtime() -> Self {
        Self
    }
}

/// A blocking call's result; dropping it before the call ends waits for the call.
struct WaitOnDrop<R> {
    handle: tokio::task::JoinHandle<R>,
    on_finish: mpsc::Receiver<()>,
}

impl<R> Future for WaitOnDrop<R> {
    type Output = Result<R, Box<dyn std::error::Error + Send + Sync + 'static>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle).poll(cx).map_err(Box::from)
    }
}

impl<R> Drop for WaitOnDrop<R> {
    fn drop(&mut self) {
        if !self.handle.is_finished() {
            // Returns (with a disconnection error) once the task has dropped its sender.
            let _ = self.on_finish.recv();
        }
    }
}
