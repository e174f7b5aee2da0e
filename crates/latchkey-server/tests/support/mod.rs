//! The real `latchkey` binary as a child process, driven over raw TCP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A running `latchkey serve` and everything it printed.
#[derive(Clone)]
pub struct Server {
    port: u16,
    process: Arc<Mutex<Child>>,
    output: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(database_url: &str, jwt_secret: Option<&str>) -> Self {
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

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
    }

    /// Sends one request on a fresh connection and reads the whole response: `(status, body)`. A connection the
    /// server drops without answering fails the calling thread.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        self.try_send(method, path, bearer, &[], body)
            .expect("the server answers")
    }

    /// As [`Server::send`] with extra headers; `None` when the connection fails or the server hangs up without a
    /// whole response (it was killed).
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if let Some(token) = bearer {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
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
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        // A response cut short by a killed server is no answer.
        let length = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        });
        if length.is_some_and(|length| length != body.len()) {
            return None;
        }
        Some((status, body.to_owned()))
    }

    /// Kills the process at once (SIGKILL): no shutdown, no flush, as a crash or an OOM kill ends it.
    pub fn kill(&self) {
        let mut process = self.process.lock().unwrap();
        let _ = process.kill();
        let _ = process.wait();
    }

    /// Sends the headers of an authenticated request and part of its body, then hangs up: the bearer check starts,
    /// the body never completes.
    pub fn abandon(&self, path: &str, bearer: &str) {
        let mut stream = self.connect();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {bearer}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"current_password\":"
        );
        stream.write_all(request.as_bytes()).unwrap();
        drop(stream);
    }

    pub fn output(&self) -> String {
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
