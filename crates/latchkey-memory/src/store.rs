use std::collections::HashMap;
use std::sync::Mutex;

use crate::credentials::CredentialEntry;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use latchkey_domain::ports::{
    CreateSessionError, CreatedLogin, HealthCheck, InsertUserError, NewLogin, RotationOutcome,
    RotationRequest, SessionRepository, UpdateProfileError, UserLookup, UserQuery, UserRepository,
};
use latchkey_domain::rotation::{self, Decision, PresentedToken};
use latchkey_domain::{
    CredentialId, NewUser, PasswordHash, PortError, ProfileChanges, Session, SessionId, StoredUser,
    TokenHash, User, UserCredentials, UserId,
};

/// Users, sessions and refresh tokens in memory, behind one lock so every port method is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    pub(crate) state: Mutex<State>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) users: HashMap<UserId, UserCredentials>,
    pub(crate) credentials: HashMap<CredentialId, CredentialEntry>,
    sessions: HashMap<SessionId, Session>,
    refresh_tokens: HashMap<TokenHash, RefreshToken>,
    /// Verification challenges, reset tokens and the outbox (`challenges.rs`).
    pub(crate) mail: crate::challenges::MailState,
    /// Rate-limit counts and known login addresses (`limiter.rs`).
    pub(crate) limits: crate::limiter::LimitState,
    /// The security event log (`events.rs`).
    pub(crate) events: Vec<latchkey_domain::SecurityEvent>,
    /// The credits ledger and the charges' idempotency keys (`ledger.rs`).
    pub(crate) ledger: crate::ledger::LedgerState,
}

#[derive(Debug)]
struct RefreshToken {
    session_id: SessionId,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    successor: Option<TokenHash>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, locked: every port method holds the lock for its whole step, which is what makes it atomic.
    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        crate::lock(&self.state)
    }
}

impl State {
    /// Creates a session with its first refresh token: [`SessionRepository::create`] on the locked state. Also
    /// returns the live sessions the cap revoked, oldest first.
    fn create_session(
        &mut self,
        new: &latchkey_domain::model::NewSession,
    ) -> Result<(Session, Vec<SessionId>), CreateSessionError> {
        if let Some(verified) = &new.verified_password {
            let usable = self
                .users
                .get(&new.user_id)
                .is_some_and(|c| &c.password_hash == verified && !c.user.is_disabled());
            if !usable {
                return Err(CreateSessionError::StaleCredentials);
            }
        }
        if self.refresh_tokens.contains_key(&new.refresh_token.hash)
            || self.sessions.contains_key(&new.id)
        {
            return Err(
                PortError::new("create session", "duplicate session id or token hash").into(),
            );
        }
        let mut ended = Vec::new();
        if let Some(max) = new.max_live_sessions {
            let mut live: Vec<&Session> = self
                .sessions
                .values()
                .filter(|s| s.is_live_for(&new.user_id, new.created_at))
                .collect();
            live.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            let excess = (live.len() + 1).saturating_sub(max as usize);
            ended = live.iter().take(excess).map(|s| s.id.clone()).collect();
            self.revoke_where(new.created_at, |s| ended.contains(&s.id));
        }
        let session = Session {
            id: new.id.clone(),
            user_id: new.user_id.clone(),
            created_at: new.created_at,
            last_used_at: new.created_at,
            expires_at: new.refresh_token.expires_at,
            ends_at: new.ends_at,
            revoked_at: None,
            client: new.client.clone(),
        };
        self.sessions.insert(session.id.clone(), session.clone());
        self.refresh_tokens.insert(
            new.refresh_token.hash,
            RefreshToken {
                session_id: new.id.clone(),
                expires_at: new.refresh_token.expires_at,
                used_at: None,
                successor: None,
            },
        );
        Ok((session, ended))
    }

    /// Whether `session` is an active session of `user_id` at `now`: [`SessionRepository::is_active`] on the
    /// locked state, and what a change asked for by a session checks before it is written.
    pub(crate) fn session_is_active(
        &self,
        session: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> bool {
        self.sessions
            .get(session)
            .is_some_and(|s| s.is_live_for(user_id, now))
    }

    /// Whether a write asked for by `asked_by` must not happen: that session is no longer an active session of
    /// `user_id` at `now`. A write no session asked for (`None`) may.
    pub(crate) fn asker_has_left(
        &self,
        asked_by: Option<&SessionId>,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> bool {
        asked_by.is_some_and(|session| !self.session_is_active(session, user_id, now))
    }

    pub(crate) fn revoke_where(
        &mut self,
        now: DateTime<Utc>,
        mut matches: impl FnMut(&Session) -> bool,
    ) -> u64 {
        let mut revoked = 0;
        for session in self.sessions.values_mut() {
            if session.revoked_at.is_none() && matches(session) {
                session.revoked_at = Some(now);
                revoked += 1;
            }
        }
        revoked
    }
}

/// What `is_active` and `find_by_active_session` ask of a session.
trait Live {
    fn is_live_for(&self, user_id: &UserId, now: DateTime<Utc>) -> bool;
}

impl Live for Session {
    fn is_live_for(&self, user_id: &UserId, now: DateTime<Utc>) -> bool {
        &self.user_id == user_id && self.revoked_at.is_none() && self.expires_at > now
    }
}

#[async_trait]
impl HealthCheck for MemoryStore {
    async fn check(&self) -> Result<(), PortError> {
        Ok(())
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn insert(&self, new: &NewUser) -> Result<User, InsertUserError> {
        let mut state = crate::lock(&self.state);
        let existing = state.users.values().map(|credentials| &credentials.user);
        for user in existing {
            if user.email == new.email {
                return Err(InsertUserError::EmailTaken);
            }
        }
        if let Some(username) = &new.username {
            if state
                .users
                .values()
                .any(|c| c.user.username.as_ref() == Some(username))
            {
                return Err(InsertUserError::UsernameTaken);
            }
        }
        let user = User::from_stored(StoredUser {
            id: new.id.clone(),
            email: new.email.as_str().to_owned(),
            username: new.username.as_ref().map(|u| u.as_str().to_owned()),
            name: new.name.as_ref().map(|n| n.as_str().to_owned()),
            phone: None,
            metadata: Default::default(),
            credits: new.credits,
            is_verified: false,
            created_at: new.created_at,
            updated_at: new.created_at,
            disabled_at: None,
            disabled_reason: None,
        });
        state.users.insert(
            user.id.clone(),
            UserCredentials {
                user: user.clone(),
                password_hash: new.password_hash.clone(),
            },
        );
        if new.credits > 0 {
            state.open_account(&user.id, &new.welcome_entry_id, new.credits, new.created_at);
        }
        Ok(user)
    }

    async fn find(&self, id: &UserId) -> Result<Option<User>, PortError> {
        Ok(crate::lock(&self.state)
            .users
            .get(id)
            .map(|c| c.user.clone()))
    }

    async fn find_by_active_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, PortError> {
        let state = crate::lock(&self.state);
        let active = state.session_is_active(session_id, user_id, now);
        Ok(active
            .then(|| state.users.get(user_id).map(|c| c.user.clone()))
            .flatten())
    }

    async fn find_credentials(
        &self,
        lookup: &UserLookup,
    ) -> Result<Option<UserCredentials>, PortError> {
        let state = crate::lock(&self.state);
        let found = match lookup {
            UserLookup::Id(id) => state.users.get(id),
            UserLookup::Email(email) => state.users.values().find(|c| &c.user.email == email),
            UserLookup::Username(name) => state
                .users
                .values()
                .find(|c| c.user.username.as_ref() == Some(name)),
        };
        Ok(found.cloned())
    }

    async fn update_password(
        &self,
        id: &UserId,
        hash: &PasswordHash,
        keep: Option<&SessionId>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut state = crate::lock(&self.state);
        if state.asker_has_left(keep, id, now) {
            return Ok(false);
        }
        let Some(credentials) = state.users.get_mut(id) else {
            return Ok(false);
        };
        credentials.password_hash = hash.clone();
        credentials.user.updated_at = now;
        state.mail.changes.remove(id);
        state.mail.resets.remove(id);
        state.revoke_where(now, |s| &s.user_id == id && Some(&s.id) != keep);
        Ok(true)
    }

    async fn rehash_password(
        &self,
        id: &UserId,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, PortError> {
        let mut state = crate::lock(&self.state);
        match state.users.get_mut(id) {
            Some(credentials) if &credentials.password_hash == current => {
                credentials.password_hash = upgraded.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn update_profile(
        &self,
        id: &UserId,
        changes: &ProfileChanges,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, UpdateProfileError> {
        let mut state = crate::lock(&self.state);
        if let Some(Some(username)) = &changes.username {
            let taken = state.users.values().any(|c| {
                &c.user.id != id
                    && c.user.username.as_ref().map(|u| u.key()) == Some(username.key())
            });
            if taken {
                return Err(UpdateProfileError::UsernameTaken);
            }
        }
        let Some(credentials) = state.users.get_mut(id) else {
            return Ok(None);
        };
        let user = &mut credentials.user;
        if let Some(name) = &changes.name {
            user.name.clone_from(name);
        }
        if let Some(username) = &changes.username {
            user.username.clone_from(username);
        }
        if let Some(phone) = &changes.phone {
            user.phone = phone.as_ref().map(|p| p.as_str().to_owned());
        }
        if let Some(metadata) = &changes.metadata {
            user.metadata = metadata.as_map().clone();
        }
        user.updated_at = now;
        Ok(Some(user.clone()))
    }

    async fn list_users(&self, query: &UserQuery) -> Result<Vec<User>, PortError> {
        let state = crate::lock(&self.state);
        let mut users: Vec<User> = state
            .users
            .values()
            .map(|c| &c.user)
            .filter(|user| query.matches_email_key(user.email.key()))
            .cloned()
            .collect();
        users.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.as_str().cmp(a.id.as_str()))
        });
        users.truncate(query.limit as usize);
        Ok(users)
    }

    async fn set_disabled(
        &self,
        id: &UserId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(credentials) = state.users.get_mut(id) else {
            return Ok(None);
        };
        let user = &mut credentials.user;
        user.updated_at = now;
        match reason {
            Some(reason) => {
                user.disabled_at = Some(user.disabled_at.unwrap_or(now));
                user.disabled_reason = Some(reason.to_owned());
            }
            None => {
                user.disabled_at = None;
                user.disabled_reason = None;
            }
        }
        let user = user.clone();
        if reason.is_some() {
            state.revoke_where(now, |s| &s.user_id == id);
            state.revoke_credentials_of(id, now);
        }
        Ok(Some(user))
    }

    async fn delete_user(
        &self,
        id: &UserId,
        asked_by: Option<&SessionId>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut state = crate::lock(&self.state);
        if state.asker_has_left(asked_by, id, now) {
            return Ok(false);
        }
        let Some(credentials) = state.users.remove(id) else {
            return Ok(false);
        };
        let mut addresses = vec![credentials.user.email.as_str().to_owned()];
        if let Some(change) = state.mail.changes.remove(id) {
            addresses.push(change.new_email().as_str().to_owned());
        }
        state.mail.drop_emails_to(&addresses);
        state.mail.verifications.remove(id);
        state.mail.resets.remove(id);
        state.limits.forget_addresses_of(id);
        state.ledger.forget_account(id);
        let sessions: Vec<SessionId> = state
            .sessions
            .values()
            .filter(|s| &s.user_id == id)
            .map(|s| s.id.clone())
            .collect();
        state.sessions.retain(|_, s| &s.user_id != id);
        state
            .refresh_tokens
            .retain(|_, token| !sessions.contains(&token.session_id));
        state.credentials.retain(|_, entry| !entry.is_owned_by(id));
        for event in state.events.iter_mut() {
            if event.user_id.as_ref() == Some(id) {
                event.user_id = None;
                event.client = latchkey_domain::ClientInfo::default();
            }
        }
        Ok(true)
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn create(
        &self,
        new: &latchkey_domain::model::NewSession,
    ) -> Result<Session, CreateSessionError> {
        Ok(crate::lock(&self.state).create_session(new)?.0)
    }

    async fn create_login(&self, login: &NewLogin) -> Result<CreatedLogin, CreateSessionError> {
        // One lock for every write: nothing of the login is seen before all of it is.
        let mut state = crate::lock(&self.state);
        let (session, ended) = state.create_session(&login.session)?;
        state.record_event(&login.event);
        let revocations: Vec<_> = ended
            .iter()
            .enumerate()
            .map(|(index, id)| login.ended_session_event(index, id))
            .collect();
        for revocation in &revocations {
            state.record_event(revocation);
        }
        if let Some(address) = &login.known_address {
            state.remember_address(&session.user_id, address, session.created_at);
        }
        for (key, rate) in &login.forgiven {
            state.limits.release(key, *rate);
        }
        Ok(CreatedLogin {
            session,
            revocations,
        })
    }

    async fn rotate(&self, request: &RotationRequest) -> Result<RotationOutcome, PortError> {
        let mut guard = crate::lock(&self.state);
        let state = &mut *guard;
        // The lock is held from the read to the writes, so the decision sticks.
        let presented = state
            .refresh_tokens
            .get(&request.presented)
            .and_then(|token| {
                let session = state.sessions.get(&token.session_id)?;
                let requested_successor_unused = token.used_at.is_some()
                    && state
                        .refresh_tokens
                        .get(&request.successor)
                        .is_some_and(|successor| successor.used_at.is_none());
                Some(PresentedToken {
                    session_id: session.id.clone(),
                    user_id: session.user_id.clone(),
                    session_revoked: session.revoked_at.is_some(),
                    session_ends_at: session.ends_at,
                    expires_at: token.expires_at,
                    used_at: token.used_at,
                    successor: token.successor,
                    requested_successor_unused,
                })
            });
        let decision = rotation::decide(presented, request);
        match &decision {
            Decision::Rotate {
                session_id,
                expires_at,
                ..
            } => {
                let expires_at = *expires_at;
                if let Some(token) = state.refresh_tokens.get_mut(&request.presented) {
                    token.used_at = Some(request.now);
                    token.successor = Some(request.successor);
                }
                state.refresh_tokens.insert(
                    request.successor,
                    RefreshToken {
                        session_id: session_id.clone(),
                        expires_at,
                        used_at: None,
                        successor: None,
                    },
                );
                if let Some(session) = state.sessions.get_mut(session_id) {
                    session.last_used_at = request.now;
                    session.expires_at = expires_at;
                }
            }
            Decision::RevokeSession { session_id, .. } => {
                state.revoke_where(request.now, |s| &s.id == session_id);
            }
            Decision::Retry { .. } | Decision::Reject => {}
        }
        Ok(decision.into_outcome(request))
    }

    async fn is_active(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        Ok(crate::lock(&self.state).session_is_active(id, user_id, now))
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, PortError> {
        let state = crate::lock(&self.state);
        let mut sessions: Vec<Session> = state
            .sessions
            .values()
            .filter(|s| &s.user_id == user_id && s.revoked_at.is_none() && s.expires_at > now)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(sessions)
    }

    async fn revoke(
        &self,
        id: &SessionId,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let revoked =
            crate::lock(&self.state).revoke_where(now, |s| &s.id == id && &s.user_id == user_id);
        Ok(revoked > 0)
    }

    async fn revoke_by_refresh_token(
        &self,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, PortError> {
        let mut state = crate::lock(&self.state);
        let Some(session_id) = state
            .refresh_tokens
            .get(token)
            .filter(|token| token.expires_at > now)
            .map(|token| token.session_id.clone())
        else {
            return Ok(None);
        };
        if state.revoke_where(now, |s| s.id == session_id) == 0 {
            return Ok(None);
        }
        Ok(state.sessions.get(&session_id).cloned())
    }

    async fn purge_sessions(&self, now: DateTime<Utc>, batch: u32) -> Result<u64, PortError> {
        let mut state = crate::lock(&self.state);
        let batch = batch as usize;
        let ended: Vec<SessionId> = state
            .sessions
            .values()
            .filter(|s| s.expires_at <= now)
            .map(|s| s.id.clone())
            .take(batch)
            .collect();
        for id in &ended {
            state.sessions.remove(id);
        }
        // As the database's cascade does, a deleted session takes its tokens with it (uncounted there too).
        state
            .refresh_tokens
            .retain(|_, token| !ended.contains(&token.session_id));
        let expired: Vec<TokenHash> = state
            .refresh_tokens
            .iter()
            .filter(|(_, token)| token.expires_at <= now)
            .map(|(hash, _)| *hash)
            .take(batch)
            .collect();
        for hash in &expired {
            state.refresh_tokens.remove(hash);
        }
        Ok((ended.len() + expired.len()) as u64)
    }

    async fn revoke_all(&self, user_id: &UserId, now: DateTime<Utc>) -> Result<u64, PortError> {
        Ok(crate::lock(&self.state).revoke_where(now, |s| &s.user_id == user_id))
    }
}
