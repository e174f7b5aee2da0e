use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::PortError;
use crate::model::{ClaimedEmail, EmailId};

/// Durable outgoing email. Emails enter it through the [`super::ChallengeRepository`] call that stores the state
/// they belong to; a delivery worker ([`crate::service::OutboxDelivery`]) claims them, sends them through a
/// [`Mailer`] and reports the outcome.
///
/// An email's plain-text content (which holds single-use links and codes) is kept only until it is sent or given
/// up on: [`Outbox::complete`] and [`Outbox::give_up`] erase it.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` emails that are due at `now` (queued, or scheduled for a retry at or before `now`, or
    /// claimed earlier by a worker whose lease has run out), oldest first, counting one more try for each and
    /// leasing them to the caller until `now + lease`. Workers claiming at once, on any number of instances, never
    /// get the same email.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is claimed then.
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<ClaimedEmail>, PortError>;

    /// Records that a claimed email was sent: it is never claimed again, and its content is erased.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn complete(&self, id: &EmailId, now: DateTime<Utc>) -> Result<(), PortError>;

    /// Records a failed try of a claimed email and schedules the next at `retry_at`.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn retry_later(
        &self,
        id: &EmailId,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), PortError>;

    /// Records that a claimed email will not be sent (it failed too often, or was refused for good): it is never
    /// claimed again, and its content is erased; `error` is kept for the operator.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn give_up(&self, id: &EmailId, now: DateTime<Utc>, error: &str)
        -> Result<(), PortError>;

    /// Deletes up to `limit` emails that were sent or given up before `finished_before`, and returns how many. Their
    /// content is already erased, but the row still names its recipient: kept for ever, it would be a list of every
    /// address the service ever wrote to, including addresses an account has since left. Emails not finished yet
    /// are never deleted.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn purge_finished(
        &self,
        finished_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, PortError>;
}

/// Why a [`Mailer`] could not send an email.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The mail server refused the message for good (a permanent 5xx reply, an unusable address): retrying
    /// cannot help.
    #[error("refused: {0}")]
    Rejected(String),
    /// The mail server could not be reached or answered with a temporary failure: worth retrying.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Delivers an email: renders it and hands it to a mail server (or, for development, to the log).
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one email.
    ///
    /// # Errors
    /// [`MailError::Rejected`] when retrying cannot help, [`MailError::Unavailable`] when it may.
    async fn send(&self, email: &ClaimedEmail) -> Result<(), MailError>;
}
