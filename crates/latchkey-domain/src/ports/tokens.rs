use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::model::{SessionId, UserId};

/// The claims of an access token that the domain decides on.
///
/// Issuer, audience and token type are the codec's configuration: it sets them on encoding and checks them on
/// decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// `sub`: the user.
    pub user_id: UserId,
    /// `sid`: the session, checked for revocation on every request.
    pub session_id: SessionId,
    /// `jti`: unique token id.
    pub token_id: String,
    /// `iat` and `nbf`.
    pub issued_at: DateTime<Utc>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Why a presented access token was refused by the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Malformed, badly signed, signed with another algorithm, or with the wrong issuer, audience or type.
    #[error("invalid access token")]
    Invalid,
}

/// Signs and checks access tokens.
///
/// Time is not the codec's business: [`AccessTokenCodec::decode`] must not reject a token for its `exp` or `nbf`;
/// the domain compares them with its [`super::Clock`], so tests can move time.
pub trait AccessTokenCodec: Send + Sync {
    /// Encodes and signs the claims.
    ///
    /// # Errors
    /// [`PortError`] when signing fails (a misconfigured key).
    fn encode(&self, claims: &AccessClaims) -> Result<String, PortError>;

    /// Verifies the signature, the pinned algorithm, issuer, audience and type, and returns the claims.
    ///
    /// # Errors
    /// [`DecodeError::Invalid`] for any token this codec did not issue.
    fn decode(&self, token: &str) -> Result<AccessClaims, DecodeError>;
}
