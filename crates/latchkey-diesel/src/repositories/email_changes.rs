//! Pending email changes: the bodies of [`latchkey_domain::ports::ChallengeRepository`]'s email-change methods,
//! written once for both backends (see the crate documentation), as `challenges.rs` is.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, RunQueryDsl};
use latchkey_domain::ports::{EmailChangeCheck, IssueOutcome, NewEmailChange};
use latchkey_domain::{Email, PortError, TokenHash, UserId};

use super::{revoke, sessions as session_rows, write_transaction, Store};
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::NewOutboxRow;
use crate::schema::{email_changes, outbox, password_resets, users, verification_challenges};
use crate::sql_types::Timestamp;

type Connection = <Store as Pooled>::Connection;

/// A pending change spent by its link or code, to apply.
struct Spent {
    user_id: String,
    new_email: String,
    new_email_key: String,
    requested_by: Option<String>,
}

impl Store {
    pub(super) async fn issue_email_change(
        &self,
        user_id: &UserId,
        change: &NewEmailChange,
    ) -> Result<IssueOutcome, PortError> {
        let (user_id, change) = (user_id.as_str().to_owned(), change.clone());
        self.run("issue email change", move |connection| {
            write_transaction(connection, move |connection| {
                Box::pin(async move {
                    // Locked so that a concurrent request of the same account waits, then replaces this one.
                    let Some(current) = locked!(users::table.find(&user_id).select(users::email))
                        .get_result::<String>(connection)
                        .await
                        .optional()?
                    else {
                        return Ok(IssueOutcome::NoAccount);
                    };
                    if let Some(session) = &change.requested_by {
                        let created_at = Timestamp(change.created_at);
                        if !session_rows::is_active_in(
                            connection,
                            session.as_str(),
                            &user_id,
                            created_at,
                        )
                        .await?
                        {
                            return Ok(IssueOutcome::SessionEnded);
                        }
                    }
                    let new_email = &change.new_email;
                    let taken = diesel::select(diesel::dsl::exists(
                        users::table.filter(users::email_key.eq(new_email.key())),
                    ))
                    .get_result::<bool>(connection)
                    .await?;
                    if taken {
                        return Ok(IssueOutcome::EmailTaken);
                    }
                    diesel::delete(email_changes::table.find(&user_id))
                        .execute(connection)
                        .await?;
                    diesel::insert_into(email_changes::table)
                        .values((
                            email_changes::user_id.eq(&user_id),
                            email_changes::new_email.eq(new_email.as_str()),
                            email_changes::new_email_key.eq(new_email.key()),
                            email_changes::link_hash.eq(change.link_hash.as_bytes().as_slice()),
                            email_changes::code_hash.eq(change.code_hash.as_bytes().as_slice()),
                            email_changes::link_expires_at.eq(Timestamp(change.link_expires_at)),
                            email_changes::code_expires_at.eq(Timestamp(change.code_expires_at)),
                            email_changes::attempts.eq(0),
                            email_changes::requested_by
                                .eq(change.requested_by.as_ref().map(|id| id.as_str())),
                            email_changes::created_at.eq(Timestamp(change.created_at)),
                        ))
                        .cached()
                        .execute(connection)
                        .await?;
                    for (email, recipient) in [
                        (&change.confirmation, new_email.as_str()),
                        (&change.notice, current.as_str()),
                    ] {
                        diesel::insert_into(outbox::table)
                            .values(NewOutboxRow::new(email, recipient))
                            .cached()
                            .execute(connection)
                            .await?;
                    }
                    Ok(IssueOutcome::Issued)
                })
            })
        })
        .await
    }

    pub(super) async fn confirm_email_change_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<EmailChangeCheck, PortError> {
        let (link_hash, now) = (*link_hash, Timestamp(now));
        let verdict = self
            .run("confirm email change by link", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let live = email_changes::table
                            .filter(email_changes::link_hash.eq(link_hash.as_bytes().as_slice()))
                            .filter(email_changes::link_expires_at.gt(now));
                        let Some(owner) = live
                            .select(email_changes::user_id)
                            .get_result::<String>(connection)
                            .await
                            .optional()?
                        else {
                            return Ok(Verdict::Invalid);
                        };
                        lock_accounts(connection, std::slice::from_ref(&owner)).await?;
                        // Deleting is the spend: of two concurrent uses, the second finds nothing to delete (nor
                        // does a use racing a newer request, which replaced the change).
                        let spent = diesel::delete(live.filter(email_changes::user_id.eq(&owner)))
                            .returning((
                                email_changes::user_id,
                                email_changes::new_email,
                                email_changes::new_email_key,
                                email_changes::requested_by,
                            ))
                            .get_result::<(String, String, String, Option<String>)>(connection)
                            .await
                            .optional()?;
                        let Some((user_id, new_email, new_email_key, requested_by)) = spent else {
                            return Ok(Verdict::Invalid);
                        };
                        let spent = Spent {
                            user_id,
                            new_email,
                            new_email_key,
                            requested_by,
                        };
                        apply(connection, spent, now).await
                    })
                })
            })
            .await?;
        verdict.into_check()
    }

    pub(super) async fn confirm_email_change_by_code(
        &self,
        new_email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<EmailChangeCheck, PortError> {
        let (key, code_hash, now) = (new_email.key().to_owned(), *code_hash, Timestamp(now));
        let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        // Every code verification asks here first, and almost none is for an email change: one indexed read answers
        // those without taking the write lock (SQLite) or opening a write transaction.
        let probe = key.clone();
        let pending = self
            .run("look for an email change", move |connection| {
                Box::pin(async move {
                    diesel::select(diesel::dsl::exists(
                        email_changes::table.filter(email_changes::new_email_key.eq(&probe)),
                    ))
                    .get_result::<bool>(connection)
                    .await
                })
            })
            .await?;
        if !pending {
            return Ok(EmailChangeCheck::Invalid);
        }
        let verdict = self
            .run("confirm email change by code", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        // Several accounts may ask for one address; the code tells which. Each live candidate is
                        // locked (its account's row first), and only the one whose code matches is spent.
                        let live = email_changes::table
                            .filter(email_changes::new_email_key.eq(&key))
                            .filter(email_changes::code_expires_at.gt(now))
                            .filter(email_changes::attempts.lt(max_attempts));
                        let owners: Vec<String> =
                            live.select(email_changes::user_id).load(connection).await?;
                        lock_accounts(connection, &owners).await?;
                        let candidates =
                            locked!(live.filter(email_changes::user_id.eq_any(&owners)).select((
                                email_changes::user_id,
                                email_changes::new_email,
                                email_changes::code_hash,
                                email_changes::requested_by,
                            )))
                            .load::<(String, String, Vec<u8>, Option<String>)>(connection)
                            .await?;
                        if candidates.is_empty() {
                            return Ok(Verdict::Invalid);
                        }
                        // Compared in Rust, in constant time, rather than by the database's `=`.
                        let matching = candidates.iter().position(|(_, _, stored, _)| {
                            TokenHash::from_slice(stored) == Some(code_hash)
                        });
                        let Some(index) = matching else {
                            let ids: Vec<&String> = candidates.iter().map(|(id, ..)| id).collect();
                            diesel::update(
                                email_changes::table.filter(email_changes::user_id.eq_any(ids)),
                            )
                            .set(email_changes::attempts.eq(email_changes::attempts + 1))
                            .execute(connection)
                            .await?;
                            return Ok(Verdict::Wrong);
                        };
                        let (user_id, new_email, _, requested_by) =
                            candidates.into_iter().nth(index).unwrap_or_default();
                        diesel::delete(email_changes::table.find(&user_id))
                            .execute(connection)
                            .await?;
                        let spent = Spent {
                            user_id,
                            new_email,
                            new_email_key: key,
                            requested_by,
                        };
                        apply(connection, spent, now).await
                    })
                })
            })
            .await?;
        verdict.into_check()
    }
}

/// Locks the rows of these accounts, in id order, before a confirmation locks or spends their pending changes: a
/// request, a password change or reset and a deletion lock the account's row before they replace or drop its
/// change, so taking the two in the other order would let a confirmation and one of them each wait for the other
/// (a deadlock PostgreSQL ends by failing one). A no-op on SQLite, whose write transactions take turns.
async fn lock_accounts(connection: &mut Connection, user_ids: &[String]) -> QueryResult<()> {
    locked!(users::table
        .filter(users::id.eq_any(user_ids))
        .order(users::id)
        .select(users::id))
    .load::<String>(connection)
    .await
    .map(drop)
}

/// What a confirmation decided, before the user id is parsed.
enum Verdict {
    Changed(String),
    Wrong,
    Invalid,
    EmailTaken,
}

impl Verdict {
    fn into_check(self) -> Result<EmailChangeCheck, PortError> {
        Ok(match self {
            Verdict::Changed(user_id) => {
                EmailChangeCheck::Changed(UserId::parse(&user_id).ok_or_else(|| {
                    crate::error::corrupt("read email change", "malformed user id")
                })?)
            }
            Verdict::Wrong => EmailChangeCheck::Wrong,
            Verdict::Invalid => EmailChangeCheck::Invalid,
            Verdict::EmailTaken => EmailChangeCheck::EmailTaken,
        })
    }
}

/// Moves the account to its new address, verified, and ends what the old address could still use: its other
/// sessions, its pending verification and its reset token. The address may have been registered since the change
/// was asked for: the update runs in a savepoint, so the unique index's refusal undoes only it and the spent change
/// stays spent.
async fn apply(connection: &mut Connection, spent: Spent, now: Timestamp) -> QueryResult<Verdict> {
    let Spent {
        user_id,
        new_email,
        new_email_key,
        requested_by,
    } = spent;
    let id = user_id.clone();
    let moved = connection
        .transaction(async move |connection| {
            diesel::update(users::table.find(&id))
                .set((
                    users::email.eq(&new_email),
                    users::email_key.eq(&new_email_key),
                    users::is_verified.eq(true),
                    users::updated_at.eq(now),
                ))
                .cached()
                .execute(connection)
                .await
        })
        .await;
    match moved {
        Ok(_) => {}
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            return Ok(Verdict::EmailTaken)
        }
        Err(error) => return Err(error),
    }
    revoke::sessions_of(connection, &user_id, requested_by.as_deref(), now).await?;
    diesel::delete(verification_challenges::table.find(&user_id))
        .execute(connection)
        .await?;
    diesel::delete(password_resets::table.find(&user_id))
        .execute(connection)
        .await?;
    Ok(Verdict::Changed(user_id))
}
