//! [`EventLog`] in memory.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_domain::ports::{EventLog, EventQuery};
use latchkey_domain::{PortError, SecurityEvent};

use crate::store::{MemoryStore, State};

impl State {
    /// Stores an event: [`EventLog::record_event`] on the locked state.
    pub(crate) fn record_event(&mut self, event: &SecurityEvent) {
        let mut event = event.clone();
        if event
            .user_id
            .as_ref()
            .is_some_and(|user_id| !self.users.contains_key(user_id))
        {
            event.user_id = None;
        }
        self.events.push(event);
    }
}

#[async_trait]
impl EventLog for MemoryStore {
    async fn record_event(&self, event: &SecurityEvent) -> Result<(), PortError> {
        self.state().record_event(event);
        Ok(())
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<SecurityEvent>, PortError> {
        let state = self.state();
        let mut events: Vec<SecurityEvent> = state
            .events
            .iter()
            .filter(|event| {
                query
                    .user_id
                    .as_ref()
                    .is_none_or(|user_id| event.user_id.as_ref() == Some(user_id))
            })
            .filter(|event| query.kind.is_none_or(|kind| event.kind == kind))
            .filter(|event| {
                query
                    .before
                    .as_ref()
                    .is_none_or(|(at, id)| (event.at, &event.id) < (*at, id))
            })
            .cloned()
            .collect();
        events.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        events.truncate(query.limit);
        Ok(events)
    }

    async fn purge_events(&self, before: DateTime<Utc>) -> Result<u64, PortError> {
        let mut state = self.state();
        let count = state.events.len();
        state.events.retain(|event| event.at >= before);
        Ok(u64::try_from(count - state.events.len()).unwrap_or(u64::MAX))
    }
}
