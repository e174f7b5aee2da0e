//! What the OAuth2 revocation (RFC 7009) and introspection (RFC 7662) endpoints ask of any credential Latchkey
//! issues: end it, or say whether it is live and what it may do.
//!
//! Both use cases first tell what kind of credential a presented string is, from its form alone
//! ([`Presented::classify`]), then give each kind one match arm. A new kind of credential is one variant of
//! [`Presented`], one line in `classify`, and one arm in each of [`Latchkey::revoke_token`] and
//! [`Latchkey::introspect`]; the compiler points at every arm missing.

use chrono::{DateTime, Utc};

use super::{Latchkey, REFRESH_TOKEN_PREFIX};
use crate::access::{Principal, SessionPrincipal};
use crate::error::PortError;
use crate::secret::TokenHash;

/// What an introspection found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Introspection {
    /// The credential is live: a request bearing it now would be authenticated as [`ActiveToken::principal`].
    Active(ActiveToken),
    /// Unknown, malformed, expired or revoked, or not a credential a resource server accepts (a refresh token).
    /// Deliberately says no more (RFC 7662 §2.2).
    Inactive,
}

/// A live credential, as introspection describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActiveToken {
    /// Whose it is and which credential it is; its scopes are [`Principal::scopes`].
    pub principal: Principal,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it expires, if it does (API keys may not).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why a revocation could not be carried out. An unknown, expired or already revoked token is no error: RFC 7009
/// answers those as a success, so that the answer tells nothing about the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevokeTokenError {
    /// A port failed; the token may still be live.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Why an introspection could not be answered. A bad token is no error but [`Introspection::Inactive`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntrospectError {
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// A presented token, by the kind of credential its form says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presented<'a> {
    /// `lkr_…`.
    RefreshToken(&'a str),
    /// Anything without a known prefix is tried as an access token (a JWT); what is none fails to decode.
    AccessToken(&'a str),
}

impl<'a> Presented<'a> {
    fn classify(token: &'a str) -> Self {
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            Self::RefreshToken(token)
        } else {
            Self::AccessToken(token)
        }
    }
}

impl Latchkey {
    /// Revokes whatever credential `token` is (RFC 7009), for whoever holds it: a leaked secret can be ended by
    /// whoever finds it.
    ///
    /// - A refresh token (live or spent, not expired) ends its session, and so every token of the session: a
    ///   replayed spent token would end it through reuse detection anyway.
    /// - A live access token ends its session, as `logout` with it would.
    /// - Anything else (unknown, malformed, expired, already revoked) changes nothing, and is no error.
    ///
    /// # Errors
    /// [`RevokeTokenError::Unavailable`] when the store fails.
    pub async fn revoke_token(&self, token: &str) -> Result<(), RevokeTokenError> {
        let now = self.now();
        match Presented::classify(token) {
            Presented::RefreshToken(token) => {
                self.ports
                    .sessions
                    .revoke_by_refresh_token(&TokenHash::of(token), now)
                    .await?;
            }
            Presented::AccessToken(token) => {
                // An expired access token ends nothing: its holder could no longer log out with it either.
                if let Ok(claims) = self.access_claims(token) {
                    self.ports
                        .sessions
                        .revoke(&claims.session_id, &claims.user_id, now)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Says whether `token` is a live credential and, if so, whose and with which scopes (RFC 7662). Reflects
    /// revocation at once: it checks the session (or credential) in the store, as [`Latchkey::authenticate`] does.
    ///
    /// Refresh tokens are [`Introspection::Inactive`]: no resource server should accept one as a credential.
    ///
    /// # Errors
    /// [`IntrospectError::Unavailable`] when the store fails.
    pub async fn introspect(&self, token: &str) -> Result<Introspection, IntrospectError> {
        match Presented::classify(token) {
            Presented::RefreshToken(_) => Ok(Introspection::Inactive),
            Presented::AccessToken(token) => {
                let Ok(claims) = self.access_claims(token) else {
                    return Ok(Introspection::Inactive);
                };
                let session = SessionPrincipal::new(claims.user_id, claims.session_id);
                if !self
                    .ports
                    .sessions
                    .is_active(session.session_id(), session.user_id())
                    .await?
                {
                    return Ok(Introspection::Inactive);
                }
                Ok(Introspection::Active(ActiveToken {
                    principal: session.into(),
                    issued_at: claims.issued_at,
                    expires_at: Some(claims.expires_at),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_told_by_their_prefix_and_anything_else_is_tried_as_a_jwt() {
        assert_eq!(
            Presented::classify("lkr_abc"),
            Presented::RefreshToken("lkr_abc")
        );
        for other in ["eyJhbGciOi.x.y", "", "lkr", "LKR_abc", "garbage"] {
            assert_eq!(Presented::classify(other), Presented::AccessToken(other));
        }
    }
}
