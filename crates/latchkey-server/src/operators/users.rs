//! `latchkey users`: list, show, disable, enable and delete accounts.

use std::fmt::Write as _;

use latchkey_domain::ports::UserQuery;
use latchkey_domain::{Latchkey, User, UserId};
use serde_json::{json, Value};

use super::{open_service, OperatorError};
use crate::settings::Settings;

/// What `latchkey users` was asked to do.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum UsersCommand {
    /// The newest accounts, optionally only those whose address matches a pattern.
    List {
        /// A substring of the address, or a pattern where `*` stands for any run of characters.
        email: Option<String>,
        /// At most this many.
        limit: u32,
    },
    /// One account.
    Show {
        /// Its id (`usr_…`) or email address.
        user: String,
    },
    /// Disable an account: its sessions, personal tokens and API keys end, and it cannot log in.
    Disable {
        /// Its id or email address.
        user: String,
        /// Why, for the record.
        reason: Option<String>,
    },
    /// Enable a disabled account again.
    Enable {
        /// Its id or email address.
        user: String,
    },
    /// Delete an account and its owner's personal data.
    Delete {
        /// Its id or email address.
        user: String,
    },
}

/// Runs `latchkey users …`: the accounts concerned, as aligned text for people or JSON (one object per line) for
/// scripts.
///
/// # Errors
/// [`OperatorError`]; [`OperatorError::NoSuchUser`] when no account has the id or address given.
pub async fn users(
    settings: &Settings,
    command: &UsersCommand,
    json: bool,
) -> Result<String, OperatorError> {
    let latchkey = open_service(settings).await?;
    let users = match command {
        UsersCommand::List { email, limit } => {
            let mut query = UserQuery::newest((*limit).max(1));
            if let Some(pattern) = email {
                query = query.matching(pattern);
            }
            return Ok(render_list(&latchkey.list_accounts(&query).await?, json));
        }
        UsersCommand::Show { user } => account(&latchkey, user).await?,
        UsersCommand::Disable { user, reason } => {
            let id = account(&latchkey, user).await?.id;
            changed(
                latchkey.disable_account(&id, reason.as_deref()).await?,
                user,
            )?
        }
        UsersCommand::Enable { user } => {
            let id = account(&latchkey, user).await?.id;
            changed(latchkey.enable_account(&id).await?, user)?
        }
        UsersCommand::Delete { user } => {
            let id = account(&latchkey, user).await?.id;
            if !latchkey.delete_account_as_operator(&id).await? {
                return Err(OperatorError::NoSuchUser(user.clone()));
            }
            return Ok(render_deleted(&id, json));
        }
    };
    Ok(render_account(&users, json))
}

async fn account(latchkey: &Latchkey, user: &str) -> Result<User, OperatorError> {
    latchkey
        .find_account(user)
        .await?
        .ok_or_else(|| OperatorError::NoSuchUser(user.to_owned()))
}

/// The account a change returned; `None` means it was deleted between the lookup and the change.
fn changed(account: Option<User>, user: &str) -> Result<User, OperatorError> {
    account.ok_or_else(|| OperatorError::NoSuchUser(user.to_owned()))
}

/// An account as scripts read it: the API's User, plus the operator's fields.
pub fn account_json(user: &User) -> Value {
    json!({
        "id": user.id.as_str(),
        "email": user.email.as_str(),
        "username": user.username.as_ref().map(|u| u.as_str()),
        "name": user.name.as_ref().map(|n| n.as_str()),
        "phone": user.phone,
        "metadata": user.metadata,
        "credits": user.credits,
        "is_verified": user.is_verified,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "disabled_at": user.disabled_at,
        "disabled_reason": user.disabled_reason,
    })
}

fn status(user: &User) -> &'static str {
    match (user.is_disabled(), user.is_verified) {
        (true, _) => "disabled",
        (false, true) => "verified",
        (false, false) => "unverified",
    }
}

/// Accounts as aligned columns (id, status, created, email), or one JSON object per line.
pub fn render_list(users: &[User], json: bool) -> String {
    let mut out = String::new();
    for user in users {
        if json {
            let _ = writeln!(out, "{}", account_json(user));
        } else {
            let _ = writeln!(
                out,
                "{:<30}  {:<10}  {}  {}",
                user.id.as_str(),
                status(user),
                user.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                user.email.as_str(),
            );
        }
    }
    out
}

/// One account, field by field, or as one JSON object.
pub fn render_account(user: &User, json: bool) -> String {
    if json {
        return format!("{}\n", account_json(user));
    }
    let dash = |value: Option<&str>| value.unwrap_or("-").to_owned();
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let rows = [
        ("id", user.id.as_str().to_owned()),
        ("email", user.email.as_str().to_owned()),
        ("username", dash(user.username.as_ref().map(|u| u.as_str()))),
        ("name", dash(user.name.as_ref().map(|n| n.as_str()))),
        ("phone", dash(user.phone.as_deref())),
        ("status", status(user).to_owned()),
        ("credits", user.credits.to_string()),
        ("created", when(user.created_at)),
        ("updated", when(user.updated_at)),
        ("disabled", dash(user.disabled_at.map(when).as_deref())),
        ("reason", dash(user.disabled_reason.as_deref())),
    ];
    let mut out = String::new();
    for (field, value) in rows {
        let _ = writeln!(out, "{field:<9} {value}");
    }
    out
}

fn render_deleted(id: &UserId, json: bool) -> String {
    if json {
        format!("{}\n", json!({ "deleted": id.as_str() }))
    } else {
        format!("deleted {}\n", id.as_str())
    }
}
