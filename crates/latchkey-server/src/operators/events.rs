//! `latchkey events`: the security event log, for people and scripts.

use std::fmt::Write as _;

use latchkey_domain::ports::EventQuery;
use latchkey_domain::{EventKind, SecurityEvent};

use super::{open_service, OperatorError};
use crate::settings::Settings;

/// What `latchkey events` was asked for.
#[derive(Debug, Clone, Default)]
pub struct EventsRequest {
    /// Only this account's events: its id (`usr_…`) or email address.
    pub user: Option<String>,
    /// Only events of this kind (`login`, `token_created`, …).
    pub kind: Option<String>,
    /// At most this many, newest first.
    pub limit: usize,
    /// One JSON object per line instead of aligned columns.
    pub json: bool,
}

pub(super) fn kind_names() -> String {
    EventKind::ALL.map(EventKind::as_str).join(", ")
}

/// Runs `latchkey events`: the selected events, newest first, as text for people or JSON lines for scripts.
///
/// # Errors
/// [`OperatorError`].
pub async fn events(settings: &Settings, request: &EventsRequest) -> Result<String, OperatorError> {
    let kind = request
        .kind
        .as_deref()
        .map(|name| {
            EventKind::parse(name).ok_or_else(|| OperatorError::UnknownKind(name.to_owned()))
        })
        .transpose()?;
    let latchkey = open_service(settings).await?;
    let mut query = EventQuery::newest(request.limit.max(1));
    if let Some(user) = &request.user {
        let account = latchkey
            .find_account(user)
            .await?
            .ok_or_else(|| OperatorError::NoSuchUser(user.clone()))?;
        query = query.of_user(account.id);
    }
    if let Some(kind) = kind {
        query = query.of_kind(kind);
    }
    let events = latchkey.list_events(&query).await?;
    Ok(render(&events, request.json))
}

/// The events as aligned text, or as one JSON object per line.
pub fn render(events: &[SecurityEvent], json: bool) -> String {
    let mut out = String::new();
    for event in events {
        let dash = |value: Option<&str>| value.unwrap_or("-").to_owned();
        if json {
            let line = serde_json::json!({
                "id": event.id.as_str(),
                "at": event.at,
                "user_id": event.user_id.as_ref().map(|id| id.as_str()),
                "kind": event.kind.as_str(),
                "outcome": event.outcome.as_str(),
                "subject": event.subject,
                "ip": event.client.ip,
                "user_agent": event.client.user_agent,
            });
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(
                out,
                "{}  {:<22}  {:<7}  {:<30}  {:<15}  {}",
                event.at.format("%Y-%m-%dT%H:%M:%SZ"),
                event.kind.as_str(),
                event.outcome.as_str(),
                dash(event.user_id.as_ref().map(|id| id.as_str())),
                dash(event.client.ip.as_deref()),
                dash(event.subject.as_deref()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use latchkey_domain::{ClientInfo, EventId, EventOutcome, UserId};

    use super::*;

    fn event() -> SecurityEvent {
        SecurityEvent {
            id: EventId::from_random("e1"),
            user_id: Some(UserId::from_random("jane")),
            kind: EventKind::Login,
            outcome: EventOutcome::Failure,
            subject: None,
            client: ClientInfo::new(Some("curl/8"), Some("192.0.2.1".to_owned())),
            at: DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn events_render_as_columns_or_json_lines() {
        let text = render(&[event()], false);
        assert!(text.starts_with("2026-"), "{text}");
        for part in ["login", "failure", "usr_jane", "192.0.2.1"] {
            assert!(text.contains(part), "{text}");
        }
        let json: serde_json::Value =
            serde_json::from_str(render(&[event()], true).trim()).unwrap();
        assert_eq!(json["kind"], "login");
        assert_eq!(json["user_agent"], "curl/8");
        assert_eq!(json["subject"], serde_json::Value::Null);
    }
}
