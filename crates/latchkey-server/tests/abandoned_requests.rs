//! The release shape of the service under hostile clients: the real `latchkey` binary, driven over raw TCP with
//! malformed bodies and requests abandoned mid-flight, alongside well-formed requests. Nothing may panic, and no
//! well-formed request may lose its connection.
//!
//! Abandoned requests are what used to crash SQLite workers: actix drops a request's pending extractors (here the
//! bearer check, which is running its session query) when a sibling extractor fails or the body never arrives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;

use latchkey_diesel::test_support::fresh_postgres_database;

mod support;

use support::Server;

/// Requests of each kind (malformed, abandoned, well-formed), split over [`THREADS`] client threads per kind.
const REQUESTS: usize = 200;
const THREADS: usize = 4;

#[test]
fn sqlite_survives_malformed_and_abandoned_requests() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        directory.path().join("latchkey.db").display()
    );
    scenario(&url, None);
}

#[tokio::test]
async fn postgres_survives_malformed_and_abandoned_requests() {
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

fn scenario(database_url: &str, jwt_secret: Option<&str>) {
    let server = Server::start(database_url, jwt_secret);
    let (status, body) = server.send(
        "POST",
        "/api/v1/auth/register",
        None,
        Some(r#"{"email":"jane@example.com","password":"correct horse battery"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let registered: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = registered["token"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let clients: Vec<_> = (0..THREADS)
        .flat_map(|_| {
            let malformed = {
                let (server, token) = (server.clone(), token.clone());
                thread::spawn(move || {
                    for _ in 0..REQUESTS / THREADS {
                        let (status, body) = server.send(
                            "POST",
                            "/api/v1/auth/change-password",
                            Some(&token),
                            Some("{not json"),
                        );
                        assert_eq!(status, 400, "{body}");
                    }
                })
            };
            let abandoned = {
                let (server, token) = (server.clone(), token.clone());
                thread::spawn(move || {
                    for _ in 0..REQUESTS / THREADS {
                        server.abandon("/api/v1/auth/change-password", &token);
                    }
                })
            };
            let well_formed = {
                let (server, token) = (server.clone(), token.clone());
                thread::spawn(move || {
                    for _ in 0..REQUESTS / THREADS {
                        let (status, body) =
                            server.send("GET", "/api/v1/auth/me", Some(&token), None);
                        assert_eq!(status, 200, "{body}");
                    }
                })
            };
            [malformed, abandoned, well_formed]
        })
        .collect();
    for client in clients {
        client
            .join()
            .expect("every request was answered as expected");
    }

    let (status, _) = server.send("GET", "/healthz", None, None);
    assert_eq!(status, 200);
    let (status, body) = server.send("GET", "/api/v1/auth/me", Some(&token), None);
    assert_eq!(status, 200, "{body}");
    let output = server.output();
    assert!(
        !output.contains("panicked"),
        "the server panicked:\n{output}"
    );
}
