//! Pending email changes in memory: the bodies of [`latchkey_domain::ports::ChallengeRepository`]'s email-change
//! methods, each run under the store's one lock.

use chrono::{DateTime, Utc};
use latchkey_domain::ports::{EmailChangeCheck, IssueOutcome, NewEmailChange};
use latchkey_domain::{Email, SessionId, TokenHash, UserId};

use crate::store::State;

/// A pending change of an account's email address.
#[derive(Debug)]
pub(crate) struct EmailChange {
    new_email: Email,
    link_hash: TokenHash,
    code_hash: TokenHash,
    pub(crate) link_expires_at: DateTime<Utc>,
    pub(crate) code_expires_at: DateTime<Utc>,
    attempts: u32,
    requested_by: Option<SessionId>,
}

impl EmailChange {
    /// The address it moves to.
    pub(crate) fn new_email(&self) -> &Email {
        &self.new_email
    }
}

impl State {
    pub(crate) fn issue_email_change(
        &mut self,
        user_id: &UserId,
        change: &NewEmailChange,
    ) -> IssueOutcome {
        let Some(current) = self.users.get(user_id).map(|c| c.user.email.clone()) else {
            return IssueOutcome::NoAccount;
        };
        if self.asker_has_left(change.requested_by.as_ref(), user_id, change.created_at) {
            return IssueOutcome::SessionEnded;
        }
        if self
            .users
            .values()
            .any(|c| c.user.email.key() == change.new_email.key())
        {
            return IssueOutcome::EmailTaken;
        }
        self.mail.changes.insert(
            user_id.clone(),
            EmailChange {
                new_email: change.new_email.clone(),
                link_hash: change.link_hash,
                code_hash: change.code_hash,
                link_expires_at: change.link_expires_at,
                code_expires_at: change.code_expires_at,
                attempts: 0,
                requested_by: change.requested_by.clone(),
            },
        );
        self.enqueue(&change.new_email, &change.confirmation);
        self.enqueue(&current, &change.notice);
        IssueOutcome::Issued
    }

    pub(crate) fn confirm_email_change_by_link(
        &mut self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> EmailChangeCheck {
        let found = self
            .mail
            .changes
            .iter()
            .find(|(_, c)| &c.link_hash == link_hash && c.link_expires_at > now)
            .map(|(user_id, _)| user_id.clone());
        match found {
            Some(user_id) => self.apply_email_change(&user_id, now),
            None => EmailChangeCheck::Invalid,
        }
    }

    pub(crate) fn confirm_email_change_by_code(
        &mut self,
        new_email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> EmailChangeCheck {
        let mut candidates = self.mail.changes.iter_mut().filter(|(_, c)| {
            c.new_email.key() == new_email.key()
                && c.code_expires_at > now
                && c.attempts < max_attempts
        });
        let mut live = Vec::new();
        let mut matched = None;
        for (user_id, change) in &mut candidates {
            if &change.code_hash == code_hash {
                matched = Some(user_id.clone());
            }
            live.push(change);
        }
        if let Some(user_id) = matched {
            return self.apply_email_change(&user_id, now);
        }
        if live.is_empty() {
            return EmailChangeCheck::Invalid;
        }
        for change in live {
            change.attempts += 1;
        }
        EmailChangeCheck::Wrong
    }

    /// Spends the pending change of `user_id` and, unless another account has the address by now, moves the
    /// account to it and ends what the old address could still use.
    fn apply_email_change(&mut self, user_id: &UserId, now: DateTime<Utc>) -> EmailChangeCheck {
        let Some(change) = self.mail.changes.remove(user_id) else {
            return EmailChangeCheck::Invalid;
        };
        let taken = self
            .users
            .values()
            .any(|c| &c.user.id != user_id && c.user.email.key() == change.new_email.key());
        if taken {
            return EmailChangeCheck::EmailTaken;
        }
        let Some(credentials) = self.users.get_mut(user_id) else {
            return EmailChangeCheck::Invalid;
        };
        credentials.user.email = change.new_email;
        credentials.user.is_verified = true;
        credentials.user.updated_at = now;
        let keep = change.requested_by;
        self.revoke_where(now, |s| {
            &s.user_id == user_id && Some(&s.id) != keep.as_ref()
        });
        self.mail.verifications.remove(user_id);
        self.mail.resets.remove(user_id);
        EmailChangeCheck::Changed(user_id.clone())
    }
}
