//! The repository contract suite, on the in-memory store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use latchkey_memory::MemoryStore;

latchkey_domain::repository_contract!(async { MemoryStore::new() });

/// Every public async function of a testkit rule module is a rule the suite runs: none was written outside its
/// module's `rules!` block, where nothing would run it.
#[test]
fn every_rule_function_is_in_the_suite() {
    let testkit =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../latchkey-domain/src/testkit");
    let mut written = 0;
    for entry in std::fs::read_dir(&testkit).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        if name.ends_with(".rs") && name != "mod.rs" && name != "fixtures.rs" {
            written += std::fs::read_to_string(&path)
                .unwrap()
                .matches("pub async fn ")
                .count();
        }
    }
    assert_eq!(written, latchkey_domain::testkit::RULES.len());
    assert!(latchkey_domain::testkit::RULES.contains(&"sessions::rotate_spends_the_token_once"));
}
