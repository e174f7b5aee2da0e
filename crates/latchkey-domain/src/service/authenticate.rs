use super::Latchkey;
use crate::access::{AccessError, Principal, SessionPrincipal};
use crate::error::PortError;
use crate::model::{CredentialKind, User};
use crate::policy::CredentialPolicy;
use crate::ports::{AccessClaims, DecodeError};

/// Why a caller was refused: its credential (401 over HTTP), or what the credential may do (403).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Well signed, but past its `exp`.
    #[error("token has expired")]
    TokenExpired,
    /// Anything else: malformed, badly signed, not yet valid, or its session revoked.
    #[error("could not validate credentials")]
    InvalidToken,
    /// The credential is valid but may not do this (only from use cases that check a scope).
    #[error(transparent)]
    Forbidden(#[from] AccessError),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl From<DecodeError> for AuthError {
    fn from(DecodeError::Invalid: DecodeError) -> Self {
        Self::InvalidToken
    }
}

/// Tolerated clock skew between the instance that issued a token and the one checking its `nbf`.
const NOT_BEFORE_LEEWAY_SECONDS: i64 = 30;

impl Latchkey {
    /// Checks a bearer token: an access token (signature, lifetime, and that its session is still live; the
    /// principal's credential is that session) or a personal token (`lk_pat_…`, told apart by its prefix, never by
    /// trying to parse it; see [`Latchkey::authenticate_api_key`] for how it is checked).
    ///
    /// Costs one signature check and one indexed lookup; a revoked session's tokens are refused at once.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`], [`AuthError::InvalidToken`] or [`AuthError::Unavailable`].
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        if access_token.starts_with(CredentialPolicy::PERSONAL_TOKEN_PREFIX) {
            let (principal, _) = self
                .authenticate_credential(access_token, CredentialKind::PersonalToken)
                .await?;
            return Ok(principal);
        }
        let session = self.verify_access_token(access_token)?;
        if !self
            .ports
            .sessions
            .is_active(session.session_id(), session.user_id(), self.now())
            .await?
        {
            return Err(AuthError::InvalidToken);
        }
        Ok(session.into())
    }

    /// As [`Latchkey::authenticate`], also returning the caller's account, for the same single lookup.
    ///
    /// # Errors
    /// As [`Latchkey::authenticate`]; a deleted account is [`AuthError::InvalidToken`].
    pub async fn authenticate_user(
        &self,
        access_token: &str,
    ) -> Result<(Principal, User), AuthError> {
        if access_token.starts_with(CredentialPolicy::PERSONAL_TOKEN_PREFIX) {
            return self
                .authenticate_credential(access_token, CredentialKind::PersonalToken)
                .await;
        }
        let session = self.verify_access_token(access_token)?;
        let user = self
            .ports
            .users
            .find_by_active_session(session.session_id(), session.user_id(), self.now())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        Ok((session.into(), user))
    }

    /// Checks an API key (`X-API-Key`): its checksum, then one lookup by hash. The principal carries the key's
    /// scopes; the account comes with it.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`] for an expired key, [`AuthError::InvalidToken`] for any other unusable one
    /// (malformed, mistyped, unknown, revoked), [`AuthError::Unavailable`].
    pub async fn authenticate_api_key(
        &self,
        api_key: &str,
    ) -> Result<(Principal, User), AuthError> {
        self.authenticate_credential(api_key, CredentialKind::ApiKey)
            .await
    }

    /// Checks what the token itself says and names its session (which the caller still has to check is live).
    fn verify_access_token(&self, access_token: &str) -> Result<SessionPrincipal, AuthError> {
        let claims = self.access_claims(access_token)?;
        Ok(SessionPrincipal::new(claims.user_id, claims.session_id))
    }

    /// The claims of an access token whose signature and claims the codec accepts and whose lifetime holds by the
    /// clock. Says nothing about its session.
    pub(super) fn access_claims(&self, access_token: &str) -> Result<AccessClaims, AuthError> {
        let claims = self.ports.access_tokens.decode(access_token)?;
        let now = self.now();
        if claims.expires_at <= now {
            return Err(AuthError::TokenExpired);
        }
        if claims.issued_at > now + chrono::TimeDelta::seconds(NOT_BEFORE_LEEWAY_SECONDS) {
            return Err(AuthError::InvalidToken);
        }
        Ok(claims)
    }
}
