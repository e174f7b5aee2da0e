//! Clearing out what can no longer change an answer: ended sessions, expired refresh tokens, expired challenges,
//! spent rate-limit rows, security events past their retention and expired idempotency keys.

use super::Latchkey;
use crate::error::PortError;

/// What one [`Latchkey::purge_spent`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purged {
    /// Sessions and refresh tokens deleted.
    pub sessions: u64,
    /// Verification challenges and reset tokens deleted.
    pub challenges: u64,
    /// Rate-limit rows that limited nothing any more, and login addresses no longer recent.
    pub limits: u64,
    /// Security events past their retention.
    pub events: u64,
    /// Idempotency keys of charges past their retention (the charges and the ledger stay).
    pub idempotency_keys: u64,
    /// Verified accounts given the welcome credits a crash had cut off (welcome credits on verification only).
    pub welcomed: u64,
}

/// Rows per statement: each stays short, so a purge never holds locks that requests would wait on for long.
const PURGE_BATCH: u32 = 1_000;

impl Latchkey {
    /// Deletes the sessions that have ended (expired, or revoked and past their last refresh token's expiry), the
    /// expired refresh tokens, and the expired verification challenges and reset tokens, in short batches until
    /// none is left; then the rate-limit rows that limit nothing any more and the security events past their
    /// retention. A server runs it periodically; an embedder calls it from its own scheduler. It also repairs what a
    /// crash may have left undone: verified accounts still owed their welcome credits get them.
    ///
    /// Nothing that could still change an answer goes: spent refresh tokens of a live session stay until they
    /// expire (presenting one before then is reuse, which revokes the session), and a challenge stays while the
    /// interval between two emails of its account still counts from it.
    ///
    /// # Errors
    /// [`PortError`] when a store fails; what was deleted before stays deleted, and the next run goes on.
    pub async fn purge_spent(&self) -> Result<Purged, PortError> {
        let now = self.now();
        let mut purged = Purged::default();
        loop {
            let deleted = self.ports.sessions.purge_sessions(now, PURGE_BATCH).await?;
            purged.sessions += deleted;
            if deleted == 0 {
                break;
            }
        }
        let spacing = self
            .policies
            .verification
            .resend_interval()
            .max(self.policies.reset.min_interval());
        let issued_before = now - spacing;
        loop {
            let deleted = self
                .ports
                .challenges
                .purge_challenges(now, issued_before, PURGE_BATCH)
                .await?;
            purged.challenges += deleted;
            if deleted == 0 {
                break;
            }
        }
        purged.limits = self.purge_rate_limits().await?;
        purged.events = self.purge_events().await?;
        purged.idempotency_keys = self.purge_idempotency_keys(PURGE_BATCH).await?;
        purged.welcomed = self.welcome_the_overlooked().await?;
        Ok(purged)
    }
}
