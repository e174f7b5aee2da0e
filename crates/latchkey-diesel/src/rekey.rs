//! Recomputes the email keys of the accounts that the `email_keys` migration listed in `email_rekey`: their new key
//! takes IDNA and NFC, which SQL has not, so it is computed here with [`Email::key_of_stored`], right after the
//! migrations, and the list is emptied in the same transaction.
//!
//! Compiled once per backend (`#[path]`), against the parent module's `MigrationConnection` (the synchronous
//! connection the migration harness runs on) and `lock_users`.
//!
//! Two accounts whose new keys are equal are one mailbox spelled two ways (NFC and NFD, a domain in Unicode and in
//! punycode). The oldest keeps the key; each other gets `collision:<its id>`, which no address has (there is no `@`
//! in it), so it is no longer found by email but keeps its sessions, tokens and keys; a warning names both for an
//! operator to merge or delete.

use diesel::prelude::*;
use latchkey_domain::Email;

use super::{lock_users, MigrationConnection};
use crate::schema::{email_rekey, users};
use crate::sql_types::Timestamp;

/// Re-keys the listed accounts, if any, and empties the list. The caller runs it in a transaction.
pub(super) fn rekey_emails(connection: &mut MigrationConnection) -> QueryResult<()> {
    let listed: i64 = email_rekey::table.count().get_result(connection)?;
    if listed == 0 {
        return Ok(());
    }
    // No account may take a key between the check for its holder and the update below.
    lock_users(connection)?;
    let accounts: Vec<(String, String, String, Timestamp)> = users::table
        .filter(users::id.eq_any(email_rekey::table.select(email_rekey::user_id)))
        .select((users::id, users::email, users::email_key, users::created_at))
        .order((users::created_at.asc(), users::id.asc()))
        .load(connection)?;
    for (id, email, current, created_at) in accounts {
        let key = Email::key_of_stored(&email);
        if key == current {
            continue;
        }
        let holder: Option<(String, Timestamp)> = users::table
            .filter(users::email_key.eq(&key))
            .select((users::id, users::created_at))
            .get_result(connection)
            .optional()?;
        if let Some((holder, holder_created_at)) = holder {
            let holder_is_older = (holder_created_at, &holder) < (created_at, &id);
            let (kept, collided) = if holder_is_older {
                (&holder, &id)
            } else {
                (&id, &holder)
            };
            tracing::warn!(
                kept = %kept,
                collided = %collided,
                "two accounts have one email address under the new email keys: the older keeps it, the other can \
                 no longer sign in by email (docs/security.md, \"Email lookup keys\")"
            );
            set_key(connection, collided, &format!("collision:{collided}"))?;
            if holder_is_older {
                continue;
            }
        }
        set_key(connection, &id, &key)?;
    }
    diesel::delete(email_rekey::table).execute(connection)?;
    Ok(())
}

fn set_key(connection: &mut MigrationConnection, id: &str, key: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::email_key.eq(key))
        .execute(connection)
        .map(drop)
}
