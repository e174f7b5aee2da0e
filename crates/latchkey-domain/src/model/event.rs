//! Security events: who did what security-relevant thing, when, from where, and how it ended. Never a secret.

use chrono::{DateTime, Utc};

use super::{ClientInfo, EventId, UserId};

/// What happened. Stored and shown by [`EventKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// An account was created.
    Registered,
    /// A login (password, OAuth2 password grant): `success`, `failure`, or `refused` (right password, but the
    /// address must be verified first).
    Login,
    /// A session ended by logout (one session, or all of them).
    Logout,
    /// A session revoked from the session list.
    SessionRevoked,
    /// A spent refresh token was presented again: its session was revoked.
    RefreshReuseDetected,
    /// The password was changed (`success`), or the current password given was wrong (`failure`).
    PasswordChanged,
    /// The password was reset with an emailed link.
    PasswordReset,
    /// The email address was verified.
    EmailVerified,
    /// A personal access token was created.
    TokenCreated,
    /// A personal access token was given a new secret.
    TokenRotated,
    /// A personal access token was revoked.
    TokenRevoked,
    /// An API key was created.
    KeyCreated,
    /// An API key was given a new secret.
    KeyRotated,
    /// An API key was revoked.
    KeyRevoked,
    /// A rate limit refused an attempt; the event's subject names the action.
    Throttled,
    /// The profile (name, username, phone, metadata) was changed; the subject lists the fields.
    ProfileUpdated,
    /// A change of email address was requested (`success`), or refused for a wrong password (`failure`).
    EmailChangeRequested,
    /// The new address of an email change was verified and is now the account's.
    EmailChanged,
    /// An operator disabled the account: every session and credential ended.
    AccountDisabled,
    /// An operator enabled the account again.
    AccountEnabled,
    /// The account was deleted (by its owner, or an operator: the subject says which). Kept without the account,
    /// its address or user agent: the account id in the subject is all that remains.
    AccountDeleted,
    /// An operator granted or took credits (`latchkey credits grant`); the subject is the ledger entry.
    CreditsGranted,
    /// A charge was refunded; the subject is the charge.
    ChargeRefunded,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 23] = [
        Self::Registered,
        Self::Login,
        Self::Logout,
        Self::SessionRevoked,
        Self::RefreshReuseDetected,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::EmailVerified,
        Self::TokenCreated,
        Self::TokenRotated,
        Self::TokenRevoked,
        Self::KeyCreated,
        Self::KeyRotated,
        Self::KeyRevoked,
        Self::Throttled,
        Self::ProfileUpdated,
        Self::EmailChangeRequested,
        Self::EmailChanged,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::AccountDeleted,
        Self::CreditsGranted,
        Self::ChargeRefunded,
    ];

    /// The stored and displayed name, e.g. `login` or `token_created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Login => "login",
            Self::Logout => "logout",
            Self::SessionRevoked => "session_revoked",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
            Self::TokenCreated => "token_created",
            Self::TokenRotated => "token_rotated",
            Self::TokenRevoked => "token_revoked",
            Self::KeyCreated => "key_created",
            Self::KeyRotated => "key_rotated",
            Self::KeyRevoked => "key_revoked",
            Self::Throttled => "throttled",
            Self::ProfileUpdated => "profile_updated",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::AccountDeleted => "account_deleted",
            Self::CreditsGranted => "credits_granted",
            Self::ChargeRefunded => "charge_refunded",
        }
    }

    /// The kind named `name` (as [`EventKind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventOutcome {
    /// It was done.
    Success,
    /// It was attempted with wrong credentials.
    Failure,
    /// It was refused for a reason other than wrong credentials (a limit, an unverified address).
    Refused,
}

impl EventOutcome {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
        }
    }

    /// The outcome named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Success, Self::Failure, Self::Refused]
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

/// One security event, as stored.
///
/// A port record that adapters build: deliberately exhaustive, so that a new field fails to compile in every adapter
/// until it stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// Opaque id (`evt_…`).
    pub id: EventId,
    /// The account it concerns; `None` for an attempt naming no account (a failed login for an unknown address).
    pub user_id: Option<UserId>,
    /// What happened.
    pub kind: EventKind,
    /// How it ended.
    pub outcome: EventOutcome,
    /// What it acted on, never a secret: a session id, a token or key id, or a throttled action's name.
    pub subject: Option<String>,
    /// Where the request came from.
    pub client: ClientInfo,
    /// When it happened.
    pub at: DateTime<Utc>,
}
