use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::PortError;
use crate::model::{
    EventId, EventKind, EventOutcome, NewSession, SecurityEvent, Session, SessionId, UserId,
};
use crate::policy::Rate;
use crate::ports::LimitKey;
use crate::secret::TokenHash;

/// A successful login's writes, which the store commits in one transaction: the new session, the login's security
/// event (and a `session_revoked` event for each session its cap ends), the client address the account logged in
/// from, and the counted attempts the right password gives back.
///
/// One commit instead of one per write (up to five with both login limits on): logins are the writes a deployment
/// makes most, and each commit is a WAL flush on PostgreSQL and a turn of the write lock on SQLite. Committed together,
/// a session never exists without its `login` event, and a session the store refuses leaves none of the rest behind.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewLogin {
    /// The session, as [`SessionRepository::create`] takes it.
    pub session: NewSession,
    /// The login's event. Its account must be the session's: the session's insert is what proves, in the same
    /// transaction, that the account still exists.
    pub event: SecurityEvent,
    /// The client's address as the account's known address (see [`crate::ports::RateLimiter::remember_address`]),
    /// remembered as seen at the session's `created_at`; `None` when the client gave no address.
    pub known_address: Option<LimitKey>,
    /// Attempts counted against their limits before the password was checked, given back (see
    /// [`crate::ports::RateLimiter::release`]): a right password is no failure.
    pub forgiven: Vec<(LimitKey, Rate)>,
}

impl NewLogin {
    /// The writes of a login that starts `session` and records `event`, remembering no address and giving back
    /// nothing.
    pub fn new(session: NewSession, event: SecurityEvent) -> Self {
        Self {
            session,
            event,
            known_address: None,
            forgiven: Vec::new(),
        }
    }

    /// Also remembers `address` as one the account logged in from.
    #[must_use]
    pub fn remembering(mut self, address: LimitKey) -> Self {
        self.known_address = Some(address);
        self
    }

    /// Also gives back these counted attempts.
    #[must_use]
    pub fn forgiving(mut self, attempts: Vec<(LimitKey, Rate)>) -> Self {
        self.forgiven = attempts;
        self
    }

    /// The `session_revoked` event the store records, in the login's own commit, for `ended`: the `index`-th (from
    /// 0) of the live sessions the login's cap revoked (see [`NewSession::max_live_sessions`]). It has the login
    /// event's account, client and time, `ended` as its subject, and an id of its own derived from the login
    /// event's, so the store needs no id generator and each ended session gets a distinct event.
    pub fn ended_session_event(&self, index: usize, ended: &SessionId) -> SecurityEvent {
        let login_id = self.event.id.as_str();
        let body = login_id.strip_prefix(EventId::PREFIX).unwrap_or(login_id);
        SecurityEvent {
            id: EventId::from_random(&format!("{body}_{index}")),
            kind: EventKind::SessionRevoked,
            outcome: EventOutcome::Success,
            subject: Some(ended.as_str().to_owned()),
            ..self.event.clone()
        }
    }
}

/// A request to spend a refresh token and store its successor.
#[derive(Debug, Clone)]
pub struct RotationRequest {
    /// Hash of the refresh token the client presented.
    pub presented: TokenHash,
    /// Hash of its successor (deterministic: see [`crate::ports::SecretGenerator::successor`]).
    pub successor: TokenHash,
    /// Lifetime of the successor, counted from the rotation.
    pub successor_ttl: TimeDelta,
    /// Now.
    pub now: DateTime<Utc>,
    /// How long after a rotation the spent token may be retried.
    pub grace: TimeDelta,
}

/// What happened to a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The token was live: it is now spent and its successor stored, expiring `rotated_at + successor_ttl` or at
    /// the session's absolute end, whichever comes first.
    Rotated {
        /// The session the token belongs to.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
        /// The instant of the rotation (now).
        rotated_at: DateTime<Utc>,
        /// The session's absolute end, which no token of it outlives.
        session_ends_at: DateTime<Utc>,
    },
    /// The token was spent less than `grace` ago, by a rotation to this same successor which is still unused: a
    /// client retrying after a lost response. Nothing changed.
    Retried {
        /// The session the token belongs to.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
        /// The instant of the original rotation, so the caller can rebuild the same access token.
        rotated_at: DateTime<Utc>,
        /// The session's absolute end, which no token of it outlives.
        session_ends_at: DateTime<Utc>,
    },
    /// The token was spent earlier (or its successor already used): it was replayed, so the whole session has been
    /// revoked.
    ReuseDetected {
        /// The session the replayed token belonged to, now revoked.
        session_id: SessionId,
        /// Its user.
        user_id: UserId,
    },
    /// Unknown, expired, or belonging to a revoked or expired session (or one past its absolute end).
    Rejected,
}

/// Why a session was not created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateSessionError {
    /// [`NewSession::verified_password`] is no longer the account's password hash (the password was changed or
    /// reset since the login checked it), or the account is gone or disabled. Nothing was written.
    #[error("the credentials this session was started with are no longer current")]
    StaleCredentials,
    /// The store failed; nothing was written.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// A login's session as [`SessionRepository::create_login`] stored it, and the revocations of the sessions its cap
/// ended.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedLogin {
    /// The new session.
    pub session: Session,
    /// The `session_revoked` events the store recorded in the login's commit, one for each live session the login
    /// revoked to stay within [`NewSession::max_live_sessions`] (usually none, one at the cap), each built by
    /// [`NewLogin::ended_session_event`] with the ended session as its subject: the owner sees why a device was
    /// logged out, and no crash between two commits can hide it. (Events rather than bare session ids, so an
    /// adapter written before the store recorded them fails to compile instead of silently recording none.)
    pub revocations: Vec<SecurityEvent>,
}

/// Stores sessions and refresh tokens.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Creates a session with its first refresh token, in one transaction.
    ///
    /// When [`NewSession::verified_password`] is set, the account's stored hash is compared with it in that same
    /// transaction, under a lock (or the store's write lock) that a concurrent password change waits for: either
    /// the change comes first and the creation is refused, or the session comes first and the change's revocation
    /// of the other sessions ends it. The same holds for an operator disabling the account: a disabled account gets
    /// no new session.
    ///
    /// With [`NewSession::max_live_sessions`], the user's oldest live sessions (neither revoked nor expired at the
    /// new session's `created_at`; oldest by `created_at`, then id) are revoked in that transaction so that no more
    /// than the cap are live once it commits, also under concurrent logins of one user.
    ///
    /// # Errors
    /// - [`CreateSessionError::StaleCredentials`] when the verified hash is no longer the account's (or the
    ///   account is gone, or disabled); nothing is written then.
    /// - [`CreateSessionError::Unavailable`] when the store fails (including a duplicate token hash); nothing is
    ///   written then.
    async fn create(&self, session: &NewSession) -> Result<Session, CreateSessionError>;

    /// Creates the login's session exactly as [`SessionRepository::create`] does and, in the same transaction,
    /// records its event and a [`NewLogin::ended_session_event`] for each session its cap revoked, remembers its
    /// address and gives back its forgiven attempts (see [`NewLogin`]).
    ///
    /// Required rather than provided: a default made of separate writes would let an implementation that forgot it
    /// lose events silently.
    ///
    /// # Errors
    /// As [`SessionRepository::create`]; with either error nothing of the login is written: no session, no event, no
    /// address, and the attempts stay counted.
    async fn create_login(&self, login: &NewLogin) -> Result<CreatedLogin, CreateSessionError>;

    /// Spends a refresh token and stores its successor, atomically: of two concurrent rotations of one token, one
    /// gets [`RotationOutcome::Rotated`] and the other sees the spent token.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; nothing is written then.
    async fn rotate(&self, request: &RotationRequest) -> Result<RotationOutcome, PortError>;

    /// `true` when the session exists, belongs to `user_id`, is not revoked and has not expired at `now` (its
    /// `expires_at`, which never passes its absolute end). Runs on every authenticated request, so it must be a
    /// single indexed lookup.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn is_active(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// The user's sessions that are neither revoked nor expired at `now`, newest first.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn list_active(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, PortError>;

    /// Revokes one session of the user. Returns `false` when no such active session belongs to the user.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    async fn revoke(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Revokes the session that a refresh token belongs to, whether the token is live or already spent, as long as
    /// it has not expired at `now` (what an OAuth2 revocation request, RFC 7009, asks of a refresh token). Returns
    /// the session this call revoked (as revoked: its owner is whose event it is), `None` when no stored token has
    /// this hash, the token has expired, or its session was already revoked.
    ///
    /// A spent token counts because presenting it to [`SessionRepository::rotate`] after the grace revokes the
    /// session anyway; an expired one does not, because `rotate` ignores it too. One atomic step.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then nothing was revoked.
    async fn revoke_by_refresh_token(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, PortError>;

    /// Deletes, in batches of at most `batch` rows each, the refresh tokens that expired at or before `now` and the
    /// sessions that did (revoked or not; a session expires with its newest refresh token). Returns how many rows
    /// were deleted; the caller repeats until it is 0.
    ///
    /// Nothing deleted could still change an answer: every path refuses an expired token whether or not it is
    /// stored. A spent token of a live session is kept until its own expiry, since presenting it before then is
    /// reuse that must revoke the session; a revoked session is kept until its last token would have expired, so
    /// such a token presented before then is still known as one of a revoked session. One statement per table.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; what was deleted before stays deleted.
    async fn purge_sessions(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, PortError>;

    /// Revokes every active session of the user; returns how many were revoked.
    ///
    /// # Errors
    /// [`PortError`] when the store fails; then none was revoked.
    async fn revoke_all(&self, user_id: &UserId, now: DateTime<Utc>) -> Result<u64, PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClientInfo;

    fn login() -> NewLogin {
        let at = DateTime::UNIX_EPOCH;
        let user_id = UserId::from_random("jane");
        let session = NewSession {
            id: SessionId::from_random("new"),
            user_id: user_id.clone(),
            created_at: at,
            client: ClientInfo::default(),
            ends_at: at,
            refresh_token: crate::model::NewRefreshToken {
                hash: TokenHash::of("token"),
                issued_at: at,
                expires_at: at,
            },
            verified_password: None,
            max_live_sessions: Some(1),
        };
        let event = SecurityEvent {
            id: EventId::from_random("login"),
            user_id: Some(user_id),
            kind: EventKind::Login,
            outcome: EventOutcome::Success,
            subject: None,
            client: ClientInfo::default(),
            at,
        };
        NewLogin::new(session, event)
    }

    #[test]
    fn each_ended_session_gets_its_own_revocation_event_of_the_login() {
        let login = login();
        let (first, second) = (SessionId::from_random("a"), SessionId::from_random("b"));
        let events = [
            login.ended_session_event(0, &first),
            login.ended_session_event(1, &second),
        ];
        for (event, ended) in events.iter().zip([&first, &second]) {
            assert_eq!(event.kind, EventKind::SessionRevoked);
            assert_eq!(event.outcome, EventOutcome::Success);
            assert_eq!(event.subject.as_deref(), Some(ended.as_str()));
            assert_eq!(
                (&event.user_id, &event.client, event.at),
                (&login.event.user_id, &login.event.client, login.event.at)
            );
            assert_ne!(event.id, login.event.id);
            assert!(EventId::parse(event.id.as_str()).is_some());
        }
        assert_eq!(
            events[0].id.as_str(),
            "evt_login_0",
            "derived from the login's, not random"
        );
        assert_eq!(events[1].id.as_str(), "evt_login_1");
    }

    #[test]
    fn a_login_id_too_long_to_extend_still_gives_distinct_revocation_ids() {
        let mut login = login();
        // A generator's body of the longest an id takes: `_0` would pass the limit, so the id is a digest instead.
        login.event.id = EventId::from_random(&"a".repeat(64));
        let (first, second) = (
            login.ended_session_event(0, &SessionId::from_random("a")),
            login.ended_session_event(1, &SessionId::from_random("b")),
        );
        for event in [&first, &second] {
            assert!(EventId::parse(event.id.as_str()).is_some());
            assert_ne!(event.id, login.event.id);
        }
        assert_ne!(first.id, second.id);
    }
}
