//! A charge acknowledged with 201 is committed with its ledger entry and its idempotency key: the real `latchkey`
//! binary is killed (SIGKILL) right after the answers arrive, while other charges are in flight, and restarted on
//! the same database, where every acknowledged charge is found, once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;

use latchkey_diesel::test_support::fresh_postgres_database;
use serde_json::Value;

mod support;

use support::Server;

/// Client threads, each charging until the server goes away.
const THREADS: usize = 4;
/// Acknowledged charges after which the server is killed.
const KILL_AFTER: usize = 40;

#[test]
fn sqlite_loses_no_acknowledged_charge_when_killed() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        directory.path().join("latchkey.db").display()
    );
    scenario(&url, None);
}

#[tokio::test]
async fn postgres_loses_no_acknowledged_charge_when_killed() {
    let Some(database) = fresh_postgres_database().await else {
        return;
    };
    let url = database.url().to_owned();
    tokio::task::spawn_blocking(move || {
        scenario(&url, Some("a-test-secret-that-is-at-least-32-bytes-long"))
    })
    .await
    .unwrap();
}

fn charge(server: &Server, token: &str, key: &str) -> Option<(u16, String)> {
    server.try_send(
        "POST",
        "/api/v1/credits/charges",
        Some(token),
        &[("Idempotency-Key", key)],
        Some(r#"{"unit":"second_video","quantity":1}"#),
    )
}

fn scenario(database_url: &str, jwt_secret: Option<&str>) {
    let server = Server::start(database_url, jwt_secret);
    let (status, body) = server.send(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(r#"{"email":"jane@example.com","password":"correct horse battery"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let registered: Value = serde_json::from_str(&body).unwrap();
    let token = registered["token"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // key -> the 201 body, for every charge acknowledged.
    let acknowledged: Arc<Mutex<BTreeMap<String, Value>>> = Arc::default();
    let clients: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (server, token, acknowledged) =
                (server.clone(), token.clone(), acknowledged.clone());
            thread::spawn(move || {
                for n in 0.. {
                    let key = format!("t{thread}-{n}");
                    let Some((status, body)) = charge(&server, &token, &key) else {
                        return;
                    };
                    assert_eq!(status, 201, "{body}");
                    let body: Value = serde_json::from_str(&body).unwrap();
                    acknowledged.lock().unwrap().insert(key, body);
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < KILL_AFTER {
        thread::yield_now();
    }
    server.kill();
    for client in clients {
        client.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= KILL_AFTER);

    let restarted = Server::start(database_url, jwt_secret);
    let (status, body) = restarted.send(
        "GET",
        "/api/v1/credits/ledger?limit=100",
        Some(&token),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let ledger: Value = serde_json::from_str(&body).unwrap();
    let entries = ledger["entries"].as_array().unwrap();
    let charged: BTreeMap<&str, &Value> = entries
        .iter()
        .filter(|entry| entry["kind"] == "charge")
        .map(|entry| (entry["charge_id"].as_str().unwrap(), entry))
        .collect();
    for (key, answer) in &acknowledged {
        let id = answer["id"].as_str().unwrap();
        let entry = charged
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged charge {id} ({key}) is lost"));
        assert_eq!(entry["balance_after"], answer["credits"]);
        // Its key was committed with it: a retry answers the same charge without charging again.
        let (status, body) = charge(&restarted, &token, key).expect("the restarted server answers");
        assert_eq!(status, 201, "{body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), *answer);
    }
    let sum: i64 = entries
        .iter()
        .map(|entry| entry["amount"].as_i64().unwrap())
        .sum();
    let (status, body) = restarted.send("GET", "/api/v1/auth/credits", Some(&token), None);
    assert_eq!(status, 200, "{body}");
    let credits: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        credits["credits"].as_i64().unwrap(),
        sum,
        "balance == sum(ledger) after the crash"
    );
    assert_eq!(sum, 1000 - 10 * charged.len() as i64);
    assert!(!restarted.output().contains("panicked"));
}
