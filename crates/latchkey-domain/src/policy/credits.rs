//! What a new account starts with, when, what each unit costs, and how long idempotency keys are kept.

use chrono::TimeDelta;

use crate::model::{Pricing, MAX_BALANCE};

/// When an account receives its welcome credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WelcomeOn {
    /// When the account is created (the default, as seed 000 shows).
    #[default]
    Registration,
    /// When its email address is first verified, so throw-away sign-ups earn nothing.
    Verification,
}

/// Credits: the welcome balance, when it is given, the price list and the idempotency-key retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditsPolicy {
    welcome_credits: i64,
    welcome_on: WelcomeOn,
    pricing: Pricing,
    idempotency_ttl: TimeDelta,
}

/// Why a credits policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreditsPolicyError {
    /// Balances are never negative, so neither is the first one.
    #[error("welcome credits must not be negative")]
    NegativeWelcome,
    /// More than an account may hold.
    #[error("welcome credits must be at most {MAX_BALANCE}")]
    WelcomeTooLarge,
    /// Idempotency keys must be kept for some time, and not for ever.
    #[error("the idempotency-key retention must be between 1 second and 365 days")]
    IdempotencyTtlOutOfRange,
    /// A negative price would pay the caller for using the service.
    #[error("the price of `{unit}` must not be negative")]
    NegativePrice {
        /// The unit priced below zero.
        unit: String,
    },
}

impl CreditsPolicy {
    /// Default balance of a new account.
    pub const DEFAULT_WELCOME_CREDITS: i64 = 1000;
    /// Default prices per unit.
    pub const DEFAULT_PRICES: [(&'static str, i64); 2] = [("second_video", 10), ("photo", 100)];
    /// Default time an idempotency key and its answer are kept: 24 hours, as Stripe does.
    pub const DEFAULT_IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(24);

    /// The policy with new accounts starting at `credits`.
    ///
    /// # Errors
    /// [`CreditsPolicyError::NegativeWelcome`].
    pub fn with_welcome_credits(self, credits: i64) -> Result<Self, CreditsPolicyError> {
        if credits < 0 {
            return Err(CreditsPolicyError::NegativeWelcome);
        }
        if credits > MAX_BALANCE {
            return Err(CreditsPolicyError::WelcomeTooLarge);
        }
        Ok(Self {
            welcome_credits: credits,
            ..self
        })
    }

    /// The policy with this price list (it replaces the default one).
    ///
    /// # Errors
    /// [`CreditsPolicyError::NegativePrice`] naming the first unit priced below zero.
    pub fn with_pricing(self, pricing: Pricing) -> Result<Self, CreditsPolicyError> {
        if let Some((unit, _)) = pricing.iter().find(|(_, price)| **price < 0) {
            return Err(CreditsPolicyError::NegativePrice { unit: unit.clone() });
        }
        Ok(Self { pricing, ..self })
    }

    /// The policy giving the welcome credits at `when`.
    #[must_use]
    pub fn with_welcome_on(self, when: WelcomeOn) -> Self {
        Self {
            welcome_on: when,
            ..self
        }
    }

    /// The policy keeping idempotency keys for `ttl`.
    ///
    /// # Errors
    /// [`CreditsPolicyError::IdempotencyTtlOutOfRange`] below one second or above 365 days.
    pub fn with_idempotency_ttl(self, ttl: TimeDelta) -> Result<Self, CreditsPolicyError> {
        if ttl < TimeDelta::seconds(1) || ttl > TimeDelta::days(365) {
            return Err(CreditsPolicyError::IdempotencyTtlOutOfRange);
        }
        Ok(Self {
            idempotency_ttl: ttl,
            ..self
        })
    }

    /// The welcome credits.
    pub fn welcome_credits(&self) -> i64 {
        self.welcome_credits
    }

    /// When the welcome credits are given.
    pub fn welcome_on(&self) -> WelcomeOn {
        self.welcome_on
    }

    /// Balance of a new account: the welcome credits, or nothing when they wait for the verification.
    pub fn registration_credits(&self) -> i64 {
        match self.welcome_on {
            WelcomeOn::Registration => self.welcome_credits,
            WelcomeOn::Verification => 0,
        }
    }

    /// How long an idempotency key and its answer are kept.
    pub fn idempotency_ttl(&self) -> TimeDelta {
        self.idempotency_ttl
    }

    /// Price per unit.
    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }
}

impl Default for CreditsPolicy {
    /// 1000 welcome credits at registration; `second_video` = 10, `photo` = 100; keys kept 24 hours.
    fn default() -> Self {
        Self {
            welcome_credits: Self::DEFAULT_WELCOME_CREDITS,
            welcome_on: WelcomeOn::Registration,
            idempotency_ttl: Self::DEFAULT_IDEMPOTENCY_TTL,
            pricing: Self::DEFAULT_PRICES
                .into_iter()
                .map(|(unit, price)| (unit.to_owned(), price))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_balances_and_prices_are_refused() {
        assert_eq!(
            CreditsPolicy::default().with_welcome_credits(-1),
            Err(CreditsPolicyError::NegativeWelcome)
        );
        let pricing = Pricing::from([("page".to_owned(), 1), ("photo".to_owned(), -1)]);
        assert_eq!(
            CreditsPolicy::default().with_pricing(pricing),
            Err(CreditsPolicyError::NegativePrice {
                unit: "photo".into()
            })
        );
        let policy = CreditsPolicy::default()
            .with_welcome_credits(0)
            .and_then(|p| p.with_pricing(Pricing::from([("page".to_owned(), 0)])))
            .unwrap();
        assert_eq!(policy.welcome_credits(), 0);
        assert_eq!(policy.pricing()["page"], 0);
    }

    #[test]
    fn default_prices_are_the_documented_ones() {
        let policy = CreditsPolicy::default();
        assert_eq!(policy.welcome_credits(), 1000);
        assert_eq!(policy.pricing()["second_video"], 10);
        assert_eq!(policy.pricing()["photo"], 100);
        assert_eq!(policy.welcome_on(), WelcomeOn::Registration);
        assert_eq!(policy.idempotency_ttl(), TimeDelta::hours(24));
    }

    #[test]
    fn welcome_on_verification_opens_accounts_at_zero() {
        let policy = CreditsPolicy::default().with_welcome_on(WelcomeOn::Verification);
        assert_eq!(policy.registration_credits(), 0);
        assert_eq!(policy.welcome_credits(), 1000);
        assert_eq!(
            CreditsPolicy::default().with_idempotency_ttl(TimeDelta::zero()),
            Err(CreditsPolicyError::IdempotencyTtlOutOfRange)
        );
        assert_eq!(
            CreditsPolicy::default().with_welcome_credits(MAX_BALANCE + 1),
            Err(CreditsPolicyError::WelcomeTooLarge)
        );
    }
}
