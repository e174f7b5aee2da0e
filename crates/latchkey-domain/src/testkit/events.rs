//! Rules of [`EventLog`](crate::ports::EventLog).

use chrono::TimeDelta;

use super::fixtures::{new_user, t0};
use super::Store;
use crate::model::{ClientInfo, EventId, EventKind, EventOutcome, SecurityEvent, UserId};
use crate::ports::EventQuery;

fn event(id: &str, user_id: Option<&UserId>, kind: EventKind, seconds: i64) -> SecurityEvent {
    SecurityEvent {
        id: EventId::from_random(id),
        user_id: user_id.cloned(),
        kind,
        outcome: EventOutcome::Success,
        subject: Some("ses_abc".to_owned()),
        client: ClientInfo::new(Some("agent/1.0"), Some("192.0.2.1".to_owned())),
        at: t0() + TimeDelta::seconds(seconds),
    }
}

rules! { $ events => event_rules;

/// Events read back as recorded, newest first, filtered by account and kind, and paged by position.
pub async fn events_list_newest_first_by_account_and_kind_with_a_cursor<S: Store>(store: &S) {
    let jane = store.insert(&new_user("jane", "jane@example.com", None)).await.unwrap();
    let john = store.insert(&new_user("john", "john@example.com", None)).await.unwrap();
    let recorded = [
        event("e1", Some(&jane.id), EventKind::Login, 1),
        event("e2", Some(&john.id), EventKind::Login, 2),
        event("e3", Some(&jane.id), EventKind::Logout, 3),
        // Two at the same instant: the id breaks the tie, so paging never skips or repeats one.
        event("e4", Some(&jane.id), EventKind::Login, 4),
        event("e5", Some(&jane.id), EventKind::Login, 4),
        event("e6", None, EventKind::Login, 5),
    ];
    for event in &recorded {
        store.record_event(event).await.unwrap();
    }
    let all = store.list_events(&EventQuery::newest(10)).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["evt_e6", "evt_e5", "evt_e4", "evt_e3", "evt_e2", "evt_e1"]);
    assert_eq!(all[5], recorded[0], "read back as recorded");

    let janes = EventQuery::newest(2).of_user(jane.id.clone());
    let page = store.list_events(&janes).await.unwrap();
    assert_eq!(page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["evt_e5", "evt_e4"]);
    let last = page.last().unwrap();
    let next = store.list_events(&janes.clone().before(last.at, last.id.clone())).await.unwrap();
    assert_eq!(next.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["evt_e3", "evt_e1"]);

    let logins = store
        .list_events(&EventQuery::newest(10).of_user(jane.id.clone()).of_kind(EventKind::Login))
        .await
        .unwrap();
    assert_eq!(logins.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["evt_e5", "evt_e4", "evt_e1"]);
}

/// An event naming an account that does not exist is kept, without the account.
pub async fn an_event_of_an_unknown_account_is_kept_without_it<S: Store>(store: &S) {
    let ghost = UserId::from_random("ghost");
    store.record_event(&event("e1", Some(&ghost), EventKind::Login, 0)).await.unwrap();
    let events = store.list_events(&EventQuery::newest(10)).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id, None);
}

/// Purging deletes the events older than asked, and only those.
pub async fn purging_deletes_only_older_events<S: Store>(store: &S) {
    for (id, seconds) in [("e1", 0), ("e2", 10), ("e3", 20)] {
        store.record_event(&event(id, None, EventKind::Throttled, seconds)).await.unwrap();
    }
    assert_eq!(store.purge_events(t0() + TimeDelta::seconds(10)).await.unwrap(), 1);
    let left = store.list_events(&EventQuery::newest(10)).await.unwrap();
    assert_eq!(left.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["evt_e3", "evt_e2"]);
}

}
