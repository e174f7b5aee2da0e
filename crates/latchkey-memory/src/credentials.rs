//! [`CredentialRepository`] in memory.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use latchkey_domain::ports::{
    CredentialMatch, CredentialRepository, CredentialRotation, InsertCredentialError,
    RotateCredentialError,
};
use latchkey_domain::{
    CredentialId, CredentialKind, IssuedCredential, PortError, PresentedCredential, TokenHash,
    UserId,
};

use crate::store::MemoryStore;

/// A stored credential: the record, its secret's hash, and whether it was revoked.
#[derive(Debug, Clone)]
pub(crate) struct CredentialEntry {
    credential: IssuedCredential,
    secret_hash: TokenHash,
    revoked_at: Option<DateTime<Utc>>,
}

impl CredentialEntry {
    fn is_live_for(&self, user_id: &UserId) -> bool {
        self.revoked_at.is_none() && self.is_owned_by(user_id)
    }

    /// Whether `user_id` holds it, revoked or not.
    pub(crate) fn is_owned_by(&self, user_id: &UserId) -> bool {
        &self.credential.user_id == user_id
    }
}

impl crate::store::State {
    /// Revokes every live credential of `user_id` (also what a password reset does, in the same lock); returns how
    /// many.
    pub(crate) fn revoke_credentials_of(&mut self, user_id: &UserId, now: DateTime<Utc>) -> u64 {
        let mut revoked = 0;
        for entry in self.credentials.values_mut() {
            if entry.is_live_for(user_id) {
                entry.revoked_at = Some(now);
                revoked += 1;
            }
        }
        revoked
    }
}

#[async_trait]
impl CredentialRepository for MemoryStore {
    async fn insert_credential(
        &self,
        new: &latchkey_domain::model::NewCredential,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<IssuedCredential, InsertCredentialError> {
        let mut state = self.state();
        let credential = &new.credential;
        if state.asker_has_left(new.requested_by.as_ref(), &credential.user_id, now) {
            return Err(InsertCredentialError::SessionEnded);
        }
        let kind = credential.id.kind();
        let live = state
            .credentials
            .values()
            .filter(|entry| entry.is_live_for(&credential.user_id))
            .filter(|entry| entry.credential.id.kind() == kind && !entry.credential.is_expired(now))
            .count();
        if live >= limit {
            return Err(InsertCredentialError::LimitReached);
        }
        let duplicate = state.credentials.contains_key(&credential.id)
            || state
                .credentials
                .values()
                .any(|entry| entry.secret_hash == new.secret_hash);
        if duplicate {
            return Err(PortError::new("insert credential", "duplicate id or secret hash").into());
        }
        state.credentials.insert(
            credential.id.clone(),
            CredentialEntry {
                credential: credential.clone(),
                secret_hash: new.secret_hash,
                revoked_at: None,
            },
        );
        Ok(credential.clone())
    }

    async fn list_credentials(
        &self,
        user_id: &UserId,
        kind: CredentialKind,
    ) -> Result<Vec<IssuedCredential>, PortError> {
        let state = self.state();
        let mut listed: Vec<IssuedCredential> = state
            .credentials
            .values()
            .filter(|entry| entry.is_live_for(user_id) && entry.credential.id.kind() == kind)
            .map(|entry| entry.credential.clone())
            .collect();
        listed.sort_by(|a, b| (b.created_at, b.id.as_str()).cmp(&(a.created_at, a.id.as_str())));
        Ok(listed)
    }

    async fn find_credential(
        &self,
        secret_hash: &TokenHash,
    ) -> Result<Option<CredentialMatch>, PortError> {
        let state = self.state();
        let Some(entry) = state
            .credentials
            .values()
            .find(|entry| entry.revoked_at.is_none() && entry.secret_hash == *secret_hash)
        else {
            return Ok(None);
        };
        Ok(state
            .users
            .get(&entry.credential.user_id)
            .map(|owner| CredentialMatch {
                credential: PresentedCredential::from(&entry.credential),
                user: owner.user.clone(),
            }))
    }

    async fn rotate_credential(
        &self,
        rotation: &CredentialRotation,
    ) -> Result<IssuedCredential, RotateCredentialError> {
        let mut state = self.state();
        if state.asker_has_left(
            rotation.requested_by.as_ref(),
            &rotation.user_id,
            rotation.now,
        ) {
            return Err(RotateCredentialError::SessionEnded);
        }
        let entry = state
            .credentials
            .get_mut(&rotation.id)
            .filter(|entry| {
                entry.is_live_for(&rotation.user_id) && !entry.credential.is_expired(rotation.now)
            })
            .ok_or(RotateCredentialError::NotFound)?;
        entry.secret_hash = rotation.secret_hash;
        entry.credential.hint.clone_from(&rotation.hint);
        Ok(entry.credential.clone())
    }

    async fn revoke_credential(
        &self,
        id: &CredentialId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        let Some(entry) = state
            .credentials
            .get_mut(id)
            .filter(|entry| entry.is_live_for(user_id))
        else {
            return Ok(false);
        };
        entry.revoked_at = Some(now);
        Ok(true)
    }

    async fn revoke_all_credentials(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, PortError> {
        Ok(self.state().revoke_credentials_of(user_id, now))
    }

    async fn record_credential_use(
        &self,
        id: &CredentialId,
        at: DateTime<Utc>,
        precision: TimeDelta,
    ) -> Result<(), PortError> {
        let mut state = self.state();
        if let Some(entry) = state.credentials.get_mut(id) {
            let last = &mut entry.credential.last_used_at;
            if last.is_none_or(|last| last < at - precision) {
                *last = Some(at);
            }
        }
        Ok(())
    }
}
