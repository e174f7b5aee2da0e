//! The repository contract suite, on the in-memory store.

use latchkey_memory::MemoryStore;

latchkey_domain::repository_contract!(async { MemoryStore::new() });
