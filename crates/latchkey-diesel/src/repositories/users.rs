//! [`UserRepository`], written once for both backends (see the crate documentation).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use latchkey_domain::ports::{InsertUserError, UserLookup, UserRepository};
use latchkey_domain::{
    LedgerKind, NewUser, PasswordHash, PortError, SessionId, User, UserCredentials, UserId,
};

use super::{write_transaction, Store};
use crate::error::insert_user_error;
use crate::pool::Pooled;
use crate::rows::{NewLedgerRow, UserRow};
use crate::schema::{credit_ledger, sessions, users};
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
                                .get_result(connection)
                                .await?;
                            if let Some(welcome) = welcome {
                                diesel::insert_into(credit_ledger::table)
                                    .values(welcome)
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
            .run("find user of session", move |connection| {
                Box::pin(async move {
                    users::table
                        .inner_join(sessions::table)
                        .filter(sessions::id.eq(&session_id))
                        .filter(users::id.eq(&user_id))
                        .filter(sessions::revoked_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .select(UserRow::as_select())
                        .first(connection)
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
            .run("find user", move |connection| {
                Box::pin(async move {
                    let query = users::table.select(UserRow::as_select()).into_boxed();
                    let query = match &lookup {
                        UserLookup::Id(id) => query.filter(users::id.eq(id.as_str())),
                        UserLookup::Email(email) => query.filter(users::email_key.eq(email.key())),
                        UserLookup::Username(name) => {
                            query.filter(users::username_key.eq(name.key()))
                        }
                    };
                    query.first(connection).await.optional()
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
                    let updated = diesel::update(users::table.find(&id))
                        .set((users::password_hash.eq(&hash), users::updated_at.eq(now)))
                        .execute(connection)
                        .await?;
                    if updated == 0 {
                        return Ok(false);
                    }
                    let active = sessions::table
                        .filter(sessions::user_id.eq(&id))
                        .filter(sessions::revoked_at.is_null());
                    match &keep {
                        Some(keep) => {
                            diesel::update(active.filter(sessions::id.ne(keep)))
                                .set(sessions::revoked_at.eq(now))
                                .execute(connection)
                                .await?
                        }
                        None => {
                            diesel::update(active)
                                .set(sessions::revoked_at.eq(now))
                                .execute(connection)
                                .await?
                        }
                    };
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
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(replaced > 0)
    }
}
