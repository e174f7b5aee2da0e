//! `latchkey credits grant` and `latchkey credits show`: operators' changes to a balance, always through the
//! ledger, and a look at an account's balance and latest entries.

use std::fmt::Write as _;

use latchkey_domain::service::GrantError;
use latchkey_domain::{LedgerEntry, User};

use super::{open_service, OperatorError};
use crate::settings::Settings;

/// Adds `amount` credits (negative: takes them, never below zero) to the account named by its id or email, with a
/// reason kept in the ledger; prints the new ledger entry.
///
/// # Errors
/// [`OperatorError`]: an unknown account, a zero amount, an empty reason, a balance that would leave its range.
pub async fn grant(
    settings: &Settings,
    account: &str,
    amount: i64,
    reason: &str,
    json: bool,
) -> Result<String, OperatorError> {
    let latchkey = open_service(settings).await?;
    let entry = latchkey
        .grant_credits(account, amount, reason)
        .await
        .map_err(|error| match error {
            GrantError::UnknownAccount => OperatorError::NoSuchUser(account.to_owned()),
            GrantError::Unavailable(source) => OperatorError::Unavailable(source),
            other => OperatorError::Refused(other.to_string()),
        })?;
    Ok(if json {
        format!("{}\n", entry_json(&entry))
    } else {
        format!(
            "granted {:+} credits to {}: balance {} ({})\n",
            entry.amount,
            entry.user_id.as_ref().map_or("-", |id| id.as_str()),
            entry.balance_after,
            entry.id
        )
    })
}

/// The account's balance and its `limit` latest ledger entries, newest first.
///
/// # Errors
/// [`OperatorError`].
pub async fn show(
    settings: &Settings,
    account: &str,
    limit: usize,
    json: bool,
) -> Result<String, OperatorError> {
    let latchkey = open_service(settings).await?;
    let user = latchkey
        .find_account(account)
        .await?
        .ok_or_else(|| OperatorError::NoSuchUser(account.to_owned()))?;
    let page = latchkey
        .ledger_of(&user.id, limit, None)
        .await
        .map_err(|error| OperatorError::Refused(error.to_string()))?;
    Ok(render(&user, &page.entries, json))
}

fn entry_json(entry: &LedgerEntry) -> serde_json::Value {
    serde_json::json!({
        "id": entry.id.as_str(),
        "user_id": entry.user_id.as_ref().map(|id| id.as_str()),
        "kind": entry.kind.as_str(),
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "charge_id": entry.charge_id.as_ref().map(|id| id.as_str()),
        "unit": entry.unit,
        "quantity": entry.quantity,
        "reason": entry.reason,
        "created_at": entry.created_at,
    })
}

/// The balance and entries as text for people, or as one JSON object for scripts.
pub fn render(user: &User, entries: &[LedgerEntry], json: bool) -> String {
    if json {
        let value = serde_json::json!({
            "user_id": user.id.as_str(),
            "email": user.email.as_str(),
            "credits": user.credits,
            "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        });
        return format!("{value}\n");
    }
    let mut out = format!(
        "{} {}: {} credits\n",
        user.id,
        user.email.as_str(),
        user.credits
    );
    for entry in entries {
        let what = match (&entry.unit, entry.quantity) {
            (Some(unit), Some(quantity)) => format!("{quantity} {unit}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "{}  {:<7}  {:>+12}  {:>12}  {:<24}  {}",
            entry.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
            entry.kind.as_str(),
            entry.amount,
            entry.balance_after,
            entry
                .charge_id
                .as_ref()
                .map_or(what.clone(), |id| format!("{id} {what}")),
            entry.reason.as_deref().unwrap_or(""),
        );
    }
    out
}
