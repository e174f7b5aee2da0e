use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use super::UserLookup;
use crate::error::PortError;
use crate::model::{Email, NewEmail, PasswordHash, SessionId, UserId};
use crate::secret::TokenHash;

/// A verification challenge to store: the hashes of a link token and of a 6-digit code, and the email carrying
/// them in plain text.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewVerification {
    /// SHA-256 of the link token.
    pub link_hash: TokenHash,
    /// SHA-256 of the code.
    pub code_hash: TokenHash,
    /// When the link stops working.
    pub link_expires_at: DateTime<Utc>,
    /// When the code stops working.
    pub code_expires_at: DateTime<Utc>,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// The email to queue with it.
    pub email: NewEmail,
}

impl NewVerification {
    /// A challenge issued at `created_at`.
    pub fn new(
        (link_hash, link_expires_at): (TokenHash, DateTime<Utc>),
        (code_hash, code_expires_at): (TokenHash, DateTime<Utc>),
        created_at: DateTime<Utc>,
        email: NewEmail,
    ) -> Self {
        Self {
            link_hash,
            code_hash,
            link_expires_at,
            code_expires_at,
            created_at,
            email,
        }
    }
}

/// A password reset token to store (its hash) and the email carrying it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewReset {
    /// SHA-256 of the reset token.
    pub token_hash: TokenHash,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// The email to queue with it.
    pub email: NewEmail,
}

impl NewReset {
    /// A reset token issued at `created_at`.
    pub fn new(
        token_hash: TokenHash,
        expires_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
        email: NewEmail,
    ) -> Self {
        Self {
            token_hash,
            expires_at,
            created_at,
            email,
        }
    }
}

/// A requested change of an account's email address: the new address, the hashes of the link token and code that
/// confirm it, the email carrying them (to the new address) and the notice to the current one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewEmailChange {
    /// The address to move to.
    pub new_email: Email,
    /// SHA-256 of the link token.
    pub link_hash: TokenHash,
    /// SHA-256 of the code.
    pub code_hash: TokenHash,
    /// When the link stops working.
    pub link_expires_at: DateTime<Utc>,
    /// When the code stops working.
    pub code_expires_at: DateTime<Utc>,
    /// The session that asked: the change is stored only while it is active, and it survives the change (every
    /// other session of the account is revoked).
    pub requested_by: Option<SessionId>,
    /// Now.
    pub created_at: DateTime<Utc>,
    /// The link and code, queued to the new address.
    pub confirmation: NewEmail,
    /// Word of the request, queued to the current address at once.
    pub notice: NewEmail,
}

impl NewEmailChange {
    /// A change to `new_email` requested at `created_at`.
    #[allow(clippy::too_many_arguments)] // Each is one required fact of the change; a builder would only hide that.
    pub fn new(
        new_email: Email,
        (link_hash, link_expires_at): (TokenHash, DateTime<Utc>),
        (code_hash, code_expires_at): (TokenHash, DateTime<Utc>),
        requested_by: Option<SessionId>,
        created_at: DateTime<Utc>,
        confirmation: NewEmail,
        notice: NewEmail,
    ) -> Self {
        Self {
            new_email,
            link_hash,
            code_hash,
            link_expires_at,
            code_expires_at,
            requested_by,
            created_at,
            confirmation,
            notice,
        }
    }
}

/// The verdict on a presented email-change link or code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailChangeCheck {
    /// It matched: the account now has the new address, verified; its other sessions are revoked.
    Changed(UserId),
    /// A live code, but not this one: the wrong try has been counted (codes only).
    Wrong,
    /// No such pending change, an expired one, or a code burnt by too many wrong tries. Nothing was counted.
    Invalid,
    /// It matched, but another account has the address now: the change is dropped and nothing else changed.
    EmailTaken,
}

/// What became of a request to issue a challenge or a reset token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssueOutcome {
    /// Stored, and its email queued.
    Issued,
    /// The account had one issued less than the minimum interval ago: nothing was stored or queued.
    Throttled,
    /// The account's address is verified already: nothing to verify (verification challenges only).
    AlreadyVerified,
    /// Another account has the address asked for: nothing was stored or queued (email changes only).
    EmailTaken,
    /// No such account: nothing was stored or queued.
    NoAccount,
    /// The session that asked is no longer active (revoked or expired since the request was authenticated):
    /// nothing was stored or queued (email changes only).
    SessionEnded,
}

/// The verdict on a presented verification code.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeCheck {
    /// The code matched: the account is now verified and its challenge (link and code) spent.
    Verified(UserId),
    /// A live code, but not this one: the wrong try has been counted.
    Wrong,
    /// No account, no challenge, an expired code, or one burnt by too many wrong tries. Nothing was counted.
    Invalid,
}

/// Stores verification challenges (a link token and a code per account) and password reset tokens, each with the
/// email that carries it.
///
/// Each method is one atomic step: a challenge and its email are stored together or not at all (the email goes
/// into the same store's [`super::Outbox`]), so no state exists whose email was lost, and no email is sent for state
/// that was rolled back. Secrets are only ever given and stored as [`TokenHash`]es.
#[async_trait]
pub trait ChallengeRepository: Send + Sync {
    /// Stores a verification challenge for an account and queues its email to the account's address, replacing
    /// the account's previous challenge (whose link and code stop working), unless the account is unknown, already
    /// verified, or had a challenge issued less than `min_interval` before `challenge.created_at`.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn issue_verification(
        &self,
        account: &UserLookup,
        challenge: &NewVerification,
        min_interval: TimeDelta,
    ) -> Result<IssueOutcome, PortError>;

    /// Spends the challenge whose link token has this hash, if its link has not expired at `now`, and marks its
    /// account verified. Returns the account; `None` for an unknown, spent or expired link. Of concurrent uses of
    /// one link, exactly one gets the account.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn verify_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError>;

    /// Checks a code against the challenge of the account with this email address (compared in constant time).
    /// A match spends the challenge and marks the account verified; a mismatch counts one wrong try, in the store,
    /// so the count holds across instances and restarts. A code with `max_attempts` wrong tries counted is burnt.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn verify_by_code(
        &self,
        email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<CodeCheck, PortError>;

    /// Stores a reset token for the account with this email address and queues its email, replacing the account's
    /// previous reset token, unless there is no such account or the previous one was issued less than
    /// `min_interval` before `reset.created_at`. An unknown address costs the same lookup as a known one.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn issue_reset(
        &self,
        email: &Email,
        reset: &NewReset,
        min_interval: TimeDelta,
    ) -> Result<IssueOutcome, PortError>;

    /// The account of the reset token with this hash, when it exists and has not expired at `now`; changes
    /// nothing. Lets the service refuse a bad token before paying for a password hash, and check the new password
    /// against the account's email address and username.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn reset_owner(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError>;

    /// Spends a live reset token and, in the same transaction, sets its account's password hash, marks the
    /// account verified (its owner proved the mailbox), revokes every session, personal token and API key of the
    /// account, and spends its verification challenge and its pending email change. Returns the account; `None` for an unknown, spent or expired token. Of concurrent
    /// uses of one token, exactly one gets the account.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn reset_password(
        &self,
        token_hash: &TokenHash,
        password_hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, PortError>;

    /// Deletes, at most `batch` of each kind, the verification challenges whose link and code have both expired at
    /// `now` and the reset tokens that have, provided each was issued at or before `issued_before`, and the email
    /// changes whose link and code have both expired. (A spent
    /// challenge or token is already gone: spending deletes it.) The caller sets `issued_before` so that rows still
    /// needed to space out emails (the resend and reset intervals count from the last one issued) are kept.
    /// Returns how many rows were deleted; the caller repeats until it is 0.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; what was deleted before stays deleted.
    async fn purge_challenges(
        &self,
        now: DateTime<Utc>,
        issued_before: DateTime<Utc>,
        batch: u32,
    ) -> Result<u64, PortError>;

    /// Stores a pending change of `user_id`'s email address (replacing any earlier one, whose link and code stop
    /// working) and queues its two emails: the confirmation to the new address, the notice to the current one.
    ///
    /// Returns [`IssueOutcome::EmailTaken`] when another account has the new address's key,
    /// [`IssueOutcome::NoAccount`] for an unknown account, [`IssueOutcome::SessionEnded`] when
    /// [`NewEmailChange::requested_by`] names a session that is not active at [`NewEmailChange::created_at`] (so
    /// a reset or password change that revoked it, committed while this request was checking the password,
    /// wins), else [`IssueOutcome::Issued`].
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn issue_email_change(
        &self,
        user_id: &UserId,
        change: &NewEmailChange,
    ) -> Result<IssueOutcome, PortError>;

    /// Applies the pending email change whose link token has this hash, if its link has not expired at `now`: in
    /// one transaction, the account takes the new address (marked verified), the change and the account's
    /// verification challenge are spent, and every session but the one that asked is revoked at `now`. Of
    /// concurrent uses of one link, exactly one changes the address.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn confirm_email_change_by_link(
        &self,
        link_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<EmailChangeCheck, PortError>;

    /// As [`ChallengeRepository::confirm_email_change_by_link`], with the code sent to `new_email` (compared in
    /// constant time); a wrong code counts one try as [`ChallengeRepository::verify_by_code`] does, and a code with
    /// `max_attempts` wrong tries counted is burnt.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn confirm_email_change_by_code(
        &self,
        new_email: &Email,
        code_hash: &TokenHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<EmailChangeCheck, PortError>;
}
