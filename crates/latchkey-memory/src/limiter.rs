//! [`RateLimiter`] in memory: the same GCRA the database adapters run in SQL.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_domain::ports::{Admission, LimitKey, RateLimiter};
use latchkey_domain::{PortError, Rate, TokenHash, UserId};

use crate::store::{MemoryStore, State};

impl State {
    /// Remembers a login address of an existing account: [`RateLimiter::remember_address`] on the locked state.
    pub(crate) fn remember_address(
        &mut self,
        user_id: &UserId,
        address: &LimitKey,
        now: DateTime<Utc>,
    ) {
        if self.users.contains_key(user_id) {
            let seen = self
                .limits
                .known_addresses
                .entry((user_id.clone(), *address.hash()))
                .or_insert(now);
            *seen = (*seen).max(now);
        }
    }
}

/// Rate-limit state: each key's theoretical arrival time, and the addresses accounts logged in from.
#[derive(Debug, Default)]
pub(crate) struct LimitState {
    arrivals: HashMap<TokenHash, DateTime<Utc>>,
    known_addresses: HashMap<(UserId, TokenHash), DateTime<Utc>>,
}

impl LimitState {
    /// Gives back one counted attempt: [`RateLimiter::release`] on the locked state.
    pub(crate) fn release(&mut self, key: &LimitKey, rate: Rate) {
        if let Some(arrival) = self.arrivals.get_mut(key.hash()) {
            *arrival -= rate.interval();
        }
    }

    /// Forgets the addresses `user_id` logged in from (its account is gone).
    pub(crate) fn forget_addresses_of(&mut self, user_id: &UserId) {
        self.known_addresses
            .retain(|(owner, _), _| owner != user_id);
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn acquire(
        &self,
        key: &LimitKey,
        rate: Rate,
        now: DateTime<Utc>,
    ) -> Result<Admission, PortError> {
        let mut state = self.state();
        let arrivals = &mut state.limits.arrivals;
        let arrival = arrivals.get(key.hash()).copied().unwrap_or(now).max(now);
        let next = arrival + rate.interval();
        if next - now > rate.period() {
            return Ok(Admission::Refused {
                retry_after: next - rate.period() - now,
            });
        }
        arrivals.insert(*key.hash(), next);
        Ok(Admission::Admitted)
    }

    async fn release(&self, key: &LimitKey, rate: Rate) -> Result<(), PortError> {
        self.state().limits.release(key, rate);
        Ok(())
    }

    async fn remember_address(
        &self,
        user_id: &UserId,
        address: &LimitKey,
        now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        self.state().remember_address(user_id, address, now);
        Ok(())
    }

    async fn knows_address(
        &self,
        user_id: &UserId,
        address: &LimitKey,
        since: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        Ok(self
            .state()
            .limits
            .known_addresses
            .get(&(user_id.clone(), *address.hash()))
            .is_some_and(|seen| *seen >= since))
    }

    async fn forget_addresses(&self, user_id: &UserId) -> Result<(), PortError> {
        self.state()
            .limits
            .known_addresses
            .retain(|(owner, _), _| owner != user_id);
        Ok(())
    }

    async fn purge_limits(
        &self,
        now: DateTime<Utc>,
        remembered_before: DateTime<Utc>,
    ) -> Result<u64, PortError> {
        let mut state = self.state();
        let limits = &mut state.limits;
        let before = limits.arrivals.len() + limits.known_addresses.len();
        limits.arrivals.retain(|_, arrival| *arrival > now);
        limits
            .known_addresses
            .retain(|_, seen| *seen >= remembered_before);
        let after = limits.arrivals.len() + limits.known_addresses.len();
        Ok(u64::try_from(before - after).unwrap_or(u64::MAX))
    }
}
