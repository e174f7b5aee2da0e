//! What the OAuth2 revocation (RFC 7009) and introspection (RFC 7662) endpoints ask of any credential Latchkey
//! issues: end it, or say whether it is live and what it may do.
//!
//! Both use cases first tell what kind of credential a presented string is, from its form alone
//! ([`Presented::classify`]), then give each kind one match arm. A new kind of credential is one variant of
//! [`Presented`], one line in `classify`, and one arm in each of [`Latchkey::revoke_token`] and
//! [`Latchkey::introspect`]; the compiler points at every arm missing.

use chrono::{DateTime, Utc};

use super::credentials::{principal_of, CredentialEvent};
use super::{AuthError, Latchkey, REFRESH_TOKEN_PREFIX};
use crate::access::{Principal, SessionPrincipal};
use crate::error::PortError;
use crate::model::{ClientInfo, CredentialKind, EventKind, EventOutcome};
use crate::policy::CredentialPolicy;
use crate::ports::CredentialMatch;
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
    /// When it was issued (a personal token's or API key's creation: rotation keeps it).
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
    /// A personal token (`lk_pat_…`) or an API key (the configured prefix, `sk_live_…` by default).
    Credential(&'a str, CredentialKind),
    /// Anything without a known prefix is tried as an access token (a JWT); what is none fails to decode.
    AccessToken(&'a str),
}

impl<'a> Presented<'a> {
    /// Tells the kind by prefix, never by trying to parse; the prefixes are distinct by construction
    /// ([`CredentialPolicy::with_api_key_prefix`]).
    fn classify(token: &'a str, api_key_prefix: &str) -> Self {
        if token.starts_with(REFRESH_TOKEN_PREFIX) {
            Self::RefreshToken(token)
        } else if token.starts_with(CredentialPolicy::PERSONAL_TOKEN_PREFIX) {
            Self::Credential(token, CredentialKind::PersonalToken)
        } else if token.starts_with(api_key_prefix) {
            Self::Credential(token, CredentialKind::ApiKey)
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
    /// - A personal token or API key (expired or not) is revoked, as its owner's `revoke_credential` would.
    /// - Anything else (unknown, malformed, expired, already revoked) changes nothing, and is no error.
    ///
    /// What it revokes is recorded in the owner's security events (`session_revoked`, `token_revoked`,
    /// `key_revoked`, with `client` as the requester); a request that changed nothing records nothing.
    ///
    /// # Errors
    /// [`RevokeTokenError::Unavailable`] when the store fails.
    pub async fn revoke_token(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), RevokeTokenError> {
        let now = self.now();
        let (kind, user_id, subject) = match self.classify(token) {
            Presented::RefreshToken(token) => {
                let Some(session) = self
                    .ports
                    .sessions
                    .revoke_by_refresh_token(&TokenHash::of(token), now)
                    .await?
                else {
                    return Ok(());
                };
                (
                    EventKind::SessionRevoked,
                    session.user_id,
                    session.id.as_str().to_owned(),
                )
            }
            Presented::Credential(secret, kind) => {
                let Some(CredentialMatch { credential, .. }) =
                    self.find_credential_by_secret(secret, kind).await?
                else {
                    return Ok(());
                };
                // Already revoked in between is fine: the answer is the same (and the event is the other's).
                if !self
                    .ports
                    .credentials
                    .revoke_credential(&credential.id, &credential.user_id, now)
                    .await?
                {
                    return Ok(());
                }
                (
                    CredentialEvent::Revoked.kind_for(kind),
                    credential.user_id,
                    credential.id.as_str().to_owned(),
                )
            }
            Presented::AccessToken(token) => {
                // An expired access token ends nothing: its holder could no longer log out with it either.
                let Ok(claims) = self.access_claims(token) else {
                    return Ok(());
                };
                if !self
                    .ports
                    .sessions
                    .revoke(&claims.session_id, &claims.user_id, now)
                    .await?
                {
                    return Ok(());
                }
                (
                    EventKind::SessionRevoked,
                    claims.user_id,
                    claims.session_id.as_str().to_owned(),
                )
            }
        };
        self.record(
            kind,
            EventOutcome::Success,
            Some(&user_id),
            Some(&subject),
            client,
        )
        .await;
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
        match self.classify(token) {
            Presented::RefreshToken(_) => Ok(Introspection::Inactive),
            Presented::Credential(secret, kind) => {
                // Checked as a request bearing it is, and so counted as a use of it.
                let credential = match self.live_credential(secret, kind).await {
                    Ok((credential, _owner)) => credential,
                    Err(AuthError::Unavailable(source)) => return Err(source.into()),
                    Err(_) => return Ok(Introspection::Inactive),
                };
                Ok(Introspection::Active(ActiveToken {
                    principal: principal_of(&credential),
                    issued_at: credential.created_at,
                    expires_at: credential.expires_at,
                }))
            }
            Presented::AccessToken(token) => {
                let Ok(claims) = self.access_claims(token) else {
                    return Ok(Introspection::Inactive);
                };
                let session = SessionPrincipal::new(claims.user_id, claims.session_id);
                if !self
                    .ports
                    .sessions
                    .is_active(session.session_id(), session.user_id(), self.now())
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

impl Latchkey {
    fn classify<'a>(&self, token: &'a str) -> Presented<'a> {
        Presented::classify(token, self.policies.credentials.api_key_prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_told_by_their_prefix_and_anything_else_is_tried_as_a_jwt() {
        let classify = |token| Presented::classify(token, "sk_test_");
        assert_eq!(classify("lkr_abc"), Presented::RefreshToken("lkr_abc"));
        assert_eq!(
            classify("lk_pat_abc"),
            Presented::Credential("lk_pat_abc", CredentialKind::PersonalToken)
        );
        assert_eq!(
            classify("sk_test_abc"),
            Presented::Credential("sk_test_abc", CredentialKind::ApiKey)
        );
        for other in [
            "eyJhbGciOi.x.y",
            "",
            "lkr",
            "LKR_abc",
            "sk_live_abc",
            "garbage",
        ] {
            assert_eq!(classify(other), Presented::AccessToken(other));
        }
    }
}
