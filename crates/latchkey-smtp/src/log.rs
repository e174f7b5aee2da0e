use async_trait::async_trait;
use latchkey_domain::ports::{MailError, Mailer};
use latchkey_domain::ClaimedEmail;

use crate::templates;

/// Writes each email to the log instead of sending it: recipient, subject and the text part, which holds the link
/// and the code. For development and first runs only: anyone who can read the log can use those links.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

impl LogMailer {
    /// The log transport. Logs a warning saying so, once, so a deployer knows no email leaves the machine.
    pub fn new() -> Self {
        tracing::warn!(
            "mail.transport is `log`: emails are written to this log, not sent (set mail.smtp_url to send them)"
        );
        Self
    }
}

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &ClaimedEmail) -> Result<(), MailError> {
        let rendered = templates::render(&email.content).ok_or_else(|| {
            MailError::Rejected(format!("no template for {}", email.content.kind()))
        })?;
        tracing::info!(
            to = %email.to,
            subject = %rendered.subject,
            "email (log transport, not sent):\n{}",
            rendered.text
        );
        Ok(())
    }
}
