//! Delivering the outbox: one step of the worker the server runs in the background.

use std::fmt;
use std::sync::Arc;

use crate::error::PortError;
use crate::policy::DeliveryPolicy;
use crate::ports::{Clock, MailError, Mailer, Outbox};

/// Delivers queued emails: claims them from an [`Outbox`], sends each through a [`Mailer`], and records the outcome,
/// retrying failures with exponential backoff and giving up (with a log line) after
/// [`DeliveryPolicy::max_attempts`] tries.
///
/// It starts nothing itself: the server calls [`OutboxDelivery::deliver_next`] in a loop, and tests call it with a
/// manual clock.
pub struct OutboxDelivery {
    outbox: Arc<dyn Outbox>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    policy: DeliveryPolicy,
}

impl fmt::Debug for OutboxDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxDelivery")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What one delivery step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivered {
    /// Nothing was due.
    Idle,
    /// An email was sent.
    Sent,
    /// A try failed; another is scheduled.
    Retrying,
    /// An email was given up: refused for good, or out of tries.
    GaveUp,
}

impl OutboxDelivery {
    /// Rows deleted per statement by [`OutboxDelivery::purge_finished`], so no purge holds a long lock.
    const PURGE_BATCH: u32 = 500;

    /// Delivery from `outbox` through `mailer`, timed by `clock`.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            outbox,
            mailer,
            clock,
            policy,
        }
    }

    /// Claims the oldest due email, if any, and sends it. One email per call, so a worker asked to stop between
    /// calls never abandons more than nothing.
    ///
    /// # Errors
    /// [`PortError`] when the outbox fails (a send that fails is not an error: it is retried or given up).
    pub async fn deliver_next(&self) -> Result<Delivered, PortError> {
        let now = self.clock.now();
        let Some(email) = self
            .outbox
            .claim(now, self.policy.lease(), 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(Delivered::Idle);
        };
        let kind = email.content.kind();
        match self.mailer.send(&email).await {
            Ok(()) => {
                self.outbox.complete(&email.id, self.clock.now()).await?;
                tracing::info!(email = %email.id, kind, attempt = email.attempt, "email sent");
                Ok(Delivered::Sent)
            }
            Err(MailError::Rejected(reason)) => {
                tracing::error!(email = %email.id, kind, %reason, "email refused for good; given up");
                self.outbox
                    .give_up(&email.id, self.clock.now(), &reason)
                    .await?;
                Ok(Delivered::GaveUp)
            }
            Err(MailError::Unavailable(error)) => {
                let reason = chain(&error);
                if email.attempt >= self.policy.max_attempts() {
                    tracing::error!(
                        email = %email.id, kind, attempt = email.attempt, %reason,
                        "email failed on its last try; given up"
                    );
                    self.outbox
                        .give_up(&email.id, self.clock.now(), &reason)
                        .await?;
                    Ok(Delivered::GaveUp)
                } else {
                    let retry_at = self.clock.now() + self.policy.retry_delay(email.attempt);
                    tracing::warn!(
                        email = %email.id, kind, attempt = email.attempt, %reason, %retry_at,
                        "email not sent; will retry"
                    );
                    self.outbox
                        .retry_later(&email.id, retry_at, &reason)
                        .await?;
                    Ok(Delivered::Retrying)
                }
            }
        }
    }

    /// Deletes the emails sent or given up more than [`DeliveryPolicy::FINISHED_RETENTION`] ago, in batches;
    /// returns how many. The server runs it hourly beside delivery.
    ///
    /// # Errors
    /// [`PortError`] when the outbox fails; the batches deleted before it stay deleted.
    pub async fn purge_finished(&self) -> Result<u64, PortError> {
        let before = self.clock.now() - DeliveryPolicy::FINISHED_RETENTION;
        let mut purged = 0;
        loop {
            let batch = self
                .outbox
                .purge_finished(before, Self::PURGE_BATCH)
                .await?;
            purged += batch;
            if batch < u64::from(Self::PURGE_BATCH) {
                return Ok(purged);
            }
        }
    }
}

/// An error and its sources, `a: b: c`, for the outbox's record and the log.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
