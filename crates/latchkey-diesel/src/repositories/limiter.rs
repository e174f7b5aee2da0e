//! [`RateLimiter`], written once for both backends (see the crate documentation).

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::dsl::{case_when, exists};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use latchkey_domain::ports::{Admission, LimitKey, RateLimiter};
use latchkey_domain::{PortError, Rate, UserId};

use super::Store;
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::schema::{known_addresses, rate_limits};
use crate::sql_types::Timestamp;

/// Microseconds of a duration, as the `arrival_us` column counts them.
fn micros(duration: TimeDelta) -> i64 {
    duration.num_microseconds().unwrap_or(i64::MAX)
}

type Connection = <Store as Pooled>::Connection;

/// Gives back one attempt counted for `key` (see [`RateLimiter::release`]), inside whatever transaction the
/// connection is in.
pub(super) async fn give_back(
    connection: &mut Connection,
    key: &LimitKey,
    rate: Rate,
) -> QueryResult<usize> {
    diesel::update(rate_limits::table.find(key.hash().as_bytes().as_slice()))
        .set(rate_limits::arrival_us.eq(rate_limits::arrival_us - micros(rate.interval())))
        .cached()
        .execute(connection)
        .await
}

/// Remembers `address` as one `user_id` logged in from at `now`, moving an older sighting forward (see
/// [`RateLimiter::remember_address`]), inside whatever transaction the connection is in. Fails with a foreign-key
/// violation when the account does not exist.
pub(super) async fn remember(
    connection: &mut Connection,
    user_id: &UserId,
    address: &LimitKey,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let now = Timestamp(now);
    let upsert = diesel::insert_into(known_addresses::table)
        .values((
            known_addresses::user_id.eq(user_id.as_str()),
            known_addresses::address.eq(address.hash().as_bytes().as_slice()),
            known_addresses::seen_at.eq(now),
        ))
        .on_conflict((known_addresses::user_id, known_addresses::address))
        .do_update()
        .set(known_addresses::seen_at.eq(excluded(known_addresses::seen_at)));
    diesel::query_dsl::methods::FilterDsl::filter(upsert, known_addresses::seen_at.lt(now))
        .cached()
        .execute(connection)
        .await
}

#[async_trait]
impl RateLimiter for Store {
    async fn acquire(
        &self,
        key: &LimitKey,
        rate: Rate,
        now: DateTime<Utc>,
    ) -> Result<Admission, PortError> {
        let key = *key.hash().as_bytes();
        let (now, interval, period) = (
            now.timestamp_micros(),
            micros(rate.interval()),
            micros(rate.period()),
        );
        let arrival = self
            .run("count rate-limited attempt", move |connection| {
                Box::pin(async move {
                    // The whole GCRA in one statement: insert the key's first attempt, or move its arrival time one
                    // interval past max(arrival, now) unless that would run more than a period ahead of now. The
                    // row lock of the upsert serialises concurrent attempts on one key, across instances.
                    let upsert = diesel::insert_into(rate_limits::table)
                        .values((
                            rate_limits::key.eq(key.as_slice()),
                            rate_limits::arrival_us.eq(now + interval),
                        ))
                        .on_conflict(rate_limits::key)
                        .do_update()
                        .set(
                            rate_limits::arrival_us.eq(case_when(
                                rate_limits::arrival_us.gt(now),
                                rate_limits::arrival_us,
                            )
                            .otherwise(now)
                                + interval),
                        );
                    // `DO UPDATE … WHERE`: the upsert's own filter, not `QueryDsl::filter`.
                    let counted = diesel::query_dsl::methods::FilterDsl::filter(
                        upsert,
                        rate_limits::arrival_us.le(now + period - interval),
                    )
                    .returning(rate_limits::arrival_us)
                    .cached()
                    .get_result::<i64>(connection)
                    .await
                    .optional()?;
                    match counted {
                        Some(_) => Ok(None),
                        // Refused: nothing was written; the wait follows from the arrival time as it stands.
                        None => rate_limits::table
                            .find(key.as_slice())
                            .select(rate_limits::arrival_us)
                            .get_result::<i64>(connection)
                            .await
                            .optional(),
                    }
                })
            })
            .await?;
        Ok(match arrival {
            None => Admission::Admitted,
            Some(arrival) => Admission::Refused {
                retry_after: TimeDelta::microseconds(arrival + interval - period - now),
            },
        })
    }

    async fn release(&self, key: &LimitKey, rate: Rate) -> Result<(), PortError> {
        let key = key.clone();
        self.run("give back a rate-limited attempt", move |connection| {
            Box::pin(async move { give_back(connection, &key, rate).await.map(drop) })
        })
        .await
    }

    async fn remember_address(
        &self,
        user_id: &UserId,
        address: &LimitKey,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let user_id = user_id.clone();
        let address = address.clone();
        self.run("remember a login address", move |connection| {
            Box::pin(async move {
                match remember(connection, &user_id, &address, now).await {
                    // The account was deleted meanwhile: there is nothing to remember it for.
                    Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                        Ok(())
                    }
                    other => other.map(drop),
                }
            })
        })
        .await
    }

    async fn knows_address(
        &self,
        user_id: &UserId,
        address: &LimitKey,
        since: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let user_id = user_id.as_str().to_owned();
        let address = *address.hash().as_bytes();
        let since = Timestamp(since);
        self.run("look up a login address", move |connection| {
            Box::pin(async move {
                diesel::select(exists(
                    known_addresses::table
                        .filter(known_addresses::user_id.eq(&user_id))
                        .filter(known_addresses::address.eq(address.as_slice()))
                        .filter(known_addresses::seen_at.ge(since)),
                ))
                .get_result(connection)
                .await
            })
        })
        .await
    }

    async fn forget_addresses(&self, user_id: &UserId) -> Result<(), PortError> {
        let user_id = user_id.as_str().to_owned();
        self.run("forget login addresses", move |connection| {
            Box::pin(async move {
                diesel::delete(known_addresses::table.filter(known_addresses::user_id.eq(user_id)))
                    .execute(connection)
                    .await
                    .map(drop)
            })
        })
        .await
    }

    async fn purge_limits(
        &self,
        now: DateTime<Utc>,
        remembered_before: DateTime<Utc>,
    ) -> Result<u64, PortError> {
        let now_us = now.timestamp_micros();
        let before = Timestamp(remembered_before);
        let purged = self
            .run("purge rate limits", move |connection| {
                Box::pin(async move {
                    let limits = diesel::delete(
                        rate_limits::table.filter(rate_limits::arrival_us.le(now_us)),
                    )
                    .execute(connection)
                    .await?;
                    let addresses = diesel::delete(
                        known_addresses::table.filter(known_addresses::seen_at.lt(before)),
                    )
                    .execute(connection)
                    .await?;
                    Ok(limits + addresses)
                })
            })
            .await?;
        Ok(u64::try_from(purged).unwrap_or(u64::MAX))
    }
}
