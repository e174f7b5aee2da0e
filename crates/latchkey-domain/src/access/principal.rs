//! The principal: which user is calling, and through which credential.

use super::{Requirement, Scope, Scopes};
use crate::model::{ApiKeyId, ClientInfo, PersonalTokenId, SessionId, UserId};

/// The credential a request was authenticated with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// An access token of a login session: every scope, and the session-only use cases.
    Session {
        /// The session.
        id: SessionId,
    },
    /// A personal token (`Authorization: Bearer lk_pat_…`): only its scopes.
    PersonalToken {
        /// The token.
        id: PersonalTokenId,
        /// What it may do.
        scopes: Scopes,
    },
    /// An API key (`X-API-Key: sk_live_…`): only its scopes.
    ApiKey {
        /// The key.
        id: ApiKeyId,
        /// What it may do.
        scopes: Scopes,
    },
}

impl Credential {
    /// What the credential may do; a session may do everything.
    pub fn scopes(&self) -> Scopes {
        match self {
            Credential::Session { .. } => Scopes::all(),
            Credential::PersonalToken { scopes, .. } | Credential::ApiKey { scopes, .. } => *scopes,
        }
    }
}

/// Who is calling: a user, and the credential that proved it.
///
/// [`crate::Latchkey::authenticate`] makes one from an access token. The service trusts a principal it is given,
/// so outside tests build one with [`Principal::new`] only from a credential you have checked yourself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principal {
    /// The authenticated user.
    pub user_id: UserId,
    /// How they authenticated.
    pub credential: Credential,
    /// Where the request came from, recorded with the security events it causes (empty unless set with
    /// [`Principal::with_client`]).
    pub client: ClientInfo,
}

/// Why an authenticated caller may not do what it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The use case needs a login session; a personal token or API key was used.
    #[error("this needs a login session; personal tokens and API keys cannot do it")]
    SessionRequired,
    /// The credential lacks the scope the use case needs.
    #[error("the credential lacks the `{required}` scope")]
    InsufficientScope {
        /// The scope that was needed.
        required: Scope,
    },
}

impl Principal {
    /// A principal for `user_id` authenticated by `credential`.
    pub fn new(user_id: UserId, credential: Credential) -> Self {
        Self {
            user_id,
            credential,
            client: ClientInfo::default(),
        }
    }

    /// The same principal, calling from `client`.
    #[must_use]
    pub fn with_client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }

    /// What the caller may do.
    pub fn scopes(&self) -> Scopes {
        self.credential.scopes()
    }

    /// Succeeds when the credential holds `scope`.
    ///
    /// # Errors
    /// [`AccessError::InsufficientScope`] otherwise.
    pub fn require(&self, scope: Scope) -> Result<(), AccessError> {
        if self.scopes().contains(scope) {
            Ok(())
        } else {
            Err(AccessError::InsufficientScope { required: scope })
        }
    }

    /// The session principal, when the caller authenticated with a login session.
    ///
    /// # Errors
    /// [`AccessError::SessionRequired`] for any other credential.
    pub fn into_session(self) -> Result<SessionPrincipal, AccessError> {
        match self.credential {
            Credential::Session { id } => Ok(SessionPrincipal {
                user_id: self.user_id,
                session_id: id,
                client: self.client,
            }),
            _ => Err(AccessError::SessionRequired),
        }
    }

    /// Checks a [`Requirement`] and returns what it grants (the principal itself, or a [`SessionPrincipal`]).
    ///
    /// # Errors
    /// The requirement's [`AccessError`].
    pub fn authorize<R: Requirement>(self) -> Result<R::Granted, AccessError> {
        R::check(self)
    }
}

/// A caller known to have authenticated with a login session: what session-only use cases take.
///
/// Obtained from [`Principal::into_session`], so a personal token or API key can never become one:
///
/// ```compile_fail
/// # use latchkey_domain::{Latchkey, Principal, service::LogoutScope};
/// # async fn logout(latchkey: &Latchkey, principal: Principal) {
/// // A plain principal is refused at compile time: it may be a token.
/// latchkey.logout(&principal, LogoutScope::ThisSession).await;
/// # }
/// ```
///
/// ```
/// # use latchkey_domain::{Latchkey, Principal, service::LogoutScope};
/// # async fn logout(latchkey: &Latchkey, principal: Principal) -> Result<(), Box<dyn std::error::Error>> {
/// let session = principal.into_session()?;
/// latchkey.logout(&session, LogoutScope::ThisSession).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPrincipal {
    user_id: UserId,
    session_id: SessionId,
    client: ClientInfo,
}

impl SessionPrincipal {
    /// The principal of `session_id`, a session of `user_id`. The same trust applies as for [`Principal::new`].
    pub fn new(user_id: UserId, session_id: SessionId) -> Self {
        Self {
            user_id,
            session_id,
            client: ClientInfo::default(),
        }
    }

    /// The same principal, calling from `client`.
    #[must_use]
    pub fn with_client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }

    /// Where the request came from.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }

    /// The user.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// The session making the request.
    pub fn session_id(&self) -> &SessionId {
        &self.session_id
    }
}

impl From<SessionPrincipal> for Principal {
    fn from(session: SessionPrincipal) -> Self {
        Principal::new(
            session.user_id,
            Credential::Session {
                id: session.session_id,
            },
        )
        .with_client(session.client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::from_random("u1")
    }

    fn token(scopes: &str) -> Principal {
        Principal::new(
            user(),
            Credential::PersonalToken {
                id: PersonalTokenId::from_random("t1"),
                scopes: Scopes::parse(scopes).unwrap(),
            },
        )
    }

    fn key(scopes: &str) -> Principal {
        Principal::new(
            user(),
            Credential::ApiKey {
                id: ApiKeyId::from_random("k1"),
                scopes: Scopes::parse(scopes).unwrap(),
            },
        )
    }

    #[test]
    fn a_session_holds_every_scope_and_is_a_session() {
        let session = SessionPrincipal::new(user(), SessionId::from_random("s1"));
        let principal = Principal::from(session.clone());
        for scope in Scope::ALL {
            assert_eq!(principal.require(scope), Ok(()));
        }
        assert_eq!(principal.into_session(), Ok(session));
    }

    #[test]
    fn tokens_and_keys_hold_only_their_scopes_and_are_never_sessions() {
        for principal in [token("profile:read"), key("profile:read")] {
            assert_eq!(principal.require(Scope::ProfileRead), Ok(()));
            assert_eq!(
                principal.require(Scope::CreditsRead),
                Err(AccessError::InsufficientScope {
                    required: Scope::CreditsRead
                })
            );
            assert_eq!(principal.into_session(), Err(AccessError::SessionRequired));
        }
        assert_eq!(token("").scopes(), Scopes::empty());
    }
}
