//! Housekeeping on a timer: deletes rows that no longer limit or prove anything (spent rate-limit counts, security
//! events past their retention), so no table grows without bound.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::Latchkey;
use tokio::task::JoinHandle;

/// How often the housekeeping runs. Every instance runs it; the deletes are idempotent, so several instances sharing
/// one database only repeat cheap work.
pub const INTERVAL: Duration = Duration::from_secs(600);

/// The running housekeeping task; stopped with the server.
#[derive(Debug)]
pub struct Maintenance(JoinHandle<()>);

impl Maintenance {
    /// Starts purging every [`INTERVAL`], the first time right away.
    pub fn start(latchkey: Arc<Latchkey>) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match latchkey.purge_rate_limits().await {
                    Ok(purged) => tracing::debug!(purged, "purged spent rate-limit rows"),
                    Err(error) => tracing::warn!(%error, "could not purge rate-limit rows"),
                }
                match latchkey.purge_events().await {
                    Ok(purged) => tracing::debug!(purged, "purged security events past retention"),
                    Err(error) => tracing::warn!(%error, "could not purge security events"),
                }
            }
        }))
    }

    /// Stops the task; a purge cut short is simply done again by the next start.
    pub fn stop(self) {
        self.0.abort();
    }
}
