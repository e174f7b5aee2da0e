//! Sessions (one per login) and the refresh tokens that keep them alive.

use chrono::{DateTime, Utc};

use super::{PasswordHash, SessionId, UserId};
use crate::secret::TokenHash;

/// What the client told us about itself when it logged in; shown in the session list.
///
/// Made with [`ClientInfo::new`], also by adapters reading a session back (it is idempotent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientInfo {
    /// The `User-Agent` header, truncated to [`ClientInfo::MAX_USER_AGENT`] characters.
    pub user_agent: Option<String>,
    /// The peer address.
    pub ip: Option<String>,
}

impl ClientInfo {
    /// Longest user agent kept, in characters.
    pub const MAX_USER_AGENT: usize = 256;

    /// Builds client information, truncating an overlong user agent rather than refusing the login.
    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> Self {
        Self {
            user_agent: user_agent.map(|agent| agent.chars().take(Self::MAX_USER_AGENT).collect()),
            ip,
        }
    }
}

/// A login session: the family of refresh tokens descending from one login.
///
/// A port record that adapters build: deliberately exhaustive, so that a new field fails to compile in every adapter
/// until it stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Opaque id (`ses_…`); access tokens carry it as `sid`.
    pub id: SessionId,
    /// The account it belongs to.
    pub user_id: UserId,
    /// When the login happened.
    pub created_at: DateTime<Utc>,
    /// When a refresh token of this session was last used.
    pub last_used_at: DateTime<Utc>,
    /// When the newest refresh token expires; the session is dead after that. Never later than
    /// [`Session::ends_at`].
    pub expires_at: DateTime<Utc>,
    /// The session's absolute end (its login plus the policy's maximum age): no rotation extends it.
    pub ends_at: DateTime<Utc>,
    /// When the session was revoked (logout, password change, reuse detection), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Client details recorded at login.
    pub client: ClientInfo,
}

/// A session to create, together with its first refresh token; made by the service.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewSession {
    /// Freshly generated id.
    pub id: SessionId,
    /// The account logging in.
    pub user_id: UserId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Client details.
    pub client: ClientInfo,
    /// The absolute end of the session: no refresh token of it may expire later (the first one's expiry included).
    pub ends_at: DateTime<Utc>,
    /// The first refresh token of the family.
    pub refresh_token: NewRefreshToken,
    /// The password hash the login verified. When set, the store creates the session only if it is still the
    /// account's hash, checked in the transaction that inserts the session: a password change or reset that
    /// lands between the verification and the insert must not leave a live session made with the old password.
    pub verified_password: Option<PasswordHash>,
    /// At most this many live sessions of the user once this one exists: the store revokes the oldest live ones
    /// beyond it (by login time) in the transaction that creates this one. `None` sets no cap.
    pub max_live_sessions: Option<u32>,
}

/// A refresh token to store: only its hash and its lifetime; made by the service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewRefreshToken {
    /// SHA-256 of the plain token.
    pub hash: TokenHash,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}
