//! [`CreditLedger`] in memory: balances live on the accounts, as in the SQL stores, and every change appends an
//! entry under the same lock.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_domain::model::{Charge, IdempotencyKey, LedgerEntry, LedgerEntryId, LedgerKind};
use latchkey_domain::ports::{
    ChargeOutcome, ChargeRequest, CreditLedger, GrantOutcome, GrantRequest, RefundOutcome,
    RefundRequest,
};
use latchkey_domain::{ChargeId, PortError, TokenHash, UserId, MAX_BALANCE};

use crate::store::{MemoryStore, State};

/// The ledger (in order of writing) and the idempotency keys.
#[derive(Debug, Default)]
pub(crate) struct LedgerState {
    entries: Vec<LedgerEntry>,
    keys: HashMap<(UserId, IdempotencyKey), StoredKey>,
}

#[derive(Debug)]
struct StoredKey {
    fingerprint: TokenHash,
    charge_id: ChargeId,
    expires_at: DateTime<Utc>,
}

impl LedgerState {
    /// Detaches an account's entries from it and drops its idempotency keys (the account is being deleted): what the
    /// database adapters' `ON DELETE SET NULL` and `ON DELETE CASCADE` do.
    pub(crate) fn forget_account(&mut self, user_id: &UserId) {
        for entry in &mut self.entries {
            if entry.user_id.as_ref() == Some(user_id) {
                entry.user_id = None;
            }
        }
        self.keys.retain(|(owner, _), _| owner != user_id);
    }

    fn next_sequence(&self) -> i64 {
        self.entries.last().map_or(1, |entry| entry.sequence + 1)
    }

    fn charge_entry(&self, user_id: &UserId, charge_id: &ChargeId) -> Option<&LedgerEntry> {
        self.entries.iter().find(|entry| {
            entry.kind == LedgerKind::Charge
                && entry.charge_id.as_ref() == Some(charge_id)
                && entry.user_id.as_ref() == Some(user_id)
        })
    }
}

/// A welcome, grant, charge or refund entry with everything but its amounts left empty.
fn entry(id: &LedgerEntryId, user_id: &UserId, kind: LedgerKind, at: DateTime<Utc>) -> LedgerEntry {
    LedgerEntry {
        id: id.clone(),
        sequence: 0,
        user_id: Some(user_id.clone()),
        kind,
        amount: 0,
        balance_after: 0,
        charge_id: None,
        unit: None,
        quantity: None,
        reason: None,
        created_at: at,
    }
}

impl State {
    /// Adds `amount` to the balance and appends `entry` with it: the one way a balance changes.
    fn post(&mut self, mut entry: LedgerEntry, amount: i64) -> Option<LedgerEntry> {
        let user_id = entry.user_id.clone()?;
        let account = self.users.get_mut(&user_id)?;
        let balance = account.user.credits.checked_add(amount)?;
        account.user.credits = balance;
        entry.amount = amount;
        entry.balance_after = balance;
        entry.sequence = self.ledger.next_sequence();
        self.ledger.entries.push(entry.clone());
        Some(entry)
    }

    /// Writes the welcome entry of an account being created with `credits` (above zero).
    pub(crate) fn open_account(
        &mut self,
        user_id: &UserId,
        entry_id: &LedgerEntryId,
        credits: i64,
        at: DateTime<Utc>,
    ) {
        let mut welcome = entry(entry_id, user_id, LedgerKind::Welcome, at);
        welcome.amount = credits;
        welcome.balance_after = credits;
        welcome.sequence = self.ledger.next_sequence();
        self.ledger.entries.push(welcome);
    }
}

#[async_trait]
impl CreditLedger for MemoryStore {
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, PortError> {
        let mut state = self.state();
        let key = (request.user_id.clone(), request.key.clone());
        if let Some(stored) = state.ledger.keys.get(&key) {
            if stored.expires_at > request.now {
                if stored.fingerprint != request.fingerprint {
                    return Ok(ChargeOutcome::KeyReusedWithOtherRequest);
                }
                let charge = state
                    .ledger
                    .charge_entry(&request.user_id, &stored.charge_id)
                    .and_then(Charge::from_entry)
                    .ok_or_else(|| PortError::new("replay charge", "charge of a key missing"))?;
                return Ok(ChargeOutcome::Replayed(charge));
            }
        }
        let Some(account) = state.users.get(&request.user_id) else {
            return Ok(ChargeOutcome::AccountGone);
        };
        let balance = account.user.credits;
        if balance < request.price {
            return Ok(ChargeOutcome::InsufficientCredits { balance });
        }
        let mut charge = entry(
            &request.entry_id,
            &request.user_id,
            LedgerKind::Charge,
            request.now,
        );
        charge.charge_id = Some(request.charge_id.clone());
        charge.unit = Some(request.unit.clone());
        charge.quantity = Some(request.quantity);
        let posted = state
            .post(charge, -request.price)
            .ok_or_else(|| PortError::new("charge", "balance out of range"))?;
        state.ledger.keys.insert(
            key,
            StoredKey {
                fingerprint: request.fingerprint,
                charge_id: request.charge_id.clone(),
                expires_at: request.key_expires_at,
            },
        );
        let charge = Charge::from_entry(&posted)
            .ok_or_else(|| PortError::new("charge", "charge entry incomplete"))?;
        Ok(ChargeOutcome::Charged(charge))
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, PortError> {
        let mut state = self.state();
        let Some(charge) = state
            .ledger
            .charge_entry(&request.user_id, &request.charge_id)
            .cloned()
        else {
            return Ok(RefundOutcome::NotFound);
        };
        let refunded = state.ledger.entries.iter().any(|entry| {
            entry.kind == LedgerKind::Refund && entry.charge_id.as_ref() == Some(&request.charge_id)
        });
        if refunded {
            return Ok(RefundOutcome::AlreadyRefunded);
        }
        let mut refund = entry(
            &request.entry_id,
            &request.user_id,
            LedgerKind::Refund,
            request.now,
        );
        refund.charge_id = charge.charge_id;
        refund.unit = charge.unit;
        refund.quantity = charge.quantity;
        // The account holds the charge, so it exists, and giving a charge back cannot pass i64.
        state
            .post(refund, -charge.amount)
            .map(RefundOutcome::Refunded)
            .ok_or_else(|| PortError::new("refund", "balance out of range"))
    }

    async fn grant(&self, request: &GrantRequest) -> Result<GrantOutcome, PortError> {
        let mut state = self.state();
        let Some(account) = state.users.get(&request.user_id) else {
            return Ok(GrantOutcome::AccountGone);
        };
        let balance = account.user.credits;
        if request.kind == LedgerKind::Welcome
            && state.ledger.entries.iter().any(|entry| {
                entry.kind == LedgerKind::Welcome
                    && entry.user_id.as_ref() == Some(&request.user_id)
            })
        {
            return Ok(GrantOutcome::AlreadyWelcomed);
        }
        let within = balance
            .checked_add(request.amount)
            .is_some_and(|after| (0..=MAX_BALANCE).contains(&after));
        if !within {
            return Ok(GrantOutcome::OutOfRange { balance });
        }
        let mut grant = entry(
            &request.entry_id,
            &request.user_id,
            request.kind,
            request.now,
        );
        grant.reason = request.reason.clone();
        state
            .post(grant, request.amount)
            .map(GrantOutcome::Granted)
            .ok_or_else(|| PortError::new("grant", "balance out of range"))
    }

    async fn list_entries(
        &self,
        user_id: &UserId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, PortError> {
        let state = self.state();
        Ok(state
            .ledger
            .entries
            .iter()
            .rev()
            .filter(|entry| entry.user_id.as_ref() == Some(user_id))
            .filter(|entry| before.is_none_or(|before| entry.sequence < before))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn purge_idempotency_keys(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, PortError> {
        let mut state = self.state();
        let expired: Vec<_> = state
            .ledger
            .keys
            .iter()
            .filter(|(_, stored)| stored.expires_at <= now)
            .map(|(key, _)| key.clone())
            .take(limit as usize)
            .collect();
        for key in &expired {
            state.ledger.keys.remove(key);
        }
        Ok(expired.len() as u64)
    }

    async fn verified_without_welcome(&self, limit: u32) -> Result<Vec<UserId>, PortError> {
        let state = self.state();
        let mut owed: Vec<UserId> = state
            .users
            .values()
            .map(|credentials| &credentials.user)
            .filter(|user| user.is_verified)
            .filter(|user| {
                !state.ledger.entries.iter().any(|entry| {
                    entry.kind == LedgerKind::Welcome && entry.user_id.as_ref() == Some(&user.id)
                })
            })
            .map(|user| user.id.clone())
            .collect();
        owed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        owed.truncate(limit as usize);
        Ok(owed)
    }
}
