//! A whole service on in-memory adapters in one call, for tests and examples.

use std::sync::Arc;

use latchkey_domain::{DeliveryPolicy, Latchkey, LatchkeyBuilder, OutboxDelivery, Policies};

use crate::{
    FastTestHasher, ManualClock, MemoryAccessTokens, MemoryStore, RecordingMailer,
    SequentialSecrets,
};

/// One set of in-memory adapters, kept so a test can steer the clock or look into the store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MemoryPorts {
    /// Every repository, and the health check.
    pub store: Arc<MemoryStore>,
    /// The clock, standing at 2026-01-01T00:00:00Z until moved.
    pub clock: Arc<ManualClock>,
    /// The access-token codec.
    pub access_tokens: Arc<MemoryAccessTokens>,
    /// The id and secret generator.
    pub secrets: Arc<SequentialSecrets>,
    /// The mailer [`MemoryPorts::delivery`] sends through.
    pub mailer: Arc<RecordingMailer>,
}

impl Default for MemoryPorts {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryPorts {
    /// Fresh, empty adapters.
    pub fn new() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(ManualClock::starting_at_epoch()),
            access_tokens: Arc::new(MemoryAccessTokens::new()),
            secrets: Arc::new(SequentialSecrets::new()),
            mailer: Arc::new(RecordingMailer::new()),
        }
    }

    /// Delivery of this store's outbox through [`MemoryPorts::mailer`], on this clock, with the default policy:
    /// call [`OutboxDelivery::deliver_next`] where a server would run its worker.
    pub fn delivery(&self) -> OutboxDelivery {
        OutboxDelivery::new(
            self.store.clone(),
            self.mailer.clone(),
            self.clock.clone(),
            DeliveryPolicy::default(),
        )
    }

    /// A builder with every port set to these adapters (and [`FastTestHasher`]); set a port again to replace it,
    /// or set the policies, before building.
    pub fn builder(&self) -> LatchkeyBuilder {
        Latchkey::builder()
            .users(self.store.clone())
            .sessions(self.store.clone())
            .challenges(self.store.clone())
            .credentials(self.store.clone())
            .ledger(self.store.clone())
            .limiter(self.store.clone())
            .events(self.store.clone())
            .health(self.store.clone())
            .hasher(Arc::new(FastTestHasher))
            .access_tokens(self.access_tokens.clone())
            .secrets(self.secrets.clone())
            .clock(self.clock.clone())
    }

    /// The service on these adapters with the given policies.
    pub fn service(&self, policies: Policies) -> Latchkey {
        self.builder()
            .policies(policies)
            .build()
            // `builder` sets every port, so nothing can be missing.
            .unwrap_or_else(|error| unreachable!("in-memory ports are complete: {error}"))
    }
}

/// A service on in-memory adapters, with the handles a test steers it by.
#[derive(Debug)]
#[non_exhaustive]
pub struct MemoryService {
    /// The service.
    pub latchkey: Latchkey,
    /// Its clock: move it instead of sleeping.
    pub clock: Arc<ManualClock>,
    /// Its store.
    pub store: Arc<MemoryStore>,
    /// Delivers the store's outbox to [`MemoryService::mailer`].
    pub delivery: OutboxDelivery,
    /// What was sent.
    pub mailer: Arc<RecordingMailer>,
}

/// A service on fresh in-memory adapters with the default policies.
///
/// ```
/// use latchkey_domain::ports::Clock;
///
/// let memory = latchkey_memory::service();
/// let before = memory.clock.now();
/// memory.clock.advance(chrono::TimeDelta::minutes(5));
/// assert_eq!(memory.clock.now() - before, chrono::TimeDelta::minutes(5));
/// ```
pub fn service() -> MemoryService {
    service_with(Policies::default())
}

/// As [`service`], with the given policies.
pub fn service_with(policies: Policies) -> MemoryService {
    let ports = MemoryPorts::new();
    MemoryService {
        latchkey: ports.service(policies),
        delivery: ports.delivery(),
        clock: ports.clock,
        store: ports.store,
        mailer: ports.mailer,
    }
}
