//! [`ChallengeRepository`], written once for both backends (see the crate documentation).
//!
//! Every method is one write transaction that reads what it decides on under `locked!` (row locks on PostgreSQL;
//! SQLite's write transactions hold the database's write lock from their start), so concurrent requests on any
//! number of instances cannot both spend one link, code or reset token, nor both pass a throttle.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use latchkey_domain::ports::{
    ChallengeRepository, CodeCheck, EmailChangeCheck, IssueOutcome, NewEmailChange, NewReset,
    NewVerification, UserLookup,
};
use latchkey_domain::{Email, PasswordHash, PortError, TokenHash, UserId};

use super::{revoke, write_transaction, Store};
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::{NewOutboxRow, NewResetRow, NewVerificationRow};
use crate::schema::{email_changes, outbox, password_resets, users, verification_challenges};
use crate::sql_types::Timestamp;

/// The account a lookup names, as `(id, email, is_verified)`, its row locked until the transaction ends (so two
/// requests for one account take turns).
macro_rules! locked_account {
    ($connection:expr, $lookup:expr) => {{
        let columns = (users::id, users::email, users::is_verified);
        match $lookup {
            UserLookup::Id(id) => {
                locked!(users::table.find(id.as_str()).select(columns))
                    .get_result::<(String, String, bool)>($connection)
                    .await
            }
            UserLookup::Email(email) => {
                locked!(users::table
                    .filter(users::email_key.eq(email.key()))
                    .select(columns))
                .get_result::<(String, String, bool)>($connection)
                .await
            }
            UserLookup::Username(name) => {
                locked!(users::table
                    .filter(users::username_key.eq(name.key()))
                    .select(columns))
                .get_result::<(String, String, bool)>($connection)
                .await
            }
        }
        .optional()
    }};
}

/// `true` when something was issued at `previous`, less than `min_interval` before `now`.
fn too_soon(previous: Option<Timestamp>, now: DateTime<Utc>, min_interval: TimeDelta) -> bool {
    previous.is_some_and(|Timestamp(at)| now < at + min_interval)
}

#[async_trait]
impl ChallengeRepository for Store {
    async fn issue_verification(
        &self,
        account: &UserLookup,
        challenge: &NewVerification,
        min_interval: TimeDelta,
    ) -> Result<IssueOutcome, PortError> {
        let (account, challenge) = (account.clone(), challenge.clone());
        self.run("issue verification", move |connection| {
            write_transaction(connection, move |connection| {
                Box::pin(async move {
                    let Some((user_id, email, verified)) = locked_account!(connection, &account)?
                    else {
                        return Ok(IssueOutcome::NoAccount);
                    };
                    if verified {
                        return Ok(IssueOutcome::AlreadyVerified);
                    }
                    let previous = verification_challenges::table
                        .find(&user_id)
                        .select(verification_challenges::created_at)
                        .get_result::<Timestamp>(connection)
                        .await
                        .optional()?;
                    if too_soon(previous, challenge.created_at, min_interval) {
                        return Ok(IssueOutcome::Throttled);
                    }
                    diesel::delete(verification_challenges::table.find(&user_id))
                        .execute(connection)
                        .await?;
                    diesel::insert_into(verification_challenges::table)
                        .values(NewVerificationRow {
                            user_id: &user_id,
                            link_hash: challenge.link_hash.as_bytes(),
                            code_hash: challenge.code_hash.as_bytes(),
                            link_expires_at: Timestamp(challenge.link_expires_at),
                            code_expires_at: Timestamp(challenge.code_expires_at),
                            attempts: 0,
                            created_at: Timestamp(challenge.created_at),
                        })
                        .cached()
                        .execute(connection)
                        .await?;
                    diesel::insert_into(outbox::table)
                        .values(NewOutboxRow::new(&challenge.email, &email))
                        .cached()
                        .execute(connection)
                        .await?;
                    Ok(IssueOutcome::Issued)
                })
            })
        })
        .await
    }

    async fn verify_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError> {
        let (link_hash, now) = (*link_hash, Timestamp(now));
        let user_id = self
            .run("verify by link", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        // Deleting is the spend: of two concurrent uses, the second finds nothing to delete.
                        let spent = diesel::delete(
                            verification_challenges::table
                                .filter(
                                    verification_challenges::link_hash
                                        .eq(link_hash.as_bytes().as_slice()),
                                )
                                .filter(verification_challenges::link_expires_at.gt(now)),
                        )
                        .returning(verification_challenges::user_id)
                        .get_result::<String>(connection)
                        .await
                        .optional()?;
                        if let Some(user_id) = &spent {
                            mark_verified!(connection, user_id, now);
                        }
                        Ok(spent)
                    })
                })
            })
            .await?;
        user_id.map(parse_user_id).transpose()
    }

    async fn verify_by_code(
        &self,
        email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<CodeCheck, PortError> {
        let (email_key, code_hash, now) = (email.key().to_owned(), *code_hash, Timestamp(now));
        let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let verdict = self
            .run("verify by code", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let user_id = users::table
                            .filter(users::email_key.eq(&email_key))
                            .select(users::id)
                            .get_result::<String>(connection)
                            .await
                            .optional()?;
                        let Some(user_id) = user_id else {
                            return Ok(None);
                        };
                        let challenge =
                            locked!(verification_challenges::table.find(&user_id).select((
                                verification_challenges::code_hash,
                                verification_challenges::code_expires_at,
                                verification_challenges::attempts,
                            )))
                            .get_result::<(Vec<u8>, Timestamp, i32)>(connection)
                            .await
                            .optional()?;
                        let Some((stored, expires_at, attempts)) = challenge else {
                            return Ok(None);
                        };
                        if expires_at <= now || attempts >= max_attempts {
                            return Ok(None);
                        }
                        // Compared in Rust, in constant time, rather than by the database's `=`.
                        if TokenHash::from_slice(&stored) != Some(code_hash) {
                            diesel::update(verification_challenges::table.find(&user_id))
                                .set(
                                    verification_challenges::attempts
                                        .eq(verification_challenges::attempts + 1),
                                )
                                .cached()
                                .execute(connection)
                                .await?;
                            return Ok(Some(Err(())));
                        }
                        diesel::delete(verification_challenges::table.find(&user_id))
                            .execute(connection)
                            .await?;
                        mark_verified!(connection, &user_id, now);
                        Ok(Some(Ok(user_id)))
                    })
                })
            })
            .await?;
        Ok(match verdict {
            None => CodeCheck::Invalid,
            Some(Err(())) => CodeCheck::Wrong,
            Some(Ok(user_id)) => CodeCheck::Verified(parse_user_id(user_id)?),
        })
    }

    async fn issue_reset(
        &self,
        email: &Email,
        reset: &NewReset,
        min_interval: TimeDelta,
    ) -> Result<IssueOutcome, PortError> {
        let (lookup, reset) = (UserLookup::Email(email.clone()), reset.clone());
        self.run("issue password reset", move |connection| {
            write_transaction(connection, move |connection| {
                Box::pin(async move {
                    // The same lookup for every address; only a known one goes on to write.
                    let Some((user_id, email, _)) = locked_account!(connection, &lookup)? else {
                        return Ok(IssueOutcome::NoAccount);
                    };
                    let previous = password_resets::table
                        .find(&user_id)
                        .select(password_resets::created_at)
                        .get_result::<Timestamp>(connection)
                        .await
                        .optional()?;
                    if too_soon(previous, reset.created_at, min_interval) {
                        return Ok(IssueOutcome::Throttled);
                    }
                    diesel::delete(password_resets::table.find(&user_id))
                        .execute(connection)
                        .await?;
                    diesel::insert_into(password_resets::table)
                        .values(NewResetRow {
                            user_id: &user_id,
                            token_hash: reset.token_hash.as_bytes(),
                            expires_at: Timestamp(reset.expires_at),
                            created_at: Timestamp(reset.created_at),
                        })
                        .cached()
                        .execute(connection)
                        .await?;
                    diesel::insert_into(outbox::table)
                        .values(NewOutboxRow::new(&reset.email, &email))
                        .cached()
                        .execute(connection)
                        .await?;
                    Ok(IssueOutcome::Issued)
                })
            })
        })
        .await
    }

    async fn reset_owner(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError> {
        let (token_hash, now) = (*token_hash, Timestamp(now));
        let owner: Option<String> = self
            .run("check password reset", move |connection| {
                Box::pin(async move {
                    password_resets::table
                        .filter(password_resets::token_hash.eq(token_hash.as_bytes().as_slice()))
                        .filter(password_resets::expires_at.gt(now))
                        .select(password_resets::user_id)
                        .get_result(connection)
                        .await
                        .optional()
                })
            })
            .await?;
        owner.map(parse_user_id).transpose()
    }

    async fn reset_password(
        &self,
        token_hash: &TokenHash,
        password_hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError> {
        let (token_hash, now) = (*token_hash, Timestamp(now));
        let password_hash = password_hash.as_str().to_owned();
        let user_id = self
            .run("reset password", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let live_reset = || {
                            password_resets::table
                                .filter(
                                    password_resets::token_hash
                                        .eq(token_hash.as_bytes().as_slice()),
                                )
                                .filter(password_resets::expires_at.gt(now))
                        };
                        // The account's row before its pending reset, the order a password change (which voids
                        // the reset) takes them in: deleting the reset first deadlocked with one on PostgreSQL.
                        let Some(owner) = live_reset()
                            .select(password_resets::user_id)
                            .get_result::<String>(connection)
                            .await
                            .optional()?
                        else {
                            return Ok(None);
                        };
                        super::sessions::lock_account(connection, &owner).await?;
                        // Deleting is the spend: of concurrent uses, only the first finds the row (a change that
                        // committed while this waited for the account has deleted it too).
                        let Some(user_id) = diesel::delete(live_reset())
                            .returning(password_resets::user_id)
                            .get_result::<String>(connection)
                            .await
                            .optional()?
                        else {
                            return Ok(None);
                        };
                        diesel::update(users::table.find(&user_id))
                            .set((
                                users::password_hash.eq(&password_hash),
                                users::is_verified.eq(true),
                                users::updated_at.eq(now),
                            ))
                            .cached()
                            .execute(connection)
                            .await?;
                        revoke::sessions_of(connection, &user_id, None, now).await?;
                        // Personal tokens and API keys end too: whoever held the old password may have made some.
                        revoke::credentials_of(connection, &user_id, now).await?;
                        diesel::delete(verification_challenges::table.find(&user_id))
                            .execute(connection)
                            .await?;
                        diesel::delete(email_changes::table.find(&user_id))
                            .execute(connection)
                            .await?;
                        Ok(Some(user_id))
                    })
                })
            })
            .await?;
        user_id.map(parse_user_id).transpose()
    }

    async fn issue_email_change(
        &self,
        user_id: &UserId,
        change: &NewEmailChange,
    ) -> Result<IssueOutcome, PortError> {
        Store::issue_email_change(self, user_id, change).await
    }

    async fn confirm_email_change_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<EmailChangeCheck, PortError> {
        Store::confirm_email_change_by_link(self, link_hash, now).await
    }

    async fn confirm_email_change_by_code(
        &self,
        new_email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<EmailChangeCheck, PortError> {
        Store::confirm_email_change_by_code(self, new_email, code_hash, now, max_attempts).await
    }

    async fn purge_challenges(
        &self,
        now: DateTime<Utc>,
        issued_before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, PortError> {
        let (now, issued_before) = (Timestamp(now), Timestamp(issued_before));
        let batch = i64::from(batch);
        self.run("purge challenges", move |connection| {
            Box::pin(async move {
                // A batch's keys are read, then deleted by key with the condition checked again (so a challenge
                // reissued in between stays): diesel has no DELETE … LIMIT, nor a limited subselect as its target.
                let expired = verification_challenges::table
                    .filter(verification_challenges::link_expires_at.le(now))
                    .filter(verification_challenges::code_expires_at.le(now))
                    .filter(verification_challenges::created_at.le(issued_before));
                let batch_keys: Vec<String> = expired
                    .select(verification_challenges::user_id)
                    .limit(batch)
                    .load(connection)
                    .await?;
                let verifications = diesel::delete(
                    expired.filter(verification_challenges::user_id.eq_any(&batch_keys)),
                )
                .execute(connection)
                .await?;
                let expired = password_resets::table
                    .filter(password_resets::expires_at.le(now))
                    .filter(password_resets::created_at.le(issued_before));
                let batch_keys: Vec<String> = expired
                    .select(password_resets::user_id)
                    .limit(batch)
                    .load(connection)
                    .await?;
                let resets =
                    diesel::delete(expired.filter(password_resets::user_id.eq_any(&batch_keys)))
                        .execute(connection)
                        .await?;
                let expired = email_changes::table
                    .filter(email_changes::link_expires_at.le(now))
                    .filter(email_changes::code_expires_at.le(now));
                let batch_keys: Vec<String> = expired
                    .select(email_changes::user_id)
                    .limit(batch)
                    .load(connection)
                    .await?;
                let changes =
                    diesel::delete(expired.filter(email_changes::user_id.eq_any(&batch_keys)))
                        .execute(connection)
                        .await?;
                Ok((verifications + resets + changes) as u64)
            })
        })
        .await
    }
}

/// Marks the account verified (bumping `updated_at` only when that changes something).
macro_rules! mark_verified {
    ($connection:expr, $user_id:expr, $now:expr) => {
        diesel::update(
            users::table
                .find($user_id)
                .filter(users::is_verified.eq(false)),
        )
        .set((users::is_verified.eq(true), users::updated_at.eq($now)))
        .cached()
        .execute($connection)
        .await?
    };
}
use mark_verified;

fn parse_user_id(id: String) -> Result<UserId, PortError> {
    UserId::parse(&id).ok_or_else(|| crate::error::corrupt("read challenge", "malformed user id"))
}
