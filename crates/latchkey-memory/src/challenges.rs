//! [`ChallengeRepository`] and [`Outbox`] in memory: every method runs under the store's one lock, so each is atomic
//! as the ports require.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use latchkey_domain::ports::{
    ChallengeRepository, CodeCheck, EmailChangeCheck, IssueOutcome, NewEmailChange, NewReset,
    NewVerification, Outbox, UserLookup,
};
use latchkey_domain::{
    ClaimedEmail, Email, EmailContent, EmailId, NewEmail, PasswordHash, PortError, TokenHash,
    UserCredentials, UserId,
};

use crate::store::State;
use crate::MemoryStore;

/// The mail-related part of the store's state.
#[derive(Debug, Default)]
pub(crate) struct MailState {
    /// At most one challenge per account: a new one replaces the old.
    pub(crate) verifications: HashMap<UserId, Verification>,
    /// At most one reset token per account.
    pub(crate) resets: HashMap<UserId, Reset>,
    /// In the order queued.
    outbox: Vec<Queued>,
    /// At most one pending email change per account (`email_changes.rs`).
    pub(crate) changes: HashMap<UserId, crate::email_changes::EmailChange>,
}

impl MailState {
    /// Drops every email addressed to one of `addresses` (an account being deleted).
    pub(crate) fn drop_emails_to(&mut self, addresses: &[String]) {
        self.outbox.retain(|queued| !addresses.contains(&queued.to));
    }
}

#[derive(Debug)]
pub(crate) struct Verification {
    link_hash: TokenHash,
    code_hash: TokenHash,
    link_expires_at: DateTime<Utc>,
    code_expires_at: DateTime<Utc>,
    attempts: u32,
    created_at: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) struct Reset {
    token_hash: TokenHash,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Sending,
    Sent,
    Failed,
}

#[derive(Debug)]
struct Queued {
    id: EmailId,
    to: String,
    /// Erased once sent or given up.
    content: Option<EmailContent>,
    status: Status,
    attempts: u32,
    due_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    /// When it was sent or given up.
    finished_at: Option<DateTime<Utc>>,
}

impl State {
    fn account(&self, lookup: &UserLookup) -> Option<&UserCredentials> {
        match lookup {
            UserLookup::Id(id) => self.users.get(id),
            UserLookup::Email(email) => self.users.values().find(|c| &c.user.email == email),
            UserLookup::Username(name) => self
                .users
                .values()
                .find(|c| c.user.username.as_ref() == Some(name)),
        }
    }

    pub(crate) fn enqueue(&mut self, to: &Email, email: &NewEmail) {
        self.mail.outbox.push(Queued {
            id: email.id.clone(),
            to: to.as_str().to_owned(),
            content: Some(email.content.clone()),
            status: Status::Pending,
            attempts: 0,
            due_at: email.created_at,
            created_at: email.created_at,
            finished_at: None,
        });
    }

    fn mark_verified(&mut self, user_id: &UserId, now: DateTime<Utc>) {
        if let Some(credentials) = self.users.get_mut(user_id) {
            if !credentials.user.is_verified {
                credentials.user.is_verified = true;
                credentials.user.updated_at = now;
            }
        }
    }

    fn queued(&mut self, id: &EmailId) -> Option<&mut Queued> {
        self.mail
            .outbox
            .iter_mut()
            .find(|q| &q.id == id && q.status == Status::Sending)
    }
}

/// `true` when something was issued less than `min_interval` before `now`.
fn too_soon(previous: Option<DateTime<Utc>>, now: DateTime<Utc>, min_interval: TimeDelta) -> bool {
    previous.is_some_and(|at| now < at + min_interval)
}

#[async_trait]
impl ChallengeRepository for MemoryStore {
    async fn issue_verification(
        &self,
        account: &UserLookup,
        challenge: &NewVerification,
        min_interval: TimeDelta,
    ) -> Result<IssueOutcome, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(user) = state.account(account).map(|c| c.user.clone()) else {
            return Ok(IssueOutcome::NoAccount);
        };
        if user.is_verified {
            return Ok(IssueOutcome::AlreadyVerified);
        }
        let previous = state.mail.verifications.get(&user.id).map(|v| v.created_at);
        if too_soon(previous, challenge.created_at, min_interval) {
            return Ok(IssueOutcome::Throttled);
        }
        state.mail.verifications.insert(
            user.id.clone(),
            Verification {
                link_hash: challenge.link_hash,
                code_hash: challenge.code_hash,
                link_expires_at: challenge.link_expires_at,
                code_expires_at: challenge.code_expires_at,
                attempts: 0,
                created_at: challenge.created_at,
            },
        );
        state.enqueue(&user.email, &challenge.email);
        Ok(IssueOutcome::Issued)
    }

    async fn verify_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(user_id) = state
            .mail
            .verifications
            .iter()
            .find(|(_, v)| &v.link_hash == link_hash && v.link_expires_at > now)
            .map(|(id, _)| id.clone())
        else {
            return Ok(None);
        };
        state.mail.verifications.remove(&user_id);
        state.mark_verified(&user_id, now);
        Ok(Some(user_id))
    }

    async fn verify_by_code(
        &self,
        email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<CodeCheck, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(user_id) = state
            .account(&UserLookup::Email(email.clone()))
            .map(|c| c.user.id.clone())
        else {
            return Ok(CodeCheck::Invalid);
        };
        let Some(challenge) = state.mail.verifications.get_mut(&user_id) else {
            return Ok(CodeCheck::Invalid);
        };
        if challenge.code_expires_at <= now || challenge.attempts >= max_attempts {
            return Ok(CodeCheck::Invalid);
        }
        if &challenge.code_hash != code_hash {
            challenge.attempts += 1;
            return Ok(CodeCheck::Wrong);
        }
        state.mail.verifications.remove(&user_id);
        state.mark_verified(&user_id, now);
        Ok(CodeCheck::Verified(user_id))
    }

    async fn issue_reset(
        &self,
        email: &Email,
        reset: &NewReset,
        min_interval: TimeDelta,
    ) -> Result<IssueOutcome, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(user) = state
            .account(&UserLookup::Email(email.clone()))
            .map(|c| c.user.clone())
        else {
            return Ok(IssueOutcome::NoAccount);
        };
        let previous = state.mail.resets.get(&user.id).map(|r| r.created_at);
        if too_soon(previous, reset.created_at, min_interval) {
            return Ok(IssueOutcome::Throttled);
        }
        state.mail.resets.insert(
            user.id.clone(),
            Reset {
                token_hash: reset.token_hash,
                expires_at: reset.expires_at,
                created_at: reset.created_at,
            },
        );
        state.enqueue(&user.email, &reset.email);
        Ok(IssueOutcome::Issued)
    }

    async fn reset_owner(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError> {
        Ok(crate::lock(&self.state)
            .mail
            .resets
            .iter()
            .find(|(_, r)| &r.token_hash == token_hash && r.expires_at > now)
            .map(|(id, _)| id.clone()))
    }

    async fn reset_password(
        &self,
        token_hash: &TokenHash,
        password_hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(user_id) = state
            .mail
            .resets
            .iter()
            .find(|(_, r)| &r.token_hash == token_hash && r.expires_at > now)
            .map(|(id, _)| id.clone())
        else {
            return Ok(None);
        };
        state.mail.resets.remove(&user_id);
        state.mail.verifications.remove(&user_id);
        state.mail.changes.remove(&user_id);
        if let Some(credentials) = state.users.get_mut(&user_id) {
            credentials.password_hash = password_hash.clone();
            credentials.user.is_verified = true;
            credentials.user.updated_at = now;
        }
        state.revoke_where(now, |s| s.user_id == user_id);
        state.revoke_credentials_of(&user_id, now);
        Ok(Some(user_id))
    }

    async fn issue_email_change(
        &self,
        user_id: &UserId,
        change: &NewEmailChange,
    ) -> Result<IssueOutcome, PortError> {
        Ok(self.state().issue_email_change(user_id, change))
    }

    async fn confirm_email_change_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<EmailChangeCheck, PortError> {
        Ok(self.state().confirm_email_change_by_link(link_hash, now))
    }

    async fn confirm_email_change_by_code(
        &self,
        new_email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<EmailChangeCheck, PortError> {
        Ok(self
            .state()
            .confirm_email_change_by_code(new_email, code_hash, now, max_attempts))
    }

    async fn purge_challenges(
        &self,
        now: DateTime<Utc>,
        issued_before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, PortError> {
        let mut state = crate::lock(&self.state);
        let mail = &mut state.mail;
        let batch = batch as usize;
        let verifications: Vec<UserId> = mail
            .verifications
            .iter()
            .filter(|(_, v)| {
                v.link_expires_at <= now
                    && v.code_expires_at <= now
                    && v.created_at <= issued_before
            })
            .map(|(user, _)| user.clone())
            .take(batch)
            .collect();
        for user in &verifications {
            mail.verifications.remove(user);
        }
        let resets: Vec<UserId> = mail
            .resets
            .iter()
            .filter(|(_, r)| r.expires_at <= now && r.created_at <= issued_before)
            .map(|(user, _)| user.clone())
            .take(batch)
            .collect();
        for user in &resets {
            mail.resets.remove(user);
        }
        let changes: Vec<UserId> = mail
            .changes
            .iter()
            .filter(|(_, c)| c.link_expires_at <= now && c.code_expires_at <= now)
            .map(|(user, _)| user.clone())
            .take(batch)
            .collect();
        for user in &changes {
            mail.changes.remove(user);
        }
        Ok((verifications.len() + resets.len() + changes.len()) as u64)
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: TimeDelta,
        limit: u32,
    ) -> Result<Vec<ClaimedEmail>, PortError> {
        let mut state = crate::lock(&self.state);
        let mut due: Vec<&mut Queued> = state
            .mail
            .outbox
            .iter_mut()
            .filter(|q| matches!(q.status, Status::Pending | Status::Sending) && q.due_at <= now)
            .collect();
        due.sort_by_key(|q| q.due_at);
        let mut claimed = Vec::new();
        for queued in due.into_iter().take(limit as usize) {
            let Some(content) = queued.content.clone() else {
                continue;
            };
            queued.status = Status::Sending;
            queued.attempts += 1;
            queued.due_at = now + lease;
            claimed.push(ClaimedEmail::new(
                queued.id.clone(),
                queued.to.clone(),
                content,
                queued.attempts,
                queued.created_at,
            ));
        }
        Ok(claimed)
    }

    async fn complete(&self, id: &EmailId, now: DateTime<Utc>) -> Result<(), PortError> {
        let mut state = crate::lock(&self.state);
        if let Some(queued) = state.queued(id) {
            queued.status = Status::Sent;
            queued.content = None;
            queued.finished_at = Some(now);
        }
        Ok(())
    }

    async fn retry_later(
        &self,
        id: &EmailId,
        retry_at: DateTime<Utc>,
        _error: &str,
    ) -> Result<(), PortError> {
        let mut state = crate::lock(&self.state);
        if let Some(queued) = state.queued(id) {
            queued.status = Status::Pending;
            queued.due_at = retry_at;
        }
        Ok(())
    }

    async fn give_up(
        &self,
        id: &EmailId,
        now: DateTime<Utc>,
        _error: &str,
    ) -> Result<(), PortError> {
        let mut state = crate::lock(&self.state);
        if let Some(queued) = state.queued(id) {
            queued.status = Status::Failed;
            queued.content = None;
            queued.finished_at = Some(now);
        }
        Ok(())
    }

    async fn purge_finished(
        &self,
        finished_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u64, PortError> {
        let mut state = crate::lock(&self.state);
        let mut left = limit;
        state.mail.outbox.retain(|queued| {
            let purge = left > 0
                && matches!(queued.status, Status::Sent | Status::Failed)
                && queued.finished_at.is_some_and(|at| at < finished_before);
            if purge {
                left -= 1;
            }
            !purge
        });
        Ok(u64::from(limit - left))
    }
}
