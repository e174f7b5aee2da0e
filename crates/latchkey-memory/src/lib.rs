//! In-memory implementations of Latchkey's ports.
//!
//! They obey the same contract suite as the database adapters, so tests written against them exercise Latchkey's
//! real rules without a database. The hasher, codec and secret generator here are fast and predictable, and
//! deliberately not secure: never use them outside tests.
//!
//! ```
//! use std::sync::Arc;
//! use latchkey_domain::{Latchkey, Policies, Ports};
//! use latchkey_memory::{FastTestHasher, ManualClock, MemoryAccessTokens, MemoryStore, SequentialSecrets};
//!
//! let store = Arc::new(MemoryStore::new());
//! let clock = Arc::new(ManualClock::starting_at_epoch());
//! let ports = Ports {
//!     users: store.clone(),
//!     sessions: store.clone(),
//!     health: store,
//!     hasher: Arc::new(FastTestHasher),
//!     access_tokens: Arc::new(MemoryAccessTokens::new()),
//!     secrets: Arc::new(SequentialSecrets::new()),
//!     clock: clock.clone(),
//! };
//! let latchkey = Latchkey::new(ports, Policies::default());
//! # let _ = latchkey;
//! ```

#![warn(missing_docs)]

mod clock;
mod doubles;
mod store;

pub use clock::ManualClock;
pub use doubles::{FastTestHasher, MemoryAccessTokens, SequentialSecrets};
pub use store::MemoryStore;

/// Locks a mutex, recovering the data if a panicking test poisoned it (the state itself is always consistent
/// because every mutation completes under one lock).
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
