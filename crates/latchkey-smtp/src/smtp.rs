use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_domain::ports::{MailError, Mailer};
use latchkey_domain::{ClaimedEmail, PortError};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::templates;

/// How long one SMTP exchange may take before it counts as a failed try (well within the outbox lease).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the SMTP mailer could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpConfigError {
    /// `mail.smtp_url` is not a usable SMTP URL.
    #[error("mail.smtp_url {url} is not usable: {reason} (use smtp://host:port, smtp://host:587?tls=required or smtps://user:pass@host:465)")]
    Url {
        /// The URL without its password.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// `mail.from` is not a mailbox.
    #[error(
        "mail.from {from:?} is not an email address (e.g. \"Latchkey <no-reply@example.com>\")"
    )]
    From {
        /// The value given.
        from: String,
    },
}

/// Sends emails over SMTP with lettre's async transport (a small connection pool; TLS by rustls).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    target: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("target", &self.target)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer sending through the server at `url` (`smtp://`, `smtp://…?tls=required`, `smtps://`; credentials
    /// as URL user info) from the mailbox `from`. Connects lazily: nothing is sent until the first email.
    ///
    /// # Errors
    /// [`SmtpConfigError`] for an unusable URL or sender.
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        let target = redact(url);
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| SmtpConfigError::Url {
                url: target.clone(),
                reason: error.to_string(),
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = from.parse::<Mailbox>().map_err(|_| SmtpConfigError::From {
            from: from.to_owned(),
        })?;
        Ok(Self {
            transport,
            from,
            target,
        })
    }

    /// The server's URL without its password, for the start-up log.
    pub fn target(&self) -> &str {
        &self.target
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &ClaimedEmail) -> Result<(), MailError> {
        let rendered = templates::render(&email.content).ok_or_else(|| {
            MailError::Rejected(format!("no template for {}", email.content.kind()))
        })?;
        let to = email
            .to
            .parse::<Mailbox>()
            .map_err(|error| MailError::Rejected(format!("unusable recipient address: {error}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|error| MailError::Rejected(format!("cannot build the message: {error}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx reply: the server will refuse this message however often it is offered.
            Err(error) if error.is_permanent() => Err(MailError::Rejected(error.to_string())),
            Err(error) => Err(MailError::Unavailable(PortError::new("send email", error))),
        }
    }
}

/// The URL with its password, if any, replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // On a runtime: the transport's connection pool needs one, also when it is dropped.
    #[tokio::test]
    async fn urls_and_senders_are_checked_and_passwords_hidden() {
        let mailer = SmtpMailer::new(
            "smtps://app:hunter2@mail.example.com:465",
            "Latchkey <no-reply@example.com>",
        )
        .unwrap();
        assert_eq!(mailer.target(), "smtps://app:***@mail.example.com:465");
        assert!(!format!("{mailer:?}").contains("hunter2"));
        let error = SmtpMailer::new("http://app:hunter2@x", "a@example.com").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(matches!(
            SmtpMailer::new("smtp://127.0.0.1:2525", "not a mailbox"),
            Err(SmtpConfigError::From { .. })
        ));
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525?tls=required", "a@example.com").is_ok());
    }
}
