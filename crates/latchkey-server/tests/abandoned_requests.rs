//! The release shape of the service under hostile clients: the real `latchkey` binary, driven over raw TCP with
//! malformed bodies and requests abandoned mid-flight, alongside well-formed requests. Nothing may panic, and no
//! well-formed request may lose its connection.
//!
//! Abandoned requests are what used to crash SQLite workers: actix drops a request's pending extractors (here the
//! bearer check, which is running its session query) when a sibling extractor fails or the body never arrives.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use latchkey_diesel::test_support::fresh_postgres_database;

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

/// A running `latchkey serve` and everything it printed.
#[derive(Clone)]
struct Server {
    port: u16,
    process: Arc<Mutex<Child>>,
    output: Arc<Mutex<String>>,
}

impl Server {
    fn start(database_url: &str, jwt_secret: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .arg("serve")
            .env_clear()
            .env("LATCHKEY__SERVER__BIND", "127.0.0.1:0")
            .env("LATCHKEY__SERVER__WORKERS", "2")
            .env("LATCHKEY__DATABASE__URL", database_url)
            .env("LATCHKEY__DATABASE__MAX_CONNECTIONS", "4")
            .env("LATCHKEY__ARGON2__MEMORY_KIB", "64")
            .env("LATCHKEY__ARGON2__ITERATIONS", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(secret) = jwt_secret {
            command.env("LATCHKEY__JWT__SECRET", secret);
        }
        let mut child = command.spawn().expect("the latchkey binary starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (port_sender, port) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        {
            let output = Arc::clone(&output);
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(port) = listening_port(&line) {
                        let _ = port_sender.send(port);
                    }
                    output.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        {
            let output = Arc::clone(&output);
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    output.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let port = match port.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start:\n{}", output.lock().unwrap());
            }
        };
        Self {
            port,
            process: Arc::new(Mutex::new(child)),
            output,
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
    }

    /// Sends one request on a fresh connection and reads the whole response: `(status, body)`. A connection the
    /// server drops without answering fails the calling thread.
    fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut stream = self.connect();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some(token) = bearer {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() || method == "POST" {
            request.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("the server answers");
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {response:?}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Sends the headers of an authenticated request and part of its body, then hangs up: the bearer check starts,
    /// the body never completes.
    fn abandon(&self, path: &str, bearer: &str) {
        let mut stream = self.connect();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"current_password\":"
        );
        stream.write_all(request.as_bytes()).unwrap();
        drop(stream);
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Clones share the process; the last one stops it.
        if Arc::strong_count(&self.process) == 1 {
            let mut process = self.process.lock().unwrap();
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// The port in `latchkey listening` log lines (`… port=8080 …`).
fn listening_port(line: &str) -> Option<u16> {
    let line = strip_ansi(line);
    if !line.contains("latchkey listening") {
        return None;
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("port="))
        .and_then(|port| port.parse().ok())
}

/// `line` without terminal colour sequences (`ESC [ … m`), which the log may carry around field names.
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            plain.push(c);
        }
    }
    plain
}
