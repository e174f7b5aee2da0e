//! What a new account starts with and what each unit costs.

use crate::model::Pricing;

/// Credits: the welcome balance and the price list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditsPolicy {
    welcome_credits: i64,
    pricing: Pricing,
}

/// Why a credits policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CreditsPolicyError {
    /// Balances are never negative, so neither is the first one.
    #[error("welcome credits must not be negative")]
    NegativeWelcome,
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

    /// The policy with new accounts starting at `credits`.
    ///
    /// # Errors
    /// [`CreditsPolicyError::NegativeWelcome`].
    pub fn with_welcome_credits(self, credits: i64) -> Result<Self, CreditsPolicyError> {
        if credits < 0 {
            return Err(CreditsPolicyError::NegativeWelcome);
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

    /// Balance of a new account.
    pub fn welcome_credits(&self) -> i64 {
        self.welcome_credits
    }

    /// Price per unit.
    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }
}

impl Default for CreditsPolicy {
    /// 1000 welcome credits; `second_video` = 10, `photo` = 100.
    fn default() -> Self {
        Self {
            welcome_credits: Self::DEFAULT_WELCOME_CREDITS,
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
    }
}
