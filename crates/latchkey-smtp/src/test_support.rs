//! A small SMTP server for tests: it accepts every message on a free local port and keeps it, so a test can read
//! the email Latchkey sent and follow its link or type its code, through the real SMTP path.
//!
//! It speaks just enough SMTP for a client such as lettre (no TLS, no AUTH), and can be told to answer with a
//! temporary failure, to exercise retries.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// A message the sink received.
#[derive(Debug, Clone)]
pub struct ReceivedEmail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// The message as sent, headers and body, dot-stuffing undone.
    pub data: String,
}

impl ReceivedEmail {
    /// The value of the first header `name` (case-insensitive) of the message.
    pub fn header(&self, name: &str) -> Option<String> {
        let headers = self.data.split("\r\n\r\n").next()?;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        headers
            .split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
    }

    /// The decoded body of the part with this content type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let lower = self.data.to_ascii_lowercase();
        let start = lower.find(&format!("content-type: {content_type}"))?;
        // The part's headers may start before its Content-Type line: back up to the boundary line.
        let part_start = lower[..start].rfind("\r\n--").map_or(start, |i| i + 2);
        let headers_end = part_start + lower[part_start..].find("\r\n\r\n")?;
        let headers = &lower[part_start..headers_end];
        let body_start = headers_end + 4;
        let body_end = lower[body_start..]
            .find("\r\n--")
            .map_or(lower.len(), |i| body_start + i);
        let body = &self.data[body_start..body_end];
        if headers.contains("content-transfer-encoding: quoted-printable") {
            Some(decode_quoted_printable(body))
        } else if headers.contains("content-transfer-encoding: base64") {
            let compact: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()?;
            String::from_utf8(bytes).ok()
        } else {
            Some(body.to_owned())
        }
    }

    /// The decoded `text/plain` part.
    pub fn text(&self) -> String {
        self.part("text/plain").unwrap_or_default()
    }

    /// The first `http(s)://…` link in the text part that contains `path`.
    pub fn link(&self, path: &str) -> Option<String> {
        self.text()
            .split_whitespace()
            .find(|word| word.starts_with("http") && word.contains(path))
            .map(str::to_owned)
    }

    /// The first line of the text part that is a 6-digit code.
    pub fn code(&self) -> Option<String> {
        self.text()
            .lines()
            .map(str::trim)
            .find(|line| line.len() == 6 && line.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(value) = u8::from_str_radix(hex, 16) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<ReceivedEmail>>,
    /// While set, `MAIL FROM` is answered with this reply (e.g. `451 4.3.0 try again later`).
    refusal: Mutex<Option<String>>,
    arrived: Notify,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An SMTP server on `127.0.0.1` and a free port, keeping every message; it stops when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    address: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts the sink on the current tokio runtime.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, shared.clone()));
                }
            }
        });
        Ok(Self {
            address,
            shared,
            task,
        })
    }

    /// `smtp://127.0.0.1:PORT`, for `mail.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// Every message received so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedEmail> {
        lock(&self.shared.received).clone()
    }

    /// Answers `MAIL FROM` with `reply` (a 4xx for a temporary failure, a 5xx for a permanent one) until called
    /// with `None`.
    pub fn refuse_with(&self, reply: Option<&str>) {
        *lock(&self.shared.refusal) = reply.map(str::to_owned);
    }

    /// Waits until a message to `recipient` (case-insensitive) has arrived beyond the first `skip` such messages,
    /// and returns it.
    ///
    /// # Panics
    /// When none arrives within `deadline`: the test fails rather than hangs.
    pub async fn wait_for(
        &self,
        recipient: &str,
        skip: usize,
        deadline: Duration,
    ) -> ReceivedEmail {
        let wanted = recipient.to_ascii_lowercase();
        let waiting = async {
            loop {
                let arrived = self.shared.arrived.notified();
                let found = lock(&self.shared.received)
                    .iter()
                    .filter(|email| email.to.iter().any(|to| to.to_ascii_lowercase() == wanted))
                    .nth(skip)
                    .cloned();
                if let Some(email) = found {
                    return email;
                }
                arrived.await;
            }
        };
        match tokio::time::timeout(deadline, waiting).await {
            Ok(email) => email,
            Err(_) => panic!("no email to {recipient} arrived within {deadline:?}"),
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One SMTP session.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    let reply = |text: String| {
        let bytes = format!("{text}\r\n").into_bytes();
        async move { bytes }
    };
    macro_rules! say {
        ($($arg:tt)*) => {
            if writer.write_all(&reply(format!($($arg)*)).await).await.is_err() {
                return;
            }
        };
    }
    say!("220 latchkey-test-sink ESMTP");
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            say!("250-latchkey-test-sink\r\n250-8BITMIME\r\n250 SMTPUTF8");
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            say!("250 OK");
        } else if upper.starts_with("MAIL FROM:") {
            let refusal = lock(&shared.refusal).clone();
            if let Some(refusal) = refusal {
                say!("{refusal}");
                continue;
            }
            from = address(&command["MAIL FROM:".len()..]);
            to.clear();
            say!("250 OK");
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            say!("250 OK");
        } else if upper == "DATA" {
            say!("354 end with <CRLF>.<CRLF>");
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Undo dot-stuffing (RFC 5321 §4.5.2).
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            lock(&shared.received).push(ReceivedEmail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            shared.arrived.notify_waiters();
            say!("250 OK queued");
        } else if upper == "RSET" {
            (from, to) = (String::new(), Vec::new());
            say!("250 OK");
        } else if upper == "QUIT" {
            say!("221 bye");
            return;
        } else {
            say!("502 command not implemented");
        }
    }
}

/// `<a@b>` (maybe followed by parameters) → `a@b`.
fn address(argument: &str) -> String {
    let argument = argument.trim();
    argument
        .strip_prefix('<')
        .and_then(|rest| rest.split_once('>'))
        .map_or(argument, |(address, _)| address)
        .to_owned()
}
