//! The security event log: recording events as use cases happen, and reading them back.

use chrono::{DateTime, Utc};

use super::Latchkey;
use crate::access::SessionPrincipal;
use crate::error::PortError;
use crate::model::{ClientInfo, EventId, EventKind, EventOutcome, SecurityEvent, UserId};
use crate::ports::EventQuery;

/// The most events one page holds.
pub const EVENT_PAGE_MAX: usize = 100;

/// A page of events, newest first, with the cursor of the next page when there is one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EventPage {
    /// The events.
    pub events: Vec<SecurityEvent>,
    /// Pass it back to get the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Why the events could not be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListEventsError {
    /// The cursor is not one this service gave out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// A page cursor: the position of the last event of the previous page, as `<microseconds>_<event id>`.
fn encode_cursor(event: &SecurityEvent) -> String {
    format!("{}_{}", event.at.timestamp_micros(), event.id)
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, EventId)> {
    let (micros, id) = cursor.split_once('_')?;
    // Digits only, at most 18 (before the year 33 000): no sign, nothing a database's timestamp range refuses.
    if micros.is_empty() || micros.len() > 18 || !micros.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, EventId::parse(id)?))
}

impl Latchkey {
    /// Records a security event. A failure to record is logged, not returned: the action it describes has
    /// happened (or been refused) either way, and its own answer must not change.
    pub(super) async fn record(
        &self,
        kind: EventKind,
        outcome: EventOutcome,
        user_id: Option<&UserId>,
        subject: Option<&str>,
        client: &ClientInfo,
    ) {
        let event = self.event(kind, outcome, user_id, subject, client);
        if let Err(error) = self.ports.events.record_event(&event).await {
            tracing::warn!(%error, kind = kind.as_str(), "could not record a security event");
        }
    }

    /// A security event that happens now, for a port that stores it together with the action it describes.
    pub(super) fn event(
        &self,
        kind: EventKind,
        outcome: EventOutcome,
        user_id: Option<&UserId>,
        subject: Option<&str>,
        client: &ClientInfo,
    ) -> SecurityEvent {
        SecurityEvent {
            id: EventId::from_random(&self.ports.secrets.new_id()),
            user_id: user_id.cloned(),
            kind,
            outcome,
            subject: subject.map(str::to_owned),
            client: client.clone(),
            at: self.now(),
        }
    }

    /// The caller's own security events, newest first, `limit` (1 to [`EVENT_PAGE_MAX`]) at a time, from `cursor`
    /// (the previous page's `next_cursor`) on. Only a login session may read them.
    ///
    /// # Errors
    /// [`ListEventsError::InvalidCursor`] or [`ListEventsError::Unavailable`].
    pub async fn own_events(
        &self,
        principal: &SessionPrincipal,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<EventPage, ListEventsError> {
        let limit = limit.clamp(1, EVENT_PAGE_MAX);
        let mut query = EventQuery::newest(limit + 1).of_user(principal.user_id().clone());
        if let Some(cursor) = cursor {
            let (at, id) = decode_cursor(cursor).ok_or(ListEventsError::InvalidCursor)?;
            query = query.before(at, id);
        }
        let mut events = self.ports.events.list_events(&query).await?;
        // One more than asked for tells whether there is a next page without a count.
        let next_cursor = if events.len() > limit {
            events.pop();
            events.last().map(encode_cursor)
        } else {
            None
        };
        Ok(EventPage {
            events,
            next_cursor,
        })
    }

    /// Any account's events, as the query selects them: what operators read (`latchkey events`).
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn list_events(&self, query: &EventQuery) -> Result<Vec<SecurityEvent>, PortError> {
        self.ports.events.list_events(query).await
    }

    /// Deletes events older than the retention; what the server's maintenance job calls.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn purge_events(&self) -> Result<u64, PortError> {
        let before = self.now() - self.policies.events.retention();
        self.ports.events.purge_events(before).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let event = SecurityEvent {
            id: EventId::from_random("abc"),
            user_id: None,
            kind: EventKind::Login,
            outcome: EventOutcome::Success,
            subject: None,
            client: ClientInfo::default(),
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
        };
        assert_eq!(
            decode_cursor(&encode_cursor(&event)),
            Some((event.at, event.id.clone()))
        );
        for garbage in [
            "",
            "_",
            "abc_evt_x",
            "12_usr_x",
            "99999999999999999999_evt_a",
        ] {
            assert_eq!(decode_cursor(garbage), None, "{garbage}");
        }
    }
}
