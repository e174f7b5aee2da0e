//! Emails the service sends: what they say, as data. Rendering (text and HTML) is the mailer adapter's business.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use super::EmailId;
use crate::secret::PlainSecret;

/// What an email says. The link and code are secrets: `Debug` shows neither.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailContent {
    /// Proves the address: a link to the verification page and a code to type, either of which verifies.
    Verification {
        /// `{public_url}/verify-email?token=…`.
        link: PlainSecret,
        /// Six digits.
        code: PlainSecret,
        /// How long the link stays valid.
        link_valid_for: TimeDelta,
        /// How long the code stays valid.
        code_valid_for: TimeDelta,
    },
    /// Confirms a new address for an existing account: a link and a code, as [`EmailContent::Verification`],
    /// sent to the new address.
    EmailChange {
        /// `{public_url}/verify-email?token=…`.
        link: PlainSecret,
        /// Six digits.
        code: PlainSecret,
        /// How long the link stays valid.
        link_valid_for: TimeDelta,
        /// How long the code stays valid.
        code_valid_for: TimeDelta,
    },
    /// Tells the current address that a move to another one was asked for, so a hijacked session cannot move the
    /// account away unnoticed.
    EmailChangeNotice {
        /// The new address, masked (`j***@example.com`): the notice may be read by someone else.
        new_address: String,
    },
    /// A link to the page that sets a new password.
    PasswordReset {
        /// `{public_url}/reset-password?token=…`.
        link: PlainSecret,
        /// How long the link stays valid.
        valid_for: TimeDelta,
    },
}

impl EmailContent {
    /// A short name of the kind of email, for logs and storage (`verification`, `password_reset`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Verification { .. } => "verification",
            Self::EmailChange { .. } => "email_change",
            Self::EmailChangeNotice { .. } => "email_change_notice",
            Self::PasswordReset { .. } => "password_reset",
        }
    }

    /// The content as a JSON object, the form in which an outbox stores it until it is sent.
    ///
    /// It holds the link and code in plain text: the outbox keeps it only until delivery (see
    /// [`crate::ports::Outbox`]).
    pub fn to_payload(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("kind".into(), self.kind().into());
        match self {
            Self::Verification {
                link,
                code,
                link_valid_for,
                code_valid_for,
            }
            | Self::EmailChange {
                link,
                code,
                link_valid_for,
                code_valid_for,
            } => {
                map.insert("link".into(), link.expose().into());
                map.insert("code".into(), code.expose().into());
                map.insert("link_valid_for".into(), link_valid_for.num_seconds().into());
                map.insert("code_valid_for".into(), code_valid_for.num_seconds().into());
            }
            Self::EmailChangeNotice { new_address } => {
                map.insert("new_address".into(), new_address.as_str().into());
            }
            Self::PasswordReset { link, valid_for } => {
                map.insert("link".into(), link.expose().into());
                map.insert("valid_for".into(), valid_for.num_seconds().into());
            }
        }
        map
    }

    /// Reads back what [`EmailContent::to_payload`] wrote; `None` for anything else.
    pub fn from_payload(payload: &Map<String, Value>) -> Option<Self> {
        let text = |key: &str| payload.get(key)?.as_str().map(PlainSecret::new);
        let seconds = |key: &str| TimeDelta::try_seconds(payload.get(key)?.as_i64()?);
        match payload.get("kind")?.as_str()? {
            "verification" => Some(Self::Verification {
                link: text("link")?,
                code: text("code")?,
                link_valid_for: seconds("link_valid_for")?,
                code_valid_for: seconds("code_valid_for")?,
            }),
            "email_change" => Some(Self::EmailChange {
                link: text("link")?,
                code: text("code")?,
                link_valid_for: seconds("link_valid_for")?,
                code_valid_for: seconds("code_valid_for")?,
            }),
            "email_change_notice" => Some(Self::EmailChangeNotice {
                new_address: payload.get("new_address")?.as_str()?.to_owned(),
            }),
            "password_reset" => Some(Self::PasswordReset {
                link: text("link")?,
                valid_for: seconds("valid_for")?,
            }),
            _ => None,
        }
    }
}

/// An email to queue. The recipient is not part of it: the repository addresses it to the account's email address
/// as stored when it queues it, so a message can only ever go to the account's own mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewEmail {
    /// Freshly generated id.
    pub id: EmailId,
    /// What it says.
    pub content: EmailContent,
    /// When it was queued; it may be sent from then on.
    pub created_at: DateTime<Utc>,
}

impl NewEmail {
    /// An email to queue at `created_at`.
    pub fn new(id: EmailId, content: EmailContent, created_at: DateTime<Utc>) -> Self {
        Self {
            id,
            content,
            created_at,
        }
    }
}

/// An email a delivery worker has claimed from the outbox and must now send, then report on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClaimedEmail {
    /// Its id, to report the outcome with.
    pub id: EmailId,
    /// The recipient's address.
    pub to: String,
    /// What it says.
    pub content: EmailContent,
    /// Which try this is: 1 for the first.
    pub attempt: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

impl ClaimedEmail {
    /// Rebuilds a claimed email an outbox adapter read back from storage.
    pub fn new(
        id: EmailId,
        to: String,
        content: EmailContent,
        attempt: u32,
        created_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            to,
            content,
            attempt,
            created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_debug_hides_the_secrets() {
        let contents = [
            EmailContent::Verification {
                link: PlainSecret::new("http://x/verify-email?token=lkv_secret"),
                code: PlainSecret::new("123456"),
                link_valid_for: TimeDelta::hours(24),
                code_valid_for: TimeDelta::minutes(15),
            },
            EmailContent::PasswordReset {
                link: PlainSecret::new("http://x/reset-password?token=lkpw_secret"),
                valid_for: TimeDelta::minutes(15),
            },
        ];
        for content in contents {
            assert_eq!(
                EmailContent::from_payload(&content.to_payload()),
                Some(content.clone())
            );
            let debug = format!("{content:?}");
            assert!(
                !debug.contains("secret") && !debug.contains("123456"),
                "{debug}"
            );
        }
        assert_eq!(EmailContent::from_payload(&Map::new()), None);
    }
}
