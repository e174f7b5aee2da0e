use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::model::{
    Charge, ChargeId, IdempotencyKey, LedgerEntry, LedgerEntryId, LedgerKind, UserId,
};
use crate::secret::TokenHash;

/// A charge to make, priced and identified by the service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChargeRequest {
    /// Whose balance pays.
    pub user_id: UserId,
    /// The id the charge gets if it is made.
    pub charge_id: ChargeId,
    /// The id its ledger entry gets.
    pub entry_id: LedgerEntryId,
    /// The unit charged.
    pub unit: String,
    /// How many units (positive).
    pub quantity: i64,
    /// Credits to take (the price of the quantity; not negative).
    pub price: i64,
    /// The client's idempotency key, unique per user.
    pub key: IdempotencyKey,
    /// What the request asked for ([`crate::model::charge_fingerprint`]): a key may only be replayed with it.
    pub fingerprint: TokenHash,
    /// When the charge is made.
    pub now: DateTime<Utc>,
    /// Until when the key and its answer are kept; a key found expired is treated as unused.
    pub key_expires_at: DateTime<Utc>,
}

impl ChargeRequest {
    /// A charge request; see the fields.
    pub fn new(
        user_id: UserId,
        (charge_id, entry_id): (ChargeId, LedgerEntryId),
        (unit, quantity, price): (String, i64, i64),
        (key, fingerprint): (IdempotencyKey, TokenHash),
        now: DateTime<Utc>,
        key_expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            user_id,
            charge_id,
            entry_id,
            unit,
            quantity,
            price,
            key,
            fingerprint,
            now,
            key_expires_at,
        }
    }
}

/// How a charge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChargeOutcome {
    /// Charged now: the balance, the ledger entry and the idempotency key were written in one transaction.
    Charged(Charge),
    /// The key was used before with the same request: this is the charge it made; nothing more was taken.
    Replayed(Charge),
    /// The key was used before with another request; nothing was taken.
    KeyReusedWithOtherRequest,
    /// The balance is below the price; nothing was taken or stored.
    InsufficientCredits {
        /// The balance when the charge was refused.
        balance: i64,
    },
    /// A request with the same key is still being processed and the store cannot wait for it; nothing was taken.
    InFlight,
    /// The account does not exist (any more).
    AccountGone,
}

/// A refund to make.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefundRequest {
    /// Whose charge.
    pub user_id: UserId,
    /// The charge to give back.
    pub charge_id: ChargeId,
    /// The id the refund's ledger entry gets.
    pub entry_id: LedgerEntryId,
    /// When.
    pub now: DateTime<Utc>,
}

impl RefundRequest {
    /// A refund request; see the fields.
    pub fn new(
        user_id: UserId,
        charge_id: ChargeId,
        entry_id: LedgerEntryId,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            user_id,
            charge_id,
            entry_id,
            now,
        }
    }
}

/// How a refund ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefundOutcome {
    /// Refunded: the balance and the refund's ledger entry, written in one transaction.
    Refunded(LedgerEntry),
    /// The charge was refunded before; nothing changed.
    AlreadyRefunded,
    /// The user has no such charge.
    NotFound,
}

/// Credits to add to (or, for an operator's correction, take from) a balance.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GrantRequest {
    /// Whose balance.
    pub user_id: UserId,
    /// The id of the ledger entry.
    pub entry_id: LedgerEntryId,
    /// [`LedgerKind::Welcome`] (at most once per account) or [`LedgerKind::Grant`].
    pub kind: LedgerKind,
    /// Credits to add (negative: to take).
    pub amount: i64,
    /// Why, kept with the (anonymised) ledger.
    pub reason: Option<String>,
    /// When.
    pub now: DateTime<Utc>,
}

impl GrantRequest {
    /// An operator's grant (or correction, with a negative amount).
    pub fn grant(
        user_id: UserId,
        entry_id: LedgerEntryId,
        amount: i64,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            user_id,
            entry_id,
            kind: LedgerKind::Grant,
            amount,
            reason,
            now,
        }
    }

    /// The welcome credits, given once per account.
    pub fn welcome(
        user_id: UserId,
        entry_id: LedgerEntryId,
        amount: i64,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            user_id,
            entry_id,
            kind: LedgerKind::Welcome,
            amount,
            reason: None,
            now,
        }
    }
}

/// How a grant ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantOutcome {
    /// Granted: the balance and the ledger entry, written in one transaction.
    Granted(LedgerEntry),
    /// A welcome grant for an account that already has its welcome entry; nothing changed.
    AlreadyWelcomed,
    /// The balance would leave `0..=MAX_BALANCE`; nothing changed.
    OutOfRange {
        /// The balance as it is.
        balance: i64,
    },
    /// The account does not exist.
    AccountGone,
}

/// Balances, charges, refunds and grants, their ledger and the charges' idempotency keys.
///
/// Every method is one transaction: a balance never changes without its ledger entry, so an account's balance
/// (`users.credits` in the SQL stores) always equals the sum of its ledger, and never goes below zero (the SQL stores
/// also hold that as a constraint).
#[async_trait]
pub trait CreditLedger: Send + Sync {
    /// Charges `request.price` credits to the user under `request.key`, unless that key was used before (and has not
    /// expired at `request.now`): then the earlier charge is the answer ([`ChargeOutcome::Replayed`]) when the
    /// fingerprint matches, [`ChargeOutcome::KeyReusedWithOtherRequest`] when it does not. The balance update (only
    /// when it stays at or above zero), the ledger entry and the key are written together or not at all.
    ///
    /// Concurrent calls with the same user and key make exactly one charge: the others wait for it and replay it
    /// (or, in a store that cannot wait, get [`ChargeOutcome::InFlight`]).
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then nothing was written.
    async fn charge(&self, request: &ChargeRequest) -> Result<ChargeOutcome, PortError>;

    /// Gives the user's charge back, once: the balance and a `refund` entry carrying the charge's id, unit and
    /// quantity, in one transaction.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then nothing was written.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, PortError>;

    /// Adds `request.amount` (any sign) to the balance with its ledger entry, unless the balance would leave
    /// `0..=MAX_BALANCE`; a [`LedgerKind::Welcome`] grant is written at most once per account, even when called
    /// concurrently ([`GrantOutcome::AlreadyWelcomed`] for the others).
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then nothing was written.
    async fn grant(&self, request: &GrantRequest) -> Result<GrantOutcome, PortError>;

    /// The user's ledger entries, newest first, only those with a [`LedgerEntry::sequence`] below `before`, at most
    /// `limit`.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn list_entries(
        &self,
        user_id: &UserId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, PortError>;

    /// Deletes at most `limit` idempotency keys that expired at or before `now`; returns how many. Their charges
    /// and ledger entries stay.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn purge_idempotency_keys(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, PortError>;

    /// At most `limit` verified accounts that have no [`LedgerKind::Welcome`] entry: with welcome credits given on
    /// verification, those whose grant a crash cut off between the verification's transaction and the grant's.
    /// One indexed anti-join; ordered by id, so repeated calls see the same accounts until they are welcomed.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn verified_without_welcome(&self, limit: u32) -> Result<Vec<UserId>, PortError>;
}
