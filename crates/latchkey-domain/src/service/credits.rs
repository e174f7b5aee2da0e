//! Credits: charging with idempotency keys, refunds, the ledger, operators' grants and the welcome credits.

use super::Latchkey;
use crate::access::{Principal, Scope};
use crate::error::PortError;
use crate::model::{
    charge_fingerprint, Charge, ChargeId, ClientInfo, EventKind, EventOutcome, IdempotencyKey,
    IdempotencyKeyError, LedgerEntry, LedgerEntryId, UserId, MAX_BALANCE,
};
use crate::policy::WelcomeOn;
use crate::ports::{
    ChargeOutcome, ChargeRequest, GrantOutcome, GrantRequest, RefundOutcome, RefundRequest,
};
use crate::AccessError;

/// The most ledger entries one page holds.
pub const LEDGER_PAGE_MAX: usize = 100;

/// Longest operator's grant reason kept.
pub const MAX_REASON_LENGTH: usize = 500;

/// A charge as the client asked for it; [`Latchkey::charge`] checks every part.
#[derive(Debug, Clone, Default)]
pub struct ChargeInput {
    unit: String,
    quantity: i64,
    idempotency_key: Option<String>,
}

impl ChargeInput {
    /// A charge of `quantity` units of `unit`.
    pub fn new(unit: impl Into<String>, quantity: i64) -> Self {
        Self {
            unit: unit.into(),
            quantity,
            idempotency_key: None,
        }
    }

    /// The client's `Idempotency-Key` (required).
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// A charge made, or the one an idempotency key made before.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChargeReceipt {
    /// The charge, as first answered.
    pub charge: Charge,
    /// `true` when the key was used before and this is its stored answer: nothing more was charged.
    pub replayed: bool,
}

/// Why a charge was refused. Nothing is charged or stored in any of these cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChargeError {
    /// The credential may not charge.
    #[error(transparent)]
    Forbidden(#[from] AccessError),
    /// The idempotency key is missing or malformed.
    #[error("idempotency key {0}")]
    InvalidIdempotencyKey(IdempotencyKeyError),
    /// The unit has no price.
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    /// The quantity is not a positive integer.
    #[error("quantity must be a positive integer")]
    InvalidQuantity,
    /// The price of the quantity does not fit a balance.
    #[error("the price of this quantity is too large")]
    PriceTooLarge,
    /// The balance is below the price.
    #[error("insufficient credits: {balance} available, {required} required")]
    InsufficientCredits {
        /// The balance.
        balance: i64,
        /// The price of this charge.
        required: i64,
    },
    /// The key was used with another request.
    #[error("the idempotency key was used with another request")]
    KeyReused,
    /// A request with the same key is still being processed.
    #[error("a request with this idempotency key is in progress")]
    KeyInFlight,
    /// The account no longer exists.
    #[error("account not found")]
    AccountGone,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Why a refund was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefundError {
    /// The credential may not refund.
    #[error(transparent)]
    Forbidden(#[from] AccessError),
    /// The caller has no such charge.
    #[error("charge not found")]
    NotFound,
    /// The charge was refunded before.
    #[error("charge already refunded")]
    AlreadyRefunded,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Why an operator's grant was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// No account has that id or email.
    #[error("no such account")]
    UnknownAccount,
    /// A zero amount records nothing.
    #[error("the amount must not be zero")]
    ZeroAmount,
    /// The reason is empty, too long or holds control characters.
    #[error("the reason must be 1 to 500 characters without control characters")]
    InvalidReason,
    /// The balance would go below zero or above the maximum.
    #[error(
        "the balance {balance} cannot change by {amount}: it must stay between 0 and {MAX_BALANCE}"
    )]
    OutOfRange {
        /// The balance as it is.
        balance: i64,
        /// The amount asked for.
        amount: i64,
    },
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Why the ledger could not be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The credential may not read credits.
    #[error(transparent)]
    Forbidden(#[from] AccessError),
    /// The cursor is not one this service gave out.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// A page of ledger entries, newest first, with the cursor of the next page when there is one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LedgerPage {
    /// The entries.
    pub entries: Vec<LedgerEntry>,
    /// Pass it back to get the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// A cursor is the sequence of the last entry shown: digits only, so nothing a store could misread.
fn decode_cursor(cursor: &str) -> Option<i64> {
    if cursor.is_empty() || cursor.len() > 18 || !cursor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    cursor.parse().ok()
}

/// Accounts read per round of [`Latchkey::welcome_the_overlooked`].
const WELCOME_BATCH: u32 = 100;

impl Latchkey {
    /// Now, to the microsecond the stores keep: a charge's first answer must equal its replays, which are read back.
    fn ledger_now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.now().trunc_subsecs(6)
    }

    /// Charges the caller `quantity` units of `unit` at the configured price, once per idempotency key; needs
    /// `credits:charge`.
    ///
    /// Checks everything it can before touching the store, so a refused request stores nothing. The same key with
    /// the same unit and quantity answers the first charge again ([`ChargeReceipt::replayed`]) without charging;
    /// keys are kept for [`crate::CreditsPolicy::idempotency_ttl`].
    ///
    /// # Errors
    /// [`ChargeError::Forbidden`], [`ChargeError::InvalidIdempotencyKey`], [`ChargeError::UnknownUnit`],
    /// [`ChargeError::InvalidQuantity`], [`ChargeError::PriceTooLarge`], [`ChargeError::InsufficientCredits`],
    /// [`ChargeError::KeyReused`], [`ChargeError::KeyInFlight`], [`ChargeError::AccountGone`] or
    /// [`ChargeError::Unavailable`].
    pub async fn charge(
        &self,
        principal: &Principal,
        input: ChargeInput,
    ) -> Result<ChargeReceipt, ChargeError> {
        principal.require(Scope::CreditsCharge)?;
        let key = IdempotencyKey::parse(input.idempotency_key.as_deref().unwrap_or_default())
            .map_err(ChargeError::InvalidIdempotencyKey)?;
        let unit_price = *self
            .policies
            .credits
            .pricing()
            .get(&input.unit)
            .ok_or_else(|| ChargeError::UnknownUnit(input.unit.clone()))?;
        if input.quantity <= 0 {
            return Err(ChargeError::InvalidQuantity);
        }
        let price = unit_price
            .checked_mul(input.quantity)
            .filter(|price| *price <= MAX_BALANCE)
            .ok_or(ChargeError::PriceTooLarge)?;
        let now = self.ledger_now();
        let request = ChargeRequest::new(
            principal.user_id.clone(),
            (
                ChargeId::from_random(&self.ports.secrets.new_id()),
                LedgerEntryId::from_random(&self.ports.secrets.new_id()),
            ),
            (input.unit.clone(), input.quantity, price),
            (key, charge_fingerprint(&input.unit, input.quantity)),
            now,
            now + self.policies.credits.idempotency_ttl(),
        );
        match self.ports.ledger.charge(&request).await? {
            ChargeOutcome::Charged(charge) => Ok(ChargeReceipt {
                charge,
                replayed: false,
            }),
            ChargeOutcome::Replayed(charge) => Ok(ChargeReceipt {
                charge,
                replayed: true,
            }),
            ChargeOutcome::KeyReusedWithOtherRequest => Err(ChargeError::KeyReused),
            ChargeOutcome::InsufficientCredits { balance } => {
                Err(ChargeError::InsufficientCredits {
                    balance,
                    required: price,
                })
            }
            ChargeOutcome::InFlight => Err(ChargeError::KeyInFlight),
            ChargeOutcome::AccountGone => Err(ChargeError::AccountGone),
        }
    }

    /// Gives the caller's charge back, once; needs `credits:charge`. Recorded as a security event.
    ///
    /// # Errors
    /// [`RefundError::Forbidden`], [`RefundError::NotFound`] (also for an id that is no charge id),
    /// [`RefundError::AlreadyRefunded`] or [`RefundError::Unavailable`].
    pub async fn refund(
        &self,
        principal: &Principal,
        charge_id: &str,
    ) -> Result<LedgerEntry, RefundError> {
        principal.require(Scope::CreditsCharge)?;
        let charge_id = ChargeId::parse(charge_id).ok_or(RefundError::NotFound)?;
        let request = RefundRequest::new(
            principal.user_id.clone(),
            charge_id.clone(),
            LedgerEntryId::from_random(&self.ports.secrets.new_id()),
            self.ledger_now(),
        );
        match self.ports.ledger.refund(&request).await? {
            RefundOutcome::Refunded(entry) => {
                self.record(
                    EventKind::ChargeRefunded,
                    EventOutcome::Success,
                    Some(&principal.user_id),
                    Some(charge_id.as_str()),
                    &principal.client,
                )
                .await;
                Ok(entry)
            }
            RefundOutcome::AlreadyRefunded => Err(RefundError::AlreadyRefunded),
            RefundOutcome::NotFound => Err(RefundError::NotFound),
        }
    }

    /// The caller's ledger, newest first, `limit` (1 to [`LEDGER_PAGE_MAX`]) entries at a time from `cursor` (the
    /// previous page's `next_cursor`) on; needs `credits:read`.
    ///
    /// # Errors
    /// [`LedgerError::Forbidden`], [`LedgerError::InvalidCursor`] or [`LedgerError::Unavailable`].
    pub async fn ledger(
        &self,
        principal: &Principal,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<LedgerPage, LedgerError> {
        principal.require(Scope::CreditsRead)?;
        let before = cursor
            .map(|cursor| decode_cursor(cursor).ok_or(LedgerError::InvalidCursor))
            .transpose()?;
        self.ledger_of(&principal.user_id, limit, before).await
    }

    /// Any account's ledger page, for operators' tools (`latchkey credits show`).
    ///
    /// # Errors
    /// [`LedgerError::Unavailable`].
    pub async fn ledger_of(
        &self,
        user_id: &UserId,
        limit: usize,
        before: Option<i64>,
    ) -> Result<LedgerPage, LedgerError> {
        let limit = limit.clamp(1, LEDGER_PAGE_MAX);
        let mut entries = self
            .ports
            .ledger
            .list_entries(user_id, before, limit + 1)
            .await?;
        // One more than asked for tells whether there is a next page without a count.
        let next_cursor = if entries.len() > limit {
            entries.pop();
            entries.last().map(|entry| entry.sequence.to_string())
        } else {
            None
        };
        Ok(LedgerPage {
            entries,
            next_cursor,
        })
    }

    /// An operator's grant to the account named by id or email: `amount` credits (negative for a correction, never
    /// below a zero balance), with a reason kept in the ledger. Recorded as a security event.
    ///
    /// # Errors
    /// [`GrantError::UnknownAccount`], [`GrantError::ZeroAmount`], [`GrantError::InvalidReason`],
    /// [`GrantError::OutOfRange`] or [`GrantError::Unavailable`].
    pub async fn grant_credits(
        &self,
        account: &str,
        amount: i64,
        reason: &str,
    ) -> Result<LedgerEntry, GrantError> {
        if amount == 0 {
            return Err(GrantError::ZeroAmount);
        }
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > MAX_REASON_LENGTH
            || reason.chars().any(char::is_control)
        {
            return Err(GrantError::InvalidReason);
        }
        let user = self
            .find_account(account)
            .await?
            .ok_or(GrantError::UnknownAccount)?;
        let request = GrantRequest::grant(
            user.id.clone(),
            LedgerEntryId::from_random(&self.ports.secrets.new_id()),
            amount,
            Some(reason.to_owned()),
            self.ledger_now(),
        );
        match self.ports.ledger.grant(&request).await? {
            GrantOutcome::Granted(entry) => {
                self.record(
                    EventKind::CreditsGranted,
                    EventOutcome::Success,
                    Some(&user.id),
                    Some(entry.id.as_str()),
                    &ClientInfo::default(),
                )
                .await;
                Ok(entry)
            }
            GrantOutcome::OutOfRange { balance } => Err(GrantError::OutOfRange { balance, amount }),
            GrantOutcome::AccountGone | GrantOutcome::AlreadyWelcomed => {
                Err(GrantError::UnknownAccount)
            }
        }
    }

    /// Gives the welcome credits to a newly verified account when the policy waits for verification; the store
    /// writes them at most once per account, so a repeated or raced verification gives nothing more.
    ///
    /// A failure is logged, not returned: the verification itself has happened and must be acknowledged.
    pub(super) async fn welcome_verified(&self, user_id: &UserId) {
        let policy = &self.policies.credits;
        if policy.welcome_on() != WelcomeOn::Verification || policy.welcome_credits() == 0 {
            return;
        }
        match self.grant_welcome(user_id).await {
            Ok(GrantOutcome::Granted(_) | GrantOutcome::AlreadyWelcomed) => {}
            Ok(outcome) => tracing::warn!(?outcome, "welcome credits not given on verification"),
            Err(error) => {
                tracing::warn!(%error, "welcome credits could not be given on verification");
            }
        }
    }

    /// Gives the welcome credits to verified accounts that lack them, when the policy waits for verification: the
    /// grant follows the verification in a transaction of its own, so a crash between the two leaves the account
    /// owed them until this runs (part of [`Latchkey::purge_spent`], at start-up and every `purge.interval`).
    /// Returns how many accounts were welcomed.
    pub(super) async fn welcome_the_overlooked(&self) -> Result<u64, PortError> {
        let policy = &self.policies.credits;
        if policy.welcome_on() != WelcomeOn::Verification || policy.welcome_credits() == 0 {
            return Ok(0);
        }
        let mut welcomed = 0;
        loop {
            let owed = self
                .ports
                .ledger
                .verified_without_welcome(WELCOME_BATCH)
                .await?;
            let mut this_round = 0;
            for user_id in &owed {
                if let GrantOutcome::Granted(_) = self.grant_welcome(user_id).await? {
                    this_round += 1;
                }
            }
            welcomed += this_round;
            // A short batch is the last; so is one in which nothing could be granted (an account whose grant is
            // refused would otherwise come back forever).
            if owed.len() < WELCOME_BATCH as usize || this_round == 0 {
                return Ok(welcomed);
            }
        }
    }

    /// Grants the configured welcome credits to `user_id` (at most once per account: the store answers
    /// [`GrantOutcome::AlreadyWelcomed`] after the first).
    async fn grant_welcome(&self, user_id: &UserId) -> Result<GrantOutcome, PortError> {
        let request = GrantRequest::welcome(
            user_id.clone(),
            LedgerEntryId::from_random(&self.ports.secrets.new_id()),
            self.policies.credits.welcome_credits(),
            self.ledger_now(),
        );
        self.ports.ledger.grant(&request).await
    }

    /// Deletes idempotency keys past their retention; part of [`Latchkey::purge_spent`].
    pub(super) async fn purge_idempotency_keys(&self, batch: u32) -> Result<u64, PortError> {
        let now = self.now();
        let mut purged = 0;
        loop {
            let deleted = self.ports.ledger.purge_idempotency_keys(now, batch).await?;
            purged += deleted;
            if deleted == 0 {
                return Ok(purged);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_cursor;

    #[test]
    fn cursors_are_digits_only() {
        assert_eq!(decode_cursor("42"), Some(42));
        for garbage in ["", "-1", "1e3", "abc", "9999999999999999999", " 1"] {
            assert_eq!(decode_cursor(garbage), None, "{garbage}");
        }
    }
}
