use async_trait::async_trait;

use crate::error::PortError;

/// Tells whether a backing service (the database) can serve requests right now; behind `/readyz`.
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// Makes the cheapest possible round trip.
    ///
    /// # Errors
    /// [`PortError`] when the service cannot be reached.
    async fn check(&self) -> Result<(), PortError>;
}
