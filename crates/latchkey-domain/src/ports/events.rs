use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::model::{EventId, EventKind, SecurityEvent, UserId};

/// Which events to list: newest first, optionally of one account or kind, older than a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventQuery {
    /// Only this account's events.
    pub user_id: Option<UserId>,
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// Only events strictly older, in the list's order, than this one: the last event of the previous page.
    pub before: Option<(DateTime<Utc>, EventId)>,
    /// At most this many.
    pub limit: usize,
}

impl EventQuery {
    /// The newest `limit` events of every account.
    pub fn newest(limit: usize) -> Self {
        Self {
            user_id: None,
            kind: None,
            before: None,
            limit,
        }
    }

    /// Only `user_id`'s events.
    #[must_use]
    pub fn of_user(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// Only events of `kind`.
    #[must_use]
    pub fn of_kind(mut self, kind: EventKind) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Only events after (older than) the event at `at` with id `id`.
    #[must_use]
    pub fn before(mut self, at: DateTime<Utc>, id: EventId) -> Self {
        self.before = Some((at, id));
        self
    }
}

/// Stores security events.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Stores an event. An event naming an account that no longer exists is stored without it.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn record_event(&self, event: &SecurityEvent) -> Result<(), PortError>;

    /// The events the query selects, newest first (by time, then by id, descending).
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn list_events(&self, query: &EventQuery) -> Result<Vec<SecurityEvent>, PortError>;

    /// Deletes events older than `before`; returns how many.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn purge_events(&self, before: DateTime<Utc>) -> Result<u64, PortError>;
}
