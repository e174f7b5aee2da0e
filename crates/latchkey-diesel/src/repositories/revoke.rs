//! Ending an account's sessions and credentials inside a transaction a port method already holds: what a password
//! change or reset, an email change and disabling an account share, written once for both backends.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Store;
use crate::cached::CacheStatement;
use crate::pool::Pooled;
use crate::schema::{credentials, sessions};
use crate::sql_types::Timestamp;

type Connection = <Store as Pooled>::Connection;

/// Revokes at `now` every live session of `user_id` except `keep` (the session that made the change, if any).
pub(super) async fn sessions_of(
    connection: &mut Connection,
    user_id: &str,
    keep: Option<&str>,
    now: Timestamp,
) -> QueryResult<usize> {
    let live = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null());
    match keep {
        Some(keep) => {
            diesel::update(live.filter(sessions::id.ne(keep)))
                .set(sessions::revoked_at.eq(now))
                .cached()
                .execute(connection)
                .await
        }
        None => {
            diesel::update(live)
                .set(sessions::revoked_at.eq(now))
                .cached()
                .execute(connection)
                .await
        }
    }
}

/// Revokes at `now` every live personal token and API key of `user_id`.
pub(super) async fn credentials_of(
    connection: &mut Connection,
    user_id: &str,
    now: Timestamp,
) -> QueryResult<usize> {
    diesel::update(
        credentials::table
            .filter(credentials::user_id.eq(user_id))
            .filter(credentials::revoked_at.is_null()),
    )
    .set(credentials::revoked_at.eq(now))
    .cached()
    .execute(connection)
    .await
}
