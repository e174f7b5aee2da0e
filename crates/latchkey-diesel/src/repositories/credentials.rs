//! [`CredentialRepository`], written once for both backends (see the crate documentation).

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use latchkey_domain::model::NewCredential;
use latchkey_domain::ports::{
    CredentialMatch, CredentialRepository, CredentialRotation, InsertCredentialError,
    RotateCredentialError,
};
use latchkey_domain::{
    CredentialId, CredentialKind, IssuedCredential, PortError, TokenHash, UserId,
};

use super::{revoke, sessions as session_rows, write_transaction, Store};
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::rows::{CredentialRow, NewCredentialRow, PresentedCredentialRow, UserRow};
use crate::schema::{credentials, users};
use crate::sql_types::Timestamp;

#[async_trait]
impl CredentialRepository for Store {
    async fn insert_credential(
        &self,
        new: &NewCredential,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<IssuedCredential, InsertCredentialError> {
        let row = NewCredentialRow::new(new);
        let user_id = new.credential.user_id.as_str().to_owned();
        let kind = new.credential.id.kind().as_str();
        let requested_by = new.requested_by.as_ref().map(|s| s.as_str().to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let now = Timestamp(now);
        let inserted = self
            .run("insert credential", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        // The owner's row is the lock that serialises creations for one user, so two of them cannot
                        // both count below the limit (on SQLite the transaction's write lock does it).
                        if let Some(session) = &requested_by {
                            if !session_rows::lock_account_for(connection, &user_id, session, now)
                                .await?
                            {
                                return Ok(Err(InsertCredentialError::SessionEnded));
                            }
                        } else if !session_rows::lock_account(connection, &user_id).await? {
                            return Err(diesel::result::Error::NotFound);
                        }
                        let live: i64 = credentials::table
                            .filter(credentials::user_id.eq(&user_id))
                            .filter(credentials::kind.eq(kind))
                            .filter(credentials::revoked_at.is_null())
                            .filter(
                                credentials::expires_at
                                    .is_null()
                                    .or(credentials::expires_at.gt(now)),
                            )
                            .count()
                            .get_result(connection)
                            .await?;
                        if live >= limit {
                            // Refused by the limit: nothing written, nothing to roll back.
                            return Ok(Err(InsertCredentialError::LimitReached));
                        }
                        diesel::insert_into(credentials::table)
                            .values(row)
                            .returning(CredentialRow::as_returning())
                            .cached()
                            .get_result(connection)
                            .await
                            .map(Ok)
                    })
                })
            })
            .await?;
        Ok(inserted?.into_credential()?)
    }

    async fn list_credentials(
        &self,
        user_id: &UserId,
        kind: CredentialKind,
    ) -> Result<Vec<IssuedCredential>, PortError> {
        let user_id = user_id.as_str().to_owned();
        let rows = self
            .run("list credentials", move |connection| {
                Box::pin(async move {
                    credentials::table
                        .filter(credentials::user_id.eq(&user_id))
                        .filter(credentials::kind.eq(kind.as_str()))
                        .filter(credentials::revoked_at.is_null())
                        .order((credentials::created_at.desc(), credentials::id.desc()))
                        .select(CredentialRow::as_select())
                        .load(connection)
                        .await
                })
            })
            .await?;
        rows.into_iter()
            .map(CredentialRow::into_credential)
            .collect()
    }

    async fn find_credential(
        &self,
        secret_hash: &TokenHash,
    ) -> Result<Option<CredentialMatch>, PortError> {
        let secret_hash = *secret_hash;
        let found = self
            .read("find credential", move |connection| {
                Box::pin(async move {
                    credentials::table
                        .inner_join(users::table)
                        .filter(credentials::secret_hash.eq(secret_hash.as_bytes().as_slice()))
                        .filter(credentials::revoked_at.is_null())
                        .select((PresentedCredentialRow::as_select(), UserRow::as_select()))
                        .get_result::<(PresentedCredentialRow, UserRow)>(connection)
                        .await
                        .optional()
                })
            })
            .await?;
        found
            .map(|(credential, user)| {
                let user = user.into_credentials()?.user;
                Ok(CredentialMatch {
                    credential: credential.into_credential(user.id.clone())?,
                    user,
                })
            })
            .transpose()
    }

    async fn rotate_credential(
        &self,
        rotation: &CredentialRotation,
    ) -> Result<IssuedCredential, RotateCredentialError> {
        let id = rotation.id.as_str().to_owned();
        let user_id = rotation.user_id.as_str().to_owned();
        let (secret_hash, hint) = (rotation.secret_hash, rotation.hint.clone());
        let requested_by = rotation
            .requested_by
            .as_ref()
            .map(|s| s.as_str().to_owned());
        let now = Timestamp(rotation.now);
        let rotated = self
            .run("rotate credential", move |connection| {
                write_transaction(connection, move |connection| {
                    Box::pin(async move {
                        // The owner's row first, as every writer of an account's rows takes it: a reset or a
                        // password change that ended the session holds it until its revocations commit.
                        if let Some(session) = &requested_by {
                            if !session_rows::lock_account_for(connection, &user_id, session, now)
                                .await?
                            {
                                return Ok(Err(RotateCredentialError::SessionEnded));
                            }
                        }
                        // One statement: a request presenting the old secret finds the row before it commits, or
                        // not at all after.
                        let row = diesel::update(
                            credentials::table
                                .find(&id)
                                .filter(credentials::user_id.eq(&user_id))
                                .filter(credentials::revoked_at.is_null())
                                .filter(
                                    credentials::expires_at
                                        .is_null()
                                        .or(credentials::expires_at.gt(now)),
                                ),
                        )
                        .set((
                            credentials::secret_hash.eq(secret_hash.as_bytes().as_slice()),
                            credentials::hint.eq(&hint),
                        ))
                        .returning(CredentialRow::as_returning())
                        .cached()
                        .get_result(connection)
                        .await
                        .optional()?;
                        Ok(row.ok_or(RotateCredentialError::NotFound))
                    })
                })
            })
            .await??;
        Ok(rotated.into_credential()?)
    }

    async fn revoke_credential(
        &self,
        id: &CredentialId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let (id, user_id) = (id.as_str().to_owned(), user_id.as_str().to_owned());
        let now = Timestamp(now);
        let revoked = self
            .run("revoke credential", move |connection| {
                Box::pin(async move {
                    diesel::update(
                        credentials::table
                            .find(&id)
                            .filter(credentials::user_id.eq(&user_id))
                            .filter(credentials::revoked_at.is_null()),
                    )
                    .set(credentials::revoked_at.eq(now))
                    .cached()
                    .execute(connection)
                    .await
                })
            })
            .await?;
        Ok(revoked > 0)
    }

    async fn revoke_all_credentials(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, PortError> {
        let user_id = user_id.as_str().to_owned();
        let now = Timestamp(now);
        let revoked = self
            .run("revoke all credentials", move |connection| {
                Box::pin(async move { revoke::credentials_of(connection, &user_id, now).await })
            })
            .await?;
        Ok(revoked as u64)
    }

    async fn record_credential_use(
        &self,
        id: &CredentialId,
        at: DateTime<Utc>,
        precision: TimeDelta,
    ) -> Result<(), PortError> {
        let id = id.as_str().to_owned();
        let (at, recorded_before) = (Timestamp(at), Timestamp(at - precision));
        // The request that used the credential does not wait for this write.
        self.run_in_background("record credential use", move |connection| {
            Box::pin(async move {
                diesel::update(
                    credentials::table.find(&id).filter(
                        credentials::last_used_at
                            .is_null()
                            .or(credentials::last_used_at.lt(recorded_before)),
                    ),
                )
                .set(credentials::last_used_at.eq(at))
                .cached()
                .execute(connection)
                .await
                .map(drop)
            })
        });
        Ok(())
    }
}
