//! Credits: prices, the ledger that every change of a balance writes, charges and their idempotency keys.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::{ChargeId, LedgerEntryId, UserId};
use crate::secret::TokenHash;

/// Price in credits of one unit of each billable thing (`second_video` → 10, `photo` → 100 by default).
pub type Pricing = BTreeMap<String, i64>;

/// The largest balance an account may hold: grants that would pass it are refused, so no sum of balances and
/// amounts can overflow a 64-bit integer in any store (SQLite would silently turn an overflow into a float).
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// What a ledger entry records. Stored and shown by [`LedgerKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LedgerKind {
    /// The welcome credits (or, for accounts older than the ledger, the opening balance): at most one per account,
    /// and its first entry.
    Welcome,
    /// Credits spent by a charge (a negative amount).
    Charge,
    /// A charge given back (a positive amount); at most one per charge.
    Refund,
    /// An operator's grant or correction (either sign).
    Grant,
}

impl LedgerKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [Self::Welcome, Self::Charge, Self::Refund, Self::Grant];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Welcome => "welcome",
            Self::Charge => "charge",
            Self::Refund => "refund",
            Self::Grant => "grant",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One entry of the credits ledger, as stored. Entries are never changed or deleted; an account's balance is the
/// sum of its entries' amounts.
///
/// A port record that adapters build: deliberately exhaustive, so that a new field fails to compile in every
/// adapter until it stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Opaque id (`led_…`).
    pub id: LedgerEntryId,
    /// Position in the store's ledger: larger for later entries of the same account. The page cursor.
    pub sequence: i64,
    /// The account; `None` once the account is deleted (the ledger is kept, anonymised).
    pub user_id: Option<UserId>,
    /// What the entry records.
    pub kind: LedgerKind,
    /// Credits added (positive) or taken (negative).
    pub amount: i64,
    /// The account's balance right after this entry.
    pub balance_after: i64,
    /// The charge a `charge` or `refund` entry belongs to.
    pub charge_id: Option<ChargeId>,
    /// The unit charged, on `charge` and `refund` entries.
    pub unit: Option<String>,
    /// The quantity charged, on `charge` and `refund` entries.
    pub quantity: Option<i64>,
    /// Why: an operator's grant reason, or a note of the service (`opening balance`).
    pub reason: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A charge as its first answer showed it; a replay of its idempotency key answers the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// Opaque id (`chg_…`).
    pub id: ChargeId,
    /// The unit charged.
    pub unit: String,
    /// How many units.
    pub quantity: i64,
    /// Credits taken (the price of the quantity).
    pub charged: i64,
    /// The balance right after the charge.
    pub credits: i64,
    /// When it was charged.
    pub created_at: DateTime<Utc>,
}

impl Charge {
    /// The charge a `charge` ledger entry records; `None` for any other entry.
    pub fn from_entry(entry: &LedgerEntry) -> Option<Self> {
        if entry.kind != LedgerKind::Charge {
            return None;
        }
        Some(Self {
            id: entry.charge_id.clone()?,
            unit: entry.unit.clone()?,
            quantity: entry.quantity?,
            charged: entry.amount.checked_neg()?,
            credits: entry.balance_after,
            created_at: entry.created_at,
        })
    }
}

/// A client's `Idempotency-Key`: 1 to [`IdempotencyKey::MAX_LENGTH`] printable ASCII characters (no control
/// characters), so it can be stored, compared and logged as it came.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why an idempotency key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyKeyError {
    /// None was given, or it was empty.
    #[error("is required")]
    Missing,
    /// Longer than [`IdempotencyKey::MAX_LENGTH`].
    #[error("must be at most 255 characters")]
    TooLong,
    /// A character outside printable ASCII.
    #[error("must be printable ASCII")]
    InvalidCharacter,
}

impl IdempotencyKey {
    /// The longest key kept.
    pub const MAX_LENGTH: usize = 255;

    /// Parses a key as the client sent it.
    ///
    /// # Errors
    /// [`IdempotencyKeyError`] naming what is wrong.
    pub fn parse(key: &str) -> Result<Self, IdempotencyKeyError> {
        if key.is_empty() {
            return Err(IdempotencyKeyError::Missing);
        }
        if key.len() > Self::MAX_LENGTH {
            return Err(IdempotencyKeyError::TooLong);
        }
        if !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(IdempotencyKeyError::InvalidCharacter);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

/// What a charge request asked for, as one SHA-256 over a canonical form of its unit and quantity, so that the
/// same request sent with other JSON spacing or key order is recognised as the same.
pub fn charge_fingerprint(unit: &str, quantity: i64) -> TokenHash {
    TokenHash::of(&format!("charge\n{unit}\n{quantity}"))
}
