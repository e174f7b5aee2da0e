use std::sync::Arc;

use latchkey_domain::{BuildError, Latchkey};
use latchkey_memory::{FastTestHasher, MemoryPorts};

#[test]
fn build_names_the_first_missing_port() {
    let error = Latchkey::builder().build().unwrap_err();
    assert_eq!(error, BuildError::MissingPort { port: "users" });

    let memory = MemoryPorts::new();
    let error = Latchkey::builder()
        .users(memory.store.clone())
        .health(memory.store.clone())
        .hasher(Arc::new(FastTestHasher))
        .access_tokens(memory.access_tokens.clone())
        .secrets(memory.secrets.clone())
        .build()
        .unwrap_err();
    assert_eq!(error, BuildError::MissingPort { port: "sessions" });
    assert!(error.to_string().contains("sessions"), "{error}");
}

#[test]
fn clock_and_policies_have_defaults() {
    let memory = MemoryPorts::new();
    let svc = Latchkey::builder()
        .users(memory.store.clone())
        .sessions(memory.store.clone())
        .challenges(memory.store.clone())
        .credentials(memory.store.clone())
        .ledger(memory.store.clone())
        .limiter(memory.store.clone())
        .events(memory.store.clone())
        .health(memory.store.clone())
        .hasher(Arc::new(FastTestHasher))
        .access_tokens(memory.access_tokens.clone())
        .secrets(memory.secrets.clone())
        .build()
        .unwrap();
    assert_eq!(svc.policies(), &latchkey_domain::Policies::default());
}

#[tokio::test]
async fn the_one_line_in_memory_service_works_end_to_end() {
    let memory = latchkey_memory::service();
    memory.latchkey.ready().await.unwrap();
    let outcome = memory
        .latchkey
        .register(
            crate::support::input("jane@example.com", crate::support::PASSWORD, None),
            crate::support::client(),
        )
        .await
        .unwrap();
    assert!(outcome.tokens.is_some());
}
