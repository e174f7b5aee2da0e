use chrono::{DateTime, Utc};

use super::Latchkey;
use crate::access::SessionPrincipal;
use crate::error::PortError;
use crate::model::{ClientInfo, EventKind, EventOutcome, Session, SessionId};

/// Which sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutScope {
    /// Only the calling session.
    ThisSession,
    /// Every session of the user, on every device.
    AllSessions,
}

/// A session as its owner sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionView {
    /// Session id.
    pub id: SessionId,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Last refresh.
    pub last_used_at: DateTime<Utc>,
    /// When it expires unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// Client details recorded at login.
    pub client: ClientInfo,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// Why a session could not be revoked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeSessionError {
    /// No active session with that id belongs to the caller.
    #[error("session not found")]
    NotFound,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Ends the calling session, or all of the user's sessions. Their refresh and access tokens are refused from
    /// now on.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn logout(
        &self,
        principal: &SessionPrincipal,
        scope: LogoutScope,
    ) -> Result<(), PortError> {
        let now = self.now();
        let subject = match scope {
            LogoutScope::ThisSession => principal.session_id().as_str(),
            LogoutScope::AllSessions => "all",
        };
        match scope {
            LogoutScope::ThisSession => {
                // Already revoked is fine: logging out twice is not an error.
                self.ports
                    .sessions
                    .revoke(principal.session_id(), principal.user_id(), now)
                    .await?;
            }
            LogoutScope::AllSessions => {
                self.ports
                    .sessions
                    .revoke_all(principal.user_id(), now)
                    .await?;
            }
        }
        self.record(
            EventKind::Logout,
            EventOutcome::Success,
            Some(principal.user_id()),
            Some(subject),
            principal.client(),
        )
        .await;
        Ok(())
    }

    /// The caller's live sessions, newest first, marking the current one.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn list_sessions(
        &self,
        principal: &SessionPrincipal,
    ) -> Result<Vec<SessionView>, PortError> {
        let sessions = self
            .ports
            .sessions
            .list_active(principal.user_id(), self.now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session: Session| SessionView {
                current: &session.id == principal.session_id(),
                id: session.id,
                created_at: session.created_at,
                last_used_at: session.last_used_at,
                expires_at: session.expires_at,
                client: session.client,
            })
            .collect())
    }

    /// Revokes one of the caller's sessions.
    ///
    /// # Errors
    /// [`RevokeSessionError::NotFound`] when the id names no active session of the caller (someone else's session
    /// is reported the same way, so ids cannot be probed), or [`RevokeSessionError::Unavailable`].
    pub async fn revoke_session(
        &self,
        principal: &SessionPrincipal,
        session_id: &SessionId,
    ) -> Result<(), RevokeSessionError> {
        if self
            .ports
            .sessions
            .revoke(session_id, principal.user_id(), self.now())
            .await?
        {
            self.record(
                EventKind::SessionRevoked,
                EventOutcome::Success,
                Some(principal.user_id()),
                Some(session_id.as_str()),
                principal.client(),
            )
            .await;
            Ok(())
        } else {
            Err(RevokeSessionError::NotFound)
        }
    }
}
