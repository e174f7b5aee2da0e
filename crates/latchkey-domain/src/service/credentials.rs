//! Personal access tokens and API keys: created, listed, rotated and revoked by their owner's login session, and
//! turned back into a [`Principal`] when a request presents one.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use super::{AuthError, Latchkey};
use crate::access::{Credential, Principal, Scope, Scopes, SessionPrincipal};
use crate::error::PortError;
use crate::model::{
    CredentialId, CredentialKind, DisplayName, DisplayNameError, EventKind, EventOutcome,
    IssuedCredential, NewCredential, PresentedCredential, User,
};
use crate::policy::CredentialPolicy;
use crate::ports::{
    CredentialMatch, CredentialRotation, InsertCredentialError, RotateCredentialError,
};
use crate::secret::{checksummed, has_valid_checksum, PlainSecret};

/// `last_used_at` is kept to this precision: at most one write per credential per interval, on any number of
/// instances.
pub const LAST_USED_PRECISION: TimeDelta = TimeDelta::minutes(1);

/// Characters of a secret's random part kept (after its prefix) as the hint that tells credentials apart.
const HINT_LENGTH: usize = 6;

/// What a new personal token or API key should be.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateCredentialInput {
    /// Its name, 1 to 100 characters.
    pub name: String,
    /// When it stops working: required for a personal token, optional for an API key.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do; `None` for the default, the read scopes only.
    pub scopes: Option<Scopes>,
}

impl CreateCredentialInput {
    /// A credential called `name`, with the default scopes and no expiry.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            expires_at: None,
            scopes: None,
        }
    }

    /// Expiring at `expires_at`.
    #[must_use]
    pub fn expires_at(mut self, expires_at: DateTime<Utc>) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// With these scopes.
    #[must_use]
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = Some(scopes);
        self
    }
}

/// A credential just created or rotated: the record and its secret, shown this once.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreatedCredential {
    /// The record.
    pub credential: IssuedCredential,
    /// The secret; only its hash is stored.
    pub secret: PlainSecret,
}

/// Why a personal token or API key could not be created, rotated or revoked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The name is blank, too long or holds control characters.
    #[error("name {0}")]
    InvalidName(#[from] DisplayNameError),
    /// A personal token needs an expiry.
    #[error("a personal token needs an expiry")]
    ExpiryRequired,
    /// The expiry is not in the future.
    #[error("the expiry must be in the future")]
    ExpiryInPast,
    /// The expiry is further ahead than the policy allows.
    #[error("the expiry must be at most {} days ahead", .max.num_days())]
    ExpiryTooFar {
        /// The longest lifetime allowed.
        max: TimeDelta,
    },
    /// A credential needs at least one scope.
    #[error("at least one scope is needed")]
    NoScopes,
    /// The user holds as many live credentials of this kind as allowed.
    #[error("at most {max} live credentials of this kind per user")]
    LimitReached {
        /// The limit.
        max: usize,
    },
    /// The caller holds no such credential.
    #[error("not found")]
    NotFound,
    /// The session that asked ended (a logout, a password change or reset, a disable revoked it) after the request
    /// was authenticated: nothing was created or rotated.
    #[error("the session has ended")]
    SessionEnded,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Scopes of a credential created without any: reading only.
pub fn default_scopes() -> Scopes {
    Scopes::empty()
        .with(Scope::ProfileRead)
        .with(Scope::CreditsRead)
}

impl Latchkey {
    /// Creates a personal token (`kind` [`CredentialKind::PersonalToken`], expiry required, at most
    /// [`CredentialPolicy::max_token_lifetime`] ahead) or an API key (expiry optional) for the caller's account.
    /// Needs a login session: a token or key never makes another.
    ///
    /// # Errors
    /// [`CredentialError`]: the name, expiry and scope rules, the per-user limit, or a port failure.
    pub async fn create_credential(
        &self,
        principal: &SessionPrincipal,
        kind: CredentialKind,
        input: CreateCredentialInput,
    ) -> Result<CreatedCredential, CredentialError> {
        let policy = &self.policies.credentials;
        let now = self.now();
        let name = DisplayName::parse(&input.name)?;
        let scopes = input.scopes.unwrap_or_else(default_scopes);
        if scopes.is_empty() {
            return Err(CredentialError::NoScopes);
        }
        match (kind, input.expires_at) {
            (CredentialKind::PersonalToken, None) => return Err(CredentialError::ExpiryRequired),
            (_, Some(expires_at)) if expires_at <= now => {
                return Err(CredentialError::ExpiryInPast)
            }
            (CredentialKind::PersonalToken, Some(expires_at))
                if expires_at - now > policy.max_token_lifetime() =>
            {
                return Err(CredentialError::ExpiryTooFar {
                    max: policy.max_token_lifetime(),
                });
            }
            _ => {}
        }
        let id = CredentialId::from_random(kind, &self.ports.secrets.new_id());
        let secret = self.new_credential_secret(kind);
        let new = NewCredential {
            credential: IssuedCredential {
                id,
                user_id: principal.user_id().clone(),
                name,
                scopes,
                hint: hint(&secret, self.prefix(kind)),
                created_at: now,
                expires_at: input.expires_at,
                last_used_at: None,
            },
            secret_hash: secret.hash(),
            requested_by: Some(principal.session_id().clone()),
        };
        let credential = self
            .ports
            .credentials
            .insert_credential(&new, policy.max_per_user(), now)
            .await
            .map_err(|error| match error {
                InsertCredentialError::LimitReached => CredentialError::LimitReached {
                    max: policy.max_per_user(),
                },
                InsertCredentialError::SessionEnded => CredentialError::SessionEnded,
                InsertCredentialError::Unavailable(error) => error.into(),
            })?;
        self.record_credential_event(principal, &credential.id, CredentialEvent::Created)
            .await;
        Ok(CreatedCredential { credential, secret })
    }

    /// The caller's personal tokens or API keys (`kind`), expired ones included, newest first; never their secrets.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn list_credentials(
        &self,
        principal: &SessionPrincipal,
        kind: CredentialKind,
    ) -> Result<Vec<IssuedCredential>, PortError> {
        self.ports
            .credentials
            .list_credentials(principal.user_id(), kind)
            .await
    }

    /// Gives the caller's credential `id` a new secret; the old one is refused from this moment. Name, scopes and
    /// expiry stay.
    ///
    /// # Errors
    /// [`CredentialError::NotFound`] unless the caller holds that credential, unrevoked and unexpired;
    /// [`CredentialError::SessionEnded`] when the caller's session ended while the request was on its way; a port
    /// failure.
    pub async fn rotate_credential(
        &self,
        principal: &SessionPrincipal,
        id: &CredentialId,
    ) -> Result<CreatedCredential, CredentialError> {
        let secret = self.new_credential_secret(id.kind());
        let rotation = CredentialRotation {
            id: id.clone(),
            user_id: principal.user_id().clone(),
            secret_hash: secret.hash(),
            hint: hint(&secret, self.prefix(id.kind())),
            requested_by: Some(principal.session_id().clone()),
            now: self.now(),
        };
        let credential = self
            .ports
            .credentials
            .rotate_credential(&rotation)
            .await
            .map_err(|error| match error {
                RotateCredentialError::NotFound => CredentialError::NotFound,
                RotateCredentialError::SessionEnded => CredentialError::SessionEnded,
                RotateCredentialError::Unavailable(error) => error.into(),
            })?;
        self.record_credential_event(principal, id, CredentialEvent::Rotated)
            .await;
        Ok(CreatedCredential { credential, secret })
    }

    /// Revokes the caller's credential `id`.
    ///
    /// # Errors
    /// [`CredentialError::NotFound`] unless the caller holds that unrevoked credential; a port failure.
    pub async fn revoke_credential(
        &self,
        principal: &SessionPrincipal,
        id: &CredentialId,
    ) -> Result<(), CredentialError> {
        let revoked = self
            .ports
            .credentials
            .revoke_credential(id, principal.user_id(), self.now())
            .await?;
        if revoked {
            self.record_credential_event(principal, id, CredentialEvent::Revoked)
                .await;
            Ok(())
        } else {
            Err(CredentialError::NotFound)
        }
    }

    /// Records that the caller created, rotated or revoked the credential `id`.
    async fn record_credential_event(
        &self,
        principal: &SessionPrincipal,
        id: &CredentialId,
        event: CredentialEvent,
    ) {
        self.record(
            event.kind_for(id.kind()),
            EventOutcome::Success,
            Some(principal.user_id()),
            Some(id.as_str()),
            principal.client(),
        )
        .await;
    }

    /// Checks a personal token (`lk_pat_…`) or an API key: its checksum (no database query for a mistyped one),
    /// then one lookup by hash; records the use at most once a minute without waiting for the write. Returns the
    /// principal (with the credential's scopes) and the account.
    ///
    /// # Errors
    /// [`AuthError::TokenExpired`] for an expired credential, [`AuthError::InvalidToken`] for anything else
    /// unusable (malformed, bad checksum, unknown, revoked, or of the other kind), [`AuthError::Unavailable`].
    pub(super) async fn authenticate_credential(
        &self,
        secret: &str,
        kind: CredentialKind,
    ) -> Result<(Principal, User), AuthError> {
        let (credential, user) = self.live_credential(secret, kind).await?;
        Ok((principal_of(&credential), user))
    }

    /// The live credential of `kind` whose secret is `secret`, and its owner, checked and its use recorded as
    /// [`Latchkey::authenticate_credential`] says: what authenticating and introspecting it share.
    pub(super) async fn live_credential(
        &self,
        secret: &str,
        kind: CredentialKind,
    ) -> Result<(PresentedCredential, User), AuthError> {
        let CredentialMatch { credential, user } = self
            .find_credential_by_secret(secret, kind)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let now = self.now();
        if credential.is_expired(now) {
            return Err(AuthError::TokenExpired);
        }
        self.record_use(&credential, now).await;
        Ok((credential, user))
    }

    /// The unrevoked credential of `kind` whose secret is `secret`, expired or not, with its owner; `None` for a
    /// malformed secret (no lookup then), an unknown one, or one of the other kind.
    pub(super) async fn find_credential_by_secret(
        &self,
        secret: &str,
        kind: CredentialKind,
    ) -> Result<Option<CredentialMatch>, PortError> {
        if !has_valid_checksum(secret, self.prefix(kind)) {
            return Ok(None);
        }
        let found = self
            .ports
            .credentials
            .find_credential(&PlainSecret::new(secret).hash())
            .await?;
        Ok(found.filter(|found| found.credential.id.kind() == kind))
    }

    /// Records a use unless one within [`LAST_USED_PRECISION`] is known, from the store's answer or from this
    /// instance's own recent records. A failure only costs the record, never the request.
    async fn record_use(&self, credential: &PresentedCredential, now: DateTime<Utc>) {
        let recent = now - LAST_USED_PRECISION;
        if credential.last_used_at.is_some_and(|at| at > recent)
            || !self.usage.claim(&credential.id, now)
        {
            return;
        }
        if let Err(error) = self
            .ports
            .credentials
            .record_credential_use(&credential.id, now, LAST_USED_PRECISION)
            .await
        {
            tracing::warn!(error = %error, credential = %credential.id, "could not record a credential's use");
        }
    }

    pub(super) fn prefix(&self, kind: CredentialKind) -> &str {
        match kind {
            CredentialKind::PersonalToken => CredentialPolicy::PERSONAL_TOKEN_PREFIX,
            CredentialKind::ApiKey => self.policies.credentials.api_key_prefix(),
        }
    }

    fn new_credential_secret(&self, kind: CredentialKind) -> PlainSecret {
        let body = self.ports.secrets.new_secret("");
        checksummed(self.prefix(kind), body.expose())
    }
}

/// The principal a request presenting `credential` acts as: its owner, with the credential's scopes.
pub(super) fn principal_of(credential: &PresentedCredential) -> Principal {
    let scopes = credential.scopes;
    let credential_of = match credential.id.clone() {
        CredentialId::PersonalToken(id) => Credential::PersonalToken { id, scopes },
        CredentialId::ApiKey(id) => Credential::ApiKey { id, scopes },
    };
    Principal::new(credential.user_id.clone(), credential_of)
}

/// The start of `secret` shown in lists: its prefix and a few characters.
fn hint(secret: &PlainSecret, prefix: &str) -> String {
    secret
        .expose()
        .chars()
        .take(prefix.chars().count() + HINT_LENGTH)
        .collect()
}

/// This instance's memory of the credential uses it recorded lately, so that a burst of requests with one credential
/// asks the store to write once per [`LAST_USED_PRECISION`], not once per request.
#[derive(Debug, Default)]
pub(super) struct UsageLog {
    recorded: Mutex<HashMap<CredentialId, DateTime<Utc>>>,
}

/// Entries kept before old ones are dropped.
const USAGE_LOG_CAPACITY: usize = 10_000;

impl UsageLog {
    /// Whether this instance should record a use of `id` at `now`: `true` (and remembered) unless it recorded one
    /// within [`LAST_USED_PRECISION`].
    fn claim(&self, id: &CredentialId, now: DateTime<Utc>) -> bool {
        let Ok(mut recorded) = self.recorded.lock() else {
            return true;
        };
        let recent = now - LAST_USED_PRECISION;
        if recorded.get(id).is_some_and(|at| *at > recent) {
            return false;
        }
        if recorded.len() >= USAGE_LOG_CAPACITY {
            recorded.retain(|_, at| *at > recent);
        }
        recorded.insert(id.clone(), now);
        true
    }
}

/// What happened to a credential, for its security event.
#[derive(Debug, Clone, Copy)]
pub(super) enum CredentialEvent {
    Created,
    Rotated,
    Revoked,
}

impl CredentialEvent {
    /// The event's kind for a credential of `kind`.
    pub(super) fn kind_for(self, kind: CredentialKind) -> EventKind {
        match (kind, self) {
            (CredentialKind::PersonalToken, Self::Created) => EventKind::TokenCreated,
            (CredentialKind::PersonalToken, Self::Rotated) => EventKind::TokenRotated,
            (CredentialKind::PersonalToken, Self::Revoked) => EventKind::TokenRevoked,
            (CredentialKind::ApiKey, Self::Created) => EventKind::KeyCreated,
            (CredentialKind::ApiKey, Self::Rotated) => EventKind::KeyRotated,
            (CredentialKind::ApiKey, Self::Revoked) => EventKind::KeyRevoked,
        }
    }
}
