//! [`EventLog`], written once for both backends (see the crate documentation).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use latchkey_domain::ports::{EventLog, EventQuery};
use latchkey_domain::{PortError, SecurityEvent};

use super::Store;
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::EventRow;
use crate::schema::security_events;
use crate::sql_types::Timestamp;

type Connection = <Store as Pooled>::Connection;

/// Stores an event's row, inside whatever transaction the connection is in. Fails with a foreign-key violation when
/// the account it names does not exist.
pub(super) async fn insert(connection: &mut Connection, row: EventRow) -> QueryResult<usize> {
    diesel::insert_into(security_events::table)
        .values(row)
        .cached()
        .execute(connection)
        .await
}

#[async_trait]
impl EventLog for Store {
    async fn record_event(&self, event: &SecurityEvent) -> Result<(), PortError> {
        let row = EventRow::new(event);
        self.run("record security event", move |connection| {
            Box::pin(async move {
                let inserted = insert(connection, row.clone()).await;
                match inserted {
                    // The account is gone (deleted meanwhile): the event stays, without it.
                    Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                        let mut orphan = row;
                        orphan.user_id = None;
                        insert(connection, orphan).await.map(drop)
                    }
                    other => other.map(drop),
                }
            })
        })
        .await
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<SecurityEvent>, PortError> {
        let user_id = query.user_id.as_ref().map(|id| id.as_str().to_owned());
        let kind = query.kind.map(|kind| kind.as_str());
        let before = query
            .before
            .as_ref()
            .map(|(at, id)| (Timestamp(*at), id.as_str().to_owned()));
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        let rows = self
            .run("list security events", move |connection| {
                Box::pin(async move {
                    let mut select = security_events::table
                        .select(EventRow::as_select())
                        .order((security_events::at.desc(), security_events::id.desc()))
                        .limit(limit)
                        .into_boxed();
                    if let Some(user_id) = user_id {
                        select = select.filter(security_events::user_id.eq(user_id));
                    }
                    if let Some(kind) = kind {
                        select = select.filter(security_events::kind.eq(kind));
                    }
                    if let Some((at, id)) = before {
                        select = select.filter(
                            security_events::at
                                .lt(at)
                                .or(security_events::at.eq(at).and(security_events::id.lt(id))),
                        );
                    }
                    select.load(connection).await
                })
            })
            .await?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn purge_events(&self, before: DateTime<Utc>) -> Result<u64, PortError> {
        let before = Timestamp(before);
        let purged = self
            .run("purge security events", move |connection| {
                Box::pin(async move {
                    diesel::delete(security_events::table.filter(security_events::at.lt(before)))
                        .execute(connection)
                        .await
                })
            })
            .await?;
        Ok(u64::try_from(purged).unwrap_or(u64::MAX))
    }
}
