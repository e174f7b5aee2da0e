//! In-memory implementations of Latchkey's ports.
//!
//! They obey the same contract suite as the database adapters, so tests written against them exercise Latchkey's
//! real rules without a database. The hasher, codec and secret generator here are fast and predictable, and
//! deliberately not secure: never use them outside tests.
//!
//! [`service`] builds a whole [`latchkey_domain::Latchkey`] on these adapters in one line; [`MemoryPorts`] keeps
//! the adapters at hand when a test needs to replace one port or steer the clock:
//!
//! ```
//! use std::sync::Arc;
//! use latchkey_memory::{FastTestHasher, MemoryPorts};
//!
//! let memory = latchkey_memory::service();
//! # let _ = memory;
//!
//! let ports = MemoryPorts::new();
//! let latchkey = ports.builder().hasher(Arc::new(FastTestHasher)).build()?;
//! # let _ = latchkey;
//! # Ok::<(), latchkey_domain::BuildError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod challenges;
mod clock;
mod credentials;
mod doubles;
mod email_changes;
mod events;
mod ledger;
mod limiter;
mod mailer;
mod service;
mod store;

pub use clock::ManualClock;
pub use doubles::{FastTestHasher, MemoryAccessTokens, SequentialSecrets};
pub use mailer::RecordingMailer;
pub use service::{service, service_with, MemoryPorts, MemoryService};
pub use store::MemoryStore;

/// `docs/embedding.md`, whose example is compiled and run as this crate's doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/embedding.md")]
pub struct EmbeddingGuide;

/// Locks a mutex, recovering the data if a panicking test poisoned it (the state itself is always consistent
/// because every mutation completes under one lock).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
