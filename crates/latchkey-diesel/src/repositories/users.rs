//! [`UserRepository`], written once for both backends (see the crate documentation).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use latchkey_domain::ports::{
    InsertUserError, UpdateProfileError, UserLookup, UserQuery, UserRepository,
};
use latchkey_domain::{
    LedgerKind, NewUser, PasswordHash, PortError, ProfileChanges, SessionId, User, UserCredentials,
    UserId,
};

use super::{revoke, sessions as session_rows, write_transaction, Store};
use crate::cached::CacheStatement;
use crate::error::{insert_user_error, update_profile_error};
use crate::pool::Pooled;
use crate::rows::{NewLedgerRow, ProfileChangeset, UserRow};
use crate::schema::{
    credit_ledger, email_changes, outbox, password_resets, refresh_tokens, security_events,
    sessions, users,
};
use crate::sql_types::Timestamp;

#[async_trait]
impl UserRepository for Store {
    async fn insert(&self, user: &NewUser) -> Result<User, InsertUserError> {
        let row = UserRow::new(user);
        let email_key = user.email.key().to_owned();
        // The welcome credits are the account's first ledger entry, written with it.
        let welcome = (user.credits > 0).then(|| {
            NewLedgerRow::new(
                &user.welcome_entry_id,
                &user.id,
                LedgerKind::Welcome,
                (user.credits, user.credits),
                Timestamp(user.created_at),
            )
        });
        // No prior read: the unique constraints decide, so two concurrent registrations cannot both succeed.
        let inserted = self
            .run_raw("insert user", move |connection| {
                Box::pin(async move {
                    let created = write_transaction(connection, move |connection| {
                        Box::pin(async move {
                            let row = diesel::insert_into(users::table)
                                .values(row)
                                .returning(UserRow::as_returning())
                                .cached()
                                .get_result(connection)
                                .await?;
                            if let Some(welcome) = welcome {
                                diesel::insert_into(credit_ledger::table)
                                    .values(welcome)
                                    .cached()
                                    .execute(connection)
                                    .await?;
                            }
                            Ok(row)
                        })
                    })
                    .await;
                    let error = match created {
                        Ok(row) => return Ok(Ok(row)),
                        Err(error) => insert_user_error(error),
                    };
                    // A backend may check the username index first (SQLite does); the port reports a taken email
                    // before a taken username.
                    if matches!(error, InsertUserError::UsernameTaken) {
                        let email_taken = diesel::select(diesel::dsl::exists(
                            users::table.filter(users::email_key.eq(&email_key)),
                        ))
                        .get_result::<bool>(connection)
                        .await?;
                        if email_taken {
                            return Ok(Err(InsertUserError::EmailTaken));
                        }
                    }
                    Ok(Err(error))
                })
            })
            .await?
            .map_err(|e| PortError::new("insert user", e))??;
        Ok(inserted.into_credentials()?.user)
    }

    async fn find(&self, id: &UserId) -> Result<Option<User>, PortError> {
        let credentials = self.find_credentials(&UserLookup::Id(id.clone())).await?;
        Ok(credentials.map(|c| c.user))
    }

    async fn find_by_active_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, PortError> {
        let (session_id, user_id) = (session_id.as_str().to_owned(), user_id.as_str().to_owned());
        let now = Timestamp(now);
        let row = self
            .read("find user of session", move |connection| {
                Box::pin(async move {
                    users::table
                        .inner_join(sessions::table)
                        .filter(sessions::id.eq(&session_id))
                        .filter(users::id.eq(&user_id))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .select(UserRow::as_select())
                        .get_result(connection)
                        .await
                        .optional()
                })
            })
            .await?;
        Ok(row
            .map(UserRow::into_credentials)
            .transpose()?
            .map(|c| c.user))
    }

    async fn find_credentials(
        &self,
        lookup: &UserLookup,
    ) -> Result<Option<UserCredentials>, PortError> {
        let lookup = lookup.clone();
        let row = self
            .read("find user", move |connection| {
                Box::pin(async move {
                    let query = users::table.select(UserRow::as_select()).into_boxed();
                    let query = match &lookup {
                        UserLookup::Id(id) => query.filter(users::id.eq(id.as_str())),
                        UserLookup::Email(email) => query.filter(users::email_key.eq(email.key())),
                        UserLookup::Username(name) => {
                            query.filter(users::username_key.eq(name.key()))
                        }
                    };
                    query.get_result(connection).await.optional()
                })
            })
            .await?;
        row.map(UserRow::into_credentials).transpose()
    }

    async fn update_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        keep: Option<&SessionId>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let (id, hash) = (id.as_str().to_owned(), hash.as_str().to_owned());
        let keep = keep.map(|keep| keep.as_str().to_owned());
        let now = Timestamp(now);
        self.run("update password", move |connection| {
            write_transaction(connection, move |connection| {
                Box::pin(async move {
                    if let Some(keep) = &keep {
                        if !session_rows::lock_account_for(connection, &id, keep, now).await? {
                            return Ok(false);
                        }
                    }
                    let updated = diesel::update(users::table.find(&id))
                        .set((users::password_hash.eq(&hash), users::updated_at.eq(now)))
                        .cached()
                        .execute(connection)
                        .await?;
                    if updated == 0 {
                        return Ok(false);
                    }
                    // A pending email change was asked for under the old password: whoever changes it may be
                    // taking the account back from the one who asked.
                    diesel::delete(email_changes::table.find(&id))
                        .execute(connection)
                        .await?;
                    // A pending reset link would undo the change: whoever changes the password because they fear
                    // someone else has it must not leave that someone a way back in by email.
                    diesel::delete(password_resets::table.find(&id))
                        .execute(connection)
                        .await?;
                    revoke::sessions_of(connection, &id, keep.as_deref(), now).await?;
                    Ok(true)
                })
            })
        })
        .await
    }

    async fn rehash_password(
        &self,
        id: &UserId,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, PortError> {
        let (id, current, upgraded) = (
            id.as_str().to_owned(),
            current.as_str().to_owned(),
            upgraded.as_str().to_owned(),
        );
        let replaced = self
            .run("rehash password", move |connection| {
                Box::pin(async move {
                    // One conditional statement: the row lock it takes orders it with a concurrent password change,
                    // whose new hash then no longer matches.
                    diesel::update(
                        users::table
                            .find(&id)
                            .filter(users::password_hash.eq(&current)),
                    )
                    .set(users::password_hash.eq(&upgraded))
                    .cached()
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(replaced > 0)
    }

    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, UpdateProfileError> {
        let id = id.as_str().to_owned();
        let changeset = ProfileChangeset::new(changes, now);
        let updated = self
            .run_raw("update profile", move |connection| {
                Box::pin(async move {
                    // The username's unique index decides a race between two accounts taking one name.
                    match diesel::update(users::table.find(&id))
                        .set(changeset)
                        .returning(UserRow::as_returning())
                        .cached()
                        .get_result(connection)
                        .await
                        .optional()
                    {
                        Ok(row) => Ok(Ok(row)),
                        Err(error) => Ok(Err(update_profile_error(error))),
                    }
                })
            })
            .await?
            .map_err(|e| PortError::new("update profile", e))??;
        Ok(updated
            .map(UserRow::into_credentials)
            .transpose()?
            .map(|credentials| credentials.user))
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, PortError> {
        let pattern = query.email_pattern.as_deref().map(like_pattern);
        let limit = i64::from(query.limit);
        let rows = self
            .run("list users", move |connection| {
                Box::pin(async move {
                    let mut select = users::table
                        .select(UserRow::as_select())
                        .order((users::created_at.desc(), users::id.desc()))
                        .limit(limit)
                        .into_boxed();
                    if let Some(pattern) = &pattern {
                        select = select.filter(users::email_key.like(pattern).escape('\\'));
                    }
                    select.load(connection).await
                })
            })
            .await?;
        rows.into_iter()
            .map(|row| Ok(row.into_credentials()?.user))
            .collect()
    }

    async fn set_disabled(
        &self,
        id: &UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, PortError> {
        let (id, reason, now) = (
            id.as_str().to_owned(),
            reason.map(str::to_owned),
            Timestamp(now),
        );
        let row = self
            .run("set account disabled", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        let Some(disabled_at) =
                            locked!(users::table.find(&id).select(users::disabled_at))
                                .get_result::<Option<Timestamp>>(connection)
                                .await
                                .optional()?
                        else {
                            return Ok(None);
                        };
                        let Some(reason) = reason else {
                            return diesel::update(users::table.find(&id))
                                .set((
                                    users::disabled_at.eq(None::<Timestamp>),
                                    users::disabled_reason.eq(None::<String>),
                                    users::updated_at.eq(now),
                                ))
                                .returning(UserRow::as_returning())
                                .cached()
                                .get_result(connection)
                                .await
                                .map(Some);
                        };
                        let row = diesel::update(users::table.find(&id))
                            .set((
                                users::disabled_at.eq(Some(disabled_at.unwrap_or(now))),
                                users::disabled_reason.eq(Some(reason)),
                                users::updated_at.eq(now),
                            ))
                            .returning(UserRow::as_returning())
                            .cached()
                            .get_result(connection)
                            .await?;
                        revoke::sessions_of(connection, &id, None, now).await?;
                        revoke::credentials_of(connection, &id, now).await?;
                        Ok(Some(row))
                    })
                })
            })
            .await?;
        Ok(row
            .map(UserRow::into_credentials)
            .transpose()?
            .map(|credentials| credentials.user))
    }

    async fn delete_user(
        &self,
        id: &UserId,
        asked_by: Option<&SessionId>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let id = id.as_str().to_owned();
        let asked_by = asked_by.map(|session| session.as_str().to_owned());
        let now = Timestamp(now);
        self.run("delete user", move |connection| {
            write_transaction(connection, move |connection| {
                Box::pin(async move {
                    let Some(email) = locked!(users::table.find(&id).select(users::email))
                        .get_result::<String>(connection)
                        .await
                        .optional()?
                    else {
                        return Ok(false);
                    };
                    if let Some(session) = &asked_by {
                        if !session_rows::is_active_in(connection, session, &id, now).await? {
                            return Ok(false);
                        }
                    }
                    let pending = email_changes::table
                        .find(&id)
                        .select(email_changes::new_email)
                        .get_result::<String>(connection)
                        .await
                        .optional()?;
                    let addresses: Vec<String> = std::iter::once(email).chain(pending).collect();
                    diesel::delete(outbox::table.filter(outbox::recipient.eq_any(&addresses)))
                        .execute(connection)
                        .await?;
                    // The events stay (the log must show what happened) but lose what identifies a person; the
                    // foreign key then detaches them from the account.
                    diesel::update(security_events::table.filter(security_events::user_id.eq(&id)))
                        .set((
                            security_events::ip.eq(None::<String>),
                            security_events::user_agent.eq(None::<String>),
                        ))
                        .cached()
                        .execute(connection)
                        .await?;
                    // The refresh tokens before their sessions, the order a rotation locks them in: left to the
                    // cascade below, the session would go first, and a rotation holding its token and waiting for
                    // its session would deadlock with this deletion (PostgreSQL then fails one of them).
                    let own_sessions = sessions::table
                        .filter(sessions::user_id.eq(&id))
                        .select(sessions::id);
                    diesel::delete(
                        refresh_tokens::table
                            .filter(refresh_tokens::session_id.eq_any(own_sessions)),
                    )
                    .execute(connection)
                    .await?;
                    // Sessions, credentials, challenges, the pending email change and the known login addresses
                    // go with the row (ON DELETE CASCADE).
                    diesel::delete(users::table.find(&id))
                        .execute(connection)
                        .await?;
                    Ok(true)
                })
            })
        })
        .await
    }
}

/// A [`UserQuery::email_pattern`] as a `LIKE` pattern escaped with `\`: `*` matches any run of characters, and
/// a pattern without `*` matches anywhere in the key.
fn like_pattern(pattern: &str) -> String {
    let mut like = String::with_capacity(pattern.len() + 2);
    for c in pattern.chars() {
        match c {
            '\\' | '%' | '_' => {
                like.push('\\');
                like.push(c);
            }
            '*' => like.push('%'),
            _ => like.push(c),
        }
    }
    if pattern.contains('*') {
        like
    } else {
        format!("%{like}%")
    }
}
