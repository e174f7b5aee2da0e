use super::throttle::{Action, TooManyAttempts};
use super::{Latchkey, TokenPair, REFRESH_TOKEN_PREFIX};
use crate::error::PortError;
use crate::model::{ClientInfo, EventKind, EventOutcome};
use crate::ports::{RotationOutcome, RotationRequest};
use crate::secret::PlainSecret;

/// Why a refresh was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Unknown, expired, revoked or replayed refresh token. A replay has also revoked the session.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// Too many refreshes from this client address.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Spends a refresh token and returns a new pair (rotation).
    ///
    /// Presenting a spent token again within the configured grace returns the same new pair (the client lost the
    /// response); later, it is treated as theft (RFC 9700 §4.14.2) and revokes the whole session.
    ///
    /// # Errors
    /// [`RefreshError::InvalidRefreshToken`], [`RefreshError::TooManyAttempts`] (counted per client address) or
    /// [`RefreshError::Unavailable`].
    pub async fn refresh(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, RefreshError> {
        let _counted = self.count_attempt(Action::Refresh, None, client).await??;
        let presented = PlainSecret::new(presented);
        let successor = self
            .ports
            .secrets
            .successor(REFRESH_TOKEN_PREFIX, &presented);
        let tokens = &self.policies.tokens;
        let request = RotationRequest {
            presented: presented.hash(),
            successor: successor.hash(),
            successor_ttl: tokens.refresh_ttl(),
            now: self.now(),
            grace: tokens.refresh_reuse_grace(),
        };
        match self.ports.sessions.rotate(&request).await? {
            RotationOutcome::Rotated {
                session_id,
                user_id,
                rotated_at,
                session_ends_at,
            }
            | RotationOutcome::Retried {
                session_id,
                user_id,
                rotated_at,
                session_ends_at,
            } => Ok(self.token_pair(
                &user_id,
                &session_id,
                successor,
                rotated_at,
                session_ends_at,
            )?),
            RotationOutcome::ReuseDetected {
                session_id,
                user_id,
            } => {
                tracing::warn!("refresh token replayed after rotation; its session was revoked");
                self.record(
                    EventKind::RefreshReuseDetected,
                    EventOutcome::Refused,
                    Some(&user_id),
                    Some(session_id.as_str()),
                    client,
                )
                .await;
                Err(RefreshError::InvalidRefreshToken)
            }
            RotationOutcome::Rejected => Err(RefreshError::InvalidRefreshToken),
        }
    }
}
