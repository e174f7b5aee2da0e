//! Acquiring pooled connections, the same way on both backends.

use std::future::Future;
use std::time::Duration;

use latchkey_domain::PortError;

/// How long a request waits for a pooled connection before reporting the store unavailable, rather than queueing
/// without bound behind a stalled database.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

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
