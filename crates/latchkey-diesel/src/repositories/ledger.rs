//! [`CreditLedger`], written once for both backends (see the crate documentation).
//!
//! A charge is one write transaction of three statements: the conditional balance update (`credits >= price`, so
//! concurrent charges never overdraw: on PostgreSQL the account's row lock orders them and each re-checks the
//! condition on the committed balance; on SQLite write transactions are serialised), the idempotency key's insert,
//! and the ledger entry's insert. When the key exists already its insert does nothing: the transaction is rolled
//! back and the stored charge is read instead. On PostgreSQL a concurrent duplicate waits on the first request's row
//! lock, so it reads the key only once the first has committed or rolled back; nothing is ever charged twice.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::RunQueryDsl;
use latchkey_domain::model::{Charge, LedgerKind};
use latchkey_domain::ports::{
    ChargeOutcome, ChargeRequest, CreditLedger, GrantOutcome, GrantRequest, RefundOutcome,
    RefundRequest,
};
use latchkey_domain::{LedgerEntry, PortError, UserId, MAX_BALANCE};

use super::{write_transaction, Store};
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::{IdempotencyKeyRow, LedgerRow, NewLedgerRow};
use crate::schema::{credit_ledger, idempotency_keys, users};
use crate::sql_types::Timestamp;

/// The connection the shared bodies run on.
type Connection = <Store as Pooled>::Connection;

/// What a stored idempotency key answers a charge request with the same user and key.
enum Stored {
    /// No live key: the request is new.
    Absent,
    /// A key past its expiry, to delete before the key is used again.
    Expired,
    /// The key's answer.
    Answer(ChargeOutcome),
}

/// Reads the key `(user_id, key)` and, when it is live and was used with `fingerprint`, the charge it made.
async fn stored_key(
    connection: &mut Connection,
    user_id: &str,
    key: &str,
    fingerprint: &[u8],
    now: Timestamp,
) -> QueryResult<Stored> {
    let row: Option<IdempotencyKeyRow> = idempotency_keys::table
        .find((user_id, key))
        .select(IdempotencyKeyRow::as_select())
        .get_result(connection)
        .await
        .optional()?;
    let Some(row) = row else {
        return Ok(Stored::Absent);
    };
    if row.expires_at <= now {
        return Ok(Stored::Expired);
    }
    if row.fingerprint != fingerprint {
        return Ok(Stored::Answer(ChargeOutcome::KeyReusedWithOtherRequest));
    }
    let entry: LedgerRow = credit_ledger::table
        .filter(credit_ledger::charge_id.eq(&row.charge_id))
        .filter(credit_ledger::kind.eq(LedgerKind::Charge.as_str()))
        .select(LedgerRow::as_select())
        .get_result(connection)
        .await?;
    let charge = entry
        .into_entry()
        .ok()
        .as_ref()
        .and_then(Charge::from_entry)
        .ok_or(DieselError::NotFound)?;
    Ok(Stored::Answer(ChargeOutcome::Replayed(charge)))
}

/// A unique index refused the insert (a second refund of a charge, a second welcome entry).
fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The balance of `user_id`, or `None` when there is no such account.
async fn balance(connection: &mut Connection, user_id: &str) -> QueryResult<Option<i64>> {
    users::table
        .find(user_id)
        .select(users::credits)
        .get_result(connection)
        .await
        .optional()
}

#[async_trait]
impl CreditLedger for Store {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, PortError> {
        let user_id = request.user_id.as_str().to_owned();
        let key = request.key.as_str().to_owned();
        let fingerprint = request.fingerprint.as_bytes().to_vec();
        let (now, expires_at) = (Timestamp(request.now), Timestamp(request.key_expires_at));
        let price = request.price;
        let mut entry = NewLedgerRow::new(
            &request.entry_id,
            &request.user_id,
            LedgerKind::Charge,
            (-price, 0),
            now,
        );
        entry.charge_id = Some(request.charge_id.as_str().to_owned());
        entry.unit = Some(request.unit.clone());
        entry.quantity = Some(request.quantity);
        let charge_id = request.charge_id.as_str().to_owned();
        let row = self
            .run("charge credits", move |connection| {
                Box::pin(async move {
                    // Twice at most: the second attempt follows the deletion of an expired key of the same name.
                    for _ in 0..2 {
                        let key_row = IdempotencyKeyRow {
                            user_id: user_id.clone(),
                            key: key.clone(),
                            fingerprint: fingerprint.clone(),
                            charge_id: charge_id.clone(),
                            created_at: now,
                            expires_at,
                        };
                        let owned = (
                            user_id.clone(),
                            key.clone(),
                            fingerprint.clone(),
                            entry.clone(),
                        );
                        let attempt = write_transaction(connection, move |connection| {
                            Box::pin(async move {
                                let (user_id, key, fingerprint, entry) = owned;
                                let (user_id, key, fingerprint) = (&user_id, &key, &fingerprint);
                                let after: Option<i64> = diesel::update(
                                    users::table.find(user_id).filter(users::credits.ge(price)),
                                )
                                .set(users::credits.eq(users::credits - price))
                                .returning(users::credits)
                                .cached()
                                .get_result(connection)
                                .await
                                .optional()?;
                                let Some(after) = after else {
                                    // Nothing written: a stored key still answers (its charge may have drained the
                                    // balance); otherwise the balance is short or the account gone.
                                    if let Stored::Answer(answer) =
                                        stored_key(connection, user_id, key, fingerprint, now)
                                            .await?
                                    {
                                        return Ok(Err(answer));
                                    }
                                    return Ok(Err(match balance(connection, user_id).await? {
                                        Some(balance) => {
                                            ChargeOutcome::InsufficientCredits { balance }
                                        }
                                        None => ChargeOutcome::AccountGone,
                                    }));
                                };
                                let inserted = diesel::insert_into(idempotency_keys::table)
                                    .values(&key_row)
                                    .on_conflict((idempotency_keys::user_id, idempotency_keys::key))
                                    .do_nothing()
                                    .cached()
                                    .execute(connection)
                                    .await?;
                                if inserted == 0 {
                                    // The key exists: undo the balance update, then read what it answers.
                                    return Err(DieselError::RollbackTransaction);
                                }
                                let entry = NewLedgerRow {
                                    balance_after: after,
                                    ..entry
                                };
                                let sequence: i64 = diesel::insert_into(credit_ledger::table)
                                    .values(&entry)
                                    .returning(credit_ledger::sequence)
                                    .cached()
                                    .get_result(connection)
                                    .await?;
                                Ok(Ok(entry.stored(sequence)))
                            })
                        })
                        .await;
                        match attempt {
                            Ok(Ok(row)) => return Ok(Ok(row)),
                            Ok(Err(answer)) => return Ok(Err(answer)),
                            Err(DieselError::RollbackTransaction) => {}
                            Err(error) => return Err(error),
                        }
                        match stored_key(connection, &user_id, &key, &fingerprint, now).await? {
                            Stored::Answer(answer) => return Ok(Err(answer)),
                            // Gone already (purged between the two statements): try again as new.
                            Stored::Absent => {}
                            Stored::Expired => {
                                diesel::delete(
                                    idempotency_keys::table
                                        .find((user_id.as_str(), key.as_str()))
                                        .filter(idempotency_keys::expires_at.le(now)),
                                )
                                .execute(connection)
                                .await?;
                            }
                        }
                    }
                    Ok(Err(ChargeOutcome::InFlight))
                })
            })
            .await?;
        match row {
            Ok(row) => {
                let entry = row.into_entry()?;
                Charge::from_entry(&entry)
                    .map(ChargeOutcome::Charged)
                    .ok_or_else(|| PortError::new("charge credits", "charge entry incomplete"))
            }
            Err(answer) => Ok(answer),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, PortError> {
        let user_id = request.user_id.clone();
        let charge_id = request.charge_id.as_str().to_owned();
        let entry_id = request.entry_id.clone();
        let now = Timestamp(request.now);
        let refunded = self
            .run_raw("refund charge", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let charge: Option<LedgerRow> = credit_ledger::table
                            .filter(credit_ledger::charge_id.eq(&charge_id))
                            .filter(credit_ledger::kind.eq(LedgerKind::Charge.as_str()))
                            .filter(credit_ledger::user_id.eq(user_id.as_str()))
                            .select(LedgerRow::as_select())
                            .get_result(connection)
                            .await
                            .optional()?;
                        let Some(charge) = charge else {
                            return Ok(None);
                        };
                        let (amount, unit, quantity) = charge.charge_parts();
                        let after: i64 = diesel::update(users::table.find(user_id.as_str()))
                            .set(users::credits.eq(users::credits + amount))
                            .returning(users::credits)
                            .cached()
                            .get_result(connection)
                            .await?;
                        let mut entry = NewLedgerRow::new(
                            &entry_id,
                            &user_id,
                            LedgerKind::Refund,
                            (amount, after),
                            now,
                        );
                        entry.charge_id = Some(charge_id.clone());
                        entry.unit = unit;
                        entry.quantity = quantity;
                        // A second refund of the charge breaks the unique (charge_id, kind): the whole step is
                        // rolled back.
                        let sequence: i64 = diesel::insert_into(credit_ledger::table)
                            .values(&entry)
                            .returning(credit_ledger::sequence)
                            .cached()
                            .get_result(connection)
                            .await?;
                        Ok(Some(entry.stored(sequence)))
                    })
                })
            })
            .await?;
        match refunded {
            Ok(Some(row)) => Ok(RefundOutcome::Refunded(row.into_entry()?)),
            Ok(None) => Ok(RefundOutcome::NotFound),
            Err(error) if is_unique_violation(&error) => Ok(RefundOutcome::AlreadyRefunded),
            Err(error) => Err(PortError::new("refund charge", error)),
        }
    }

    async fn grant(&self, request: &GrantRequest) -> Result<GrantOutcome, PortError> {
        if request.amount.unsigned_abs() > MAX_BALANCE.unsigned_abs() {
            // Past any balance's range, whatever the balance: and the sums below cannot overflow.
            let balance = self.balance_of(&request.user_id).await?;
            return Ok(balance.map_or(GrantOutcome::AccountGone, |balance| {
                GrantOutcome::OutOfRange { balance }
            }));
        }
        let user_id = request.user_id.clone();
        let (amount, kind) = (request.amount, request.kind);
        let mut entry = NewLedgerRow::new(
            &request.entry_id,
            &request.user_id,
            kind,
            (amount, 0),
            Timestamp(request.now),
        );
        entry.reason = request.reason.clone();
        let granted = self
            .run_raw("grant credits", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let id = user_id.as_str();
                        if kind == LedgerKind::Welcome {
                            let welcomed = diesel::select(diesel::dsl::exists(
                                credit_ledger::table
                                    .filter(credit_ledger::user_id.eq(id))
                                    .filter(credit_ledger::kind.eq(LedgerKind::Welcome.as_str())),
                            ))
                            .get_result::<bool>(connection)
                            .await?;
                            if welcomed {
                                return Ok(Err(GrantOutcome::AlreadyWelcomed));
                            }
                        }
                        // Written so that nothing overflows: |amount| <= MAX_BALANCE and so is the balance.
                        let after: Option<i64> = diesel::update(
                            users::table
                                .find(id)
                                .filter(users::credits.ge(-amount))
                                .filter(users::credits.le(MAX_BALANCE - amount)),
                        )
                        .set(users::credits.eq(users::credits + amount))
                        .returning(users::credits)
                        .cached()
                        .get_result(connection)
                        .await
                        .optional()?;
                        let Some(after) = after else {
                            return Ok(Err(match balance(connection, id).await? {
                                Some(balance) => GrantOutcome::OutOfRange { balance },
                                None => GrantOutcome::AccountGone,
                            }));
                        };
                        let entry = NewLedgerRow {
                            balance_after: after,
                            ..entry
                        };
                        // A welcome entry raced by another breaks the one-welcome index: rolled back whole.
                        let sequence: i64 = diesel::insert_into(credit_ledger::table)
                            .values(&entry)
                            .returning(credit_ledger::sequence)
                            .cached()
                            .get_result(connection)
                            .await?;
                        Ok(Ok(entry.stored(sequence)))
                    })
                })
            })
            .await?;
        match granted {
            Ok(Ok(row)) => Ok(GrantOutcome::Granted(row.into_entry()?)),
            Ok(Err(outcome)) => Ok(outcome),
            Err(error) if kind == LedgerKind::Welcome && is_unique_violation(&error) => {
                Ok(GrantOutcome::AlreadyWelcomed)
            }
            Err(error) => Err(PortError::new("grant credits", error)),
        }
    }

    async fn list_entries(
        &self,
        user_id: &UserId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, PortError> {
        let user_id = user_id.as_str().to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .run("list ledger", move |connection| {
                Box::pin(async move {
                    let mut query = credit_ledger::table
                        .filter(credit_ledger::user_id.eq(user_id))
                        .into_boxed();
                    if let Some(before) = before {
                        query = query.filter(credit_ledger::sequence.lt(before));
                    }
                    query
                        .order(credit_ledger::sequence.desc())
                        .limit(limit)
                        .select(LedgerRow::as_select())
                        .load(connection)
                        .await
                })
            })
            .await?;
        rows.into_iter().map(LedgerRow::into_entry).collect()
    }

    async fn purge_idempotency_keys(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, PortError> {
        let now = Timestamp(now);
        let limit = i64::from(limit);
        self.run("purge idempotency keys", move |connection| {
            Box::pin(async move {
                // A batch's keys are read, then deleted with the condition checked again (diesel has no DELETE …
                // LIMIT): a batch may take a few more expired keys than `limit`, never a live one.
                let expired = idempotency_keys::table.filter(idempotency_keys::expires_at.le(now));
                let batch: Vec<(String, String)> = expired
                    .select((idempotency_keys::user_id, idempotency_keys::key))
                    .limit(limit)
                    .load(connection)
                    .await?;
                let (users, keys): (Vec<String>, Vec<String>) = batch.into_iter().unzip();
                let deleted = diesel::delete(
                    expired
                        .filter(idempotency_keys::user_id.eq_any(&users))
                        .filter(idempotency_keys::key.eq_any(&keys)),
                )
                .execute(connection)
                .await?;
                Ok(deleted as u64)
            })
        })
        .await
    }

    async fn verified_without_welcome(&self, limit: u32) -> Result<Vec<UserId>, PortError> {
        let limit = i64::from(limit);
        let ids: Vec<String> = self
            .run("find accounts owed their welcome", move |connection| {
                Box::pin(async move {
                    let welcomed = credit_ledger::table
                        .filter(credit_ledger::user_id.eq(users::id.nullable()))
                        .filter(credit_ledger::kind.eq(LedgerKind::Welcome.as_str()));
                    users::table
                        .filter(users::is_verified.eq(true))
                        .filter(diesel::dsl::not(diesel::dsl::exists(welcomed)))
                        .order(users::id.asc())
                        .select(users::id)
                        .limit(limit)
                        .load(connection)
                        .await
                })
            })
            .await?;
        ids.iter()
            .map(|id| {
                UserId::parse(id)
                    .ok_or_else(|| crate::error::corrupt("read account", "malformed user id"))
            })
            .collect()
    }
}

impl Store {
    async fn balance_of(&self, user_id: &UserId) -> Result<Option<i64>, PortError> {
        let user_id = user_id.as_str().to_owned();
        self.run("read balance", move |connection| {
            Box::pin(async move { balance(connection, &user_id).await })
        })
        .await
    }
}
