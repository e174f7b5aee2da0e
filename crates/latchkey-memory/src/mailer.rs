//! A mailer that keeps what it is asked to send, for tests.

use std::sync::Mutex;

use async_trait::async_trait;
use latchkey_domain::ports::{MailError, Mailer};
use latchkey_domain::{ClaimedEmail, PortError};

/// Records every email it is given instead of sending it; can be told to fail, to exercise retries.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    state: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    sent: Vec<ClaimedEmail>,
    failures_left: u32,
    reject: bool,
}

impl RecordingMailer {
    /// A mailer that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every email accepted so far, oldest first.
    pub fn sent(&self) -> Vec<ClaimedEmail> {
        crate::lock(&self.state).sent.clone()
    }

    /// The next `count` sends fail as if the mail server were down (worth retrying).
    pub fn fail_next(&self, count: u32) {
        crate::lock(&self.state).failures_left = count;
    }

    /// From now on every send is refused for good (or, with `false`, accepted again).
    pub fn reject_all(&self, reject: bool) {
        crate::lock(&self.state).reject = reject;
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, email: &ClaimedEmail) -> Result<(), MailError> {
        let mut state = crate::lock(&self.state);
        if state.reject {
            return Err(MailError::Rejected("550 mailbox unavailable".into()));
        }
        if state.failures_left > 0 {
            state.failures_left -= 1;
            return Err(MailError::Unavailable(PortError::new(
                "send email",
                "connection refused",
            )));
        }
        state.sent.push(email.clone());
        Ok(())
    }
}
