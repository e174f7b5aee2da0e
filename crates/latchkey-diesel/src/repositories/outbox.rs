//! [`Outbox`], written once for both backends (see the crate documentation).
//!
//! Claiming is the one place where the SQL differs: on PostgreSQL the due rows are selected `FOR UPDATE SKIP
//! LOCKED` (`locked_or_skipped!`), so workers on several instances claim different rows at once instead of queueing
//! behind each other; on SQLite the write transaction already holds the database's write lock, so claims take
//! turns.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use latchkey_domain::ports::Outbox;
use latchkey_domain::{ClaimedEmail, EmailId, PortError};

use super::{write_transaction, Store};
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::{outbox_status, OutboxRow};
use crate::schema::outbox;
use crate::sql_types::{Metadata, Timestamp};

/// Longest error message kept for the operator.
const MAX_ERROR_LENGTH: usize = 1000;

fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_LENGTH).collect()
}

#[async_trait]
impl Outbox for Store {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<ClaimedEmail>, PortError> {
        let (lease_until, now) = (Timestamp(now + lease), Timestamp(now));
        let limit = i64::from(limit);
        self.run("claim emails", move |connection| {
            write_transaction(connection, move |connection| {
                Box::pin(async move {
                    let rows = locked_or_skipped!(outbox::table
                        .filter(
                            outbox::status
                                .eq_any([outbox_status::PENDING, outbox_status::SENDING,])
                        )
                        .filter(outbox::due_at.le(now))
                        .order((outbox::due_at.asc(), outbox::id.asc()))
                        .limit(limit)
                        .select(OutboxRow::as_select()))
                    .load::<OutboxRow>(connection)
                    .await?;
                    let mut claimed = Vec::with_capacity(rows.len());
                    for row in rows {
                        let id = row.id.clone();
                        match row.into_claimed() {
                            Some(email) => {
                                diesel::update(outbox::table.find(&id))
                                    .set((
                                        outbox::status.eq(outbox_status::SENDING),
                                        outbox::attempts.eq(outbox::attempts + 1),
                                        outbox::due_at.eq(lease_until),
                                    ))
                                    .cached()
                                    .execute(connection)
                                    .await?;
                                claimed.push(email);
                            }
                            None => {
                                tracing::error!(email = %id, "unreadable outbox row; given up");
                                diesel::update(outbox::table.find(&id))
                                    .set((
                                        outbox::status.eq(outbox_status::FAILED),
                                        outbox::payload.eq(None::<Metadata>),
                                        outbox::finished_at.eq(Some(now)),
                                        outbox::last_error.eq("unreadable content"),
                                    ))
                                    .cached()
                                    .execute(connection)
                                    .await?;
                            }
                        }
                    }
                    Ok(claimed)
                })
            })
        })
        .await
    }

    async fn complete(&self, id: &EmailId, now: DateTime<Utc>) -> Result<(), PortError> {
        let (id, now) = (id.as_str().to_owned(), Timestamp(now));
        self.run("complete email", move |connection| {
            Box::pin(async move {
                diesel::update(
                    outbox::table
                        .find(&id)
                        .filter(outbox::status.eq(outbox_status::SENDING)),
                )
                .set((
                    outbox::status.eq(outbox_status::SENT),
                    outbox::payload.eq(None::<Metadata>),
                    outbox::finished_at.eq(Some(now)),
                ))
                .cached()
                .execute(connection)
                .await
                .map(drop)
            })
        })
        .await
    }

    async fn retry_later(
        &self,
        id: &EmailId,
        retry_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), PortError> {
        let (id, retry_at, error) = (
            id.as_str().to_owned(),
            Timestamp(retry_at),
            truncated(error),
        );
        self.run("reschedule email", move |connection| {
            Box::pin(async move {
                diesel::update(
                    outbox::table
                        .find(&id)
                        .filter(outbox::status.eq(outbox_status::SENDING)),
                )
                .set((
                    outbox::status.eq(outbox_status::PENDING),
                    outbox::due_at.eq(retry_at),
                    outbox::last_error.eq(Some(error)),
                ))
                .cached()
                .execute(connection)
                .await
                .map(drop)
            })
        })
        .await
    }

    async fn give_up(
        &self,
        id: &EmailId,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<(), PortError> {
        let (id, now, error) = (id.as_str().to_owned(), Timestamp(now), truncated(error));
        self.run("give up email", move |connection| {
            Box::pin(async move {
                diesel::update(
                    outbox::table
                        .find(&id)
                        .filter(outbox::status.eq(outbox_status::SENDING)),
                )
                .set((
                    outbox::status.eq(outbox_status::FAILED),
                    outbox::payload.eq(None::<Metadata>),
                    outbox::finished_at.eq(Some(now)),
                    outbox::last_error.eq(Some(error)),
                ))
                .cached()
                .execute(connection)
                .await
                .map(drop)
            })
        })
        .await
    }

    async fn purge_finished(
        &self,
        finished_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, PortError> {
        let (before, limit) = (Timestamp(finished_before), i64::from(limit));
        let purged = self
            .run("purge finished emails", move |connection| {
                Box::pin(async move {
                    // Two statements need no transaction: a finished email never changes again.
                    let finished: Vec<String> = outbox::table
                        .filter(outbox::status.eq_any([outbox_status::SENT, outbox_status::FAILED]))
                        .filter(outbox::finished_at.lt(before))
                        .select(outbox::id)
                        .limit(limit)
                        .load(connection)
                        .await?;
                    if finished.is_empty() {
                        return Ok(0);
                    }
                    diesel::delete(outbox::table.filter(outbox::id.eq_any(&finished)))
                        .execute(connection)
                        .await
                })
            })
            .await?;
        Ok(u64::try_from(purged).unwrap_or(0))
    }
}
