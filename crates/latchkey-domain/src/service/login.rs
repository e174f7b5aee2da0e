use super::throttle::{known_address_of, Action, Counted, TooManyAttempts};
use super::{Latchkey, TokenPair, REFRESH_TOKEN_PREFIX};
use crate::error::PortError;
use crate::model::{
    ClientInfo, Email, EventKind, EventOutcome, NewRefreshToken, NewSession, Password,
    PasswordHash, SessionId, User, UserId, Username,
};
use crate::policy::Rate;
use crate::ports::{CreateSessionError, LimitKey, NewLogin, UserLookup};

/// A login as the client sent it: who (an email address or a username) and the password.
///
/// ```
/// # use latchkey_domain::service::LoginInput;
/// let input = LoginInput::new().identifier("jane@example.com").password("correct horse battery");
/// # let _ = input;
/// ```
#[derive(Clone, Default)]
pub struct LoginInput {
    identifier: String,
    password: String,
}

impl LoginInput {
    /// An empty login (which no account matches).
    pub fn new() -> Self {
        Self::default()
    }

    /// The email address or username naming the account.
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = identifier.into();
        self
    }

    /// The password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = password.into();
        self
    }
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("identifier", &self.identifier)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A successful login: tokens for a new session, and who logged in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginOutcome {
    /// The account.
    pub user: User,
    /// Tokens of the new session.
    pub tokens: TokenPair,
}

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Unknown account or wrong password; deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The password was right, but the policy requires a verified address and this one is not. Only ever
    /// answered after the password check, so it tells nothing to someone without the password.
    #[error("email address not verified")]
    EmailNotVerified,
    /// The password was right, but an operator has disabled the account. Only ever answered after the password
    /// check, like [`LoginError::EmailNotVerified`].
    #[error("account disabled")]
    AccountDisabled,
    /// Too many failed logins for this account or from this address; decided before the password is checked.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Logs in by email or username (the input's identifier holds either) and starts a new session.
    ///
    /// An unknown account costs the same password-hashing work as a wrong password, so neither the answer nor its
    /// timing tells which accounts exist.
    ///
    /// Failed logins are counted per client address and per account (per identifier when no account has it, so
    /// the limit answers alike); a right password gives its attempt back. An address the account logged in from
    /// recently is exempt from the account's limit, so flooding an account from elsewhere cannot lock its owner out.
    ///
    /// # Errors
    /// [`LoginError::InvalidCredentials`], [`LoginError::EmailNotVerified`] and [`LoginError::AccountDisabled`]
    /// (only with the right password),
    /// [`LoginError::TooManyAttempts`] (before any hashing) or [`LoginError::Unavailable`].
    pub async fn login(
        &self,
        input: LoginInput,
        client: ClientInfo,
    ) -> Result<LoginOutcome, LoginError> {
        let LoginInput {
            identifier,
            password,
        } = input;
        let Some(password) = Password::for_verification(password, &self.policies.password) else {
            return Err(LoginError::InvalidCredentials);
        };
        // A login the hashing queue has no room for is refused before any lookup: under a flood most logins are
        // refused, and each refusal should cost no more than the answer. The place is held from here to the hash,
        // so the verification below is not refused for want of room after the lookup and count.
        let place = self.ports.hasher.reserve()?;
        // What the account's limit counts when no account has this identifier: the identifier as parsed, so the
        // limit answers for unknown accounts exactly as for known ones.
        let (lookup, typed) = if identifier.contains('@') {
            let email = Email::parse(&identifier).ok();
            let typed = email.as_ref().map_or(&*identifier, Email::key);
            (
                email.clone().map(UserLookup::Email),
                format!("email:{typed}"),
            )
        } else {
            let username = Username::parse(&identifier).ok();
            let typed = username.as_ref().map_or(&*identifier, Username::key);
            (
                username.clone().map(UserLookup::Username),
                format!("username:{typed}"),
            )
        };
        let credentials = match lookup {
            Some(lookup) => self.ports.users.find_credentials(&lookup).await?,
            None => None,
        };
        let counted = self
            .count_login_attempt(
                credentials.as_ref().map(|found| &found.user.id),
                &typed,
                &client,
            )
            .await??;
        let Some(credentials) = credentials else {
            if let Err(error) = self
                .ports
                .hasher
                .verify_nothing_reserved(place, &password)
                .await
            {
                self.forgive_if_refused(counted, &error).await;
                return Err(error.into());
            }
            self.record(EventKind::Login, EventOutcome::Failure, None, None, &client)
                .await;
            return Err(LoginError::InvalidCredentials);
        };
        let user_id = &credentials.user.id;
        let matched = match self
            .ports
            .hasher
            .verify_reserved(place, &password, &credentials.password_hash)
            .await
        {
            Ok(matched) => matched,
            Err(error) => {
                self.forgive_if_refused(counted, &error).await;
                return Err(error.into());
            }
        };
        if !matched {
            self.record(
                EventKind::Login,
                EventOutcome::Failure,
                Some(user_id),
                None,
                &client,
            )
            .await;
            return Err(LoginError::InvalidCredentials);
        }
        // The right password: not a guess, whatever follows. A login that starts its session gives the counted
        // attempts back in the session's own commit; every other outcome from here on gives them back on its own.
        if credentials.user.is_disabled() {
            self.forgive(counted).await;
            self.record(
                EventKind::Login,
                EventOutcome::Refused,
                Some(user_id),
                Some("account_disabled"),
                &client,
            )
            .await;
            return Err(LoginError::AccountDisabled);
        }
        if self.policies.verification.required_for_login() && !credentials.user.is_verified {
            self.forgive(counted).await;
            self.record(
                EventKind::Login,
                EventOutcome::Refused,
                Some(user_id),
                None,
                &client,
            )
            .await;
            return Err(LoginError::EmailNotVerified);
        }
        let (tokens, verified) = self
            .start_login_session(
                user_id,
                &password,
                credentials.password_hash.clone(),
                &client,
                counted,
            )
            .await?;
        self.upgrade_password_hash(user_id, &password, &verified)
            .await;
        Ok(LoginOutcome {
            user: credentials.user,
            tokens,
        })
    }

    /// Counts a login attempt against the address's limit and, unless the address is one the account logged in
    /// from recently, the identifier's (the email's or the username's lookup key, whether or not an account has it).
    async fn count_login_attempt(
        &self,
        user_id: Option<&UserId>,
        typed: &str,
        client: &ClientInfo,
    ) -> Result<Result<Counted, TooManyAttempts>, PortError> {
        let by_address = self.address_limit(Action::LoginByAddress, client);
        // Counted under the identifier's lookup key, for known and unknown accounts alike: a count shared between an
        // account's email and username would let a 429 tell which email a public username belongs to.
        let by_account = match self.limit(Action::LoginByAccount, typed) {
            // No account limit, so no exemption to look up: one read less per login.
            None => None,
            Some(limit) => {
                // The same lookup for an unknown account (under an id no account has), so its timing tells nothing.
                let nobody = UserId::from_random("nobody");
                let known = self
                    .is_known_address(user_id.unwrap_or(&nobody), client)
                    .await?;
                (!known || user_id.is_none()).then_some(limit)
            }
        };
        self.count_limits(
            Action::LoginByAddress,
            user_id,
            client,
            by_address.into_iter().chain(by_account),
        )
        .await
    }

    /// Starts the session of a login whose password matched `verified`, only while that is still the account's hash
    /// (see [`crate::ports::SessionRepository::create_login`]), with the login's other writes in the same commit;
    /// returns the tokens and the hash the session was made with.
    ///
    /// A hash that changed in between is either a password change or reset (the password given is no longer the
    /// account's) or another login's upgrade of the same password to new parameters (it still is): one more
    /// verification, against the hash now stored, tells them apart.
    ///
    /// The `counted` attempts are given back with the session, or on their own as soon as the first try starts none:
    /// the password was right when checked, whatever follows. (A commit whose outcome the store could not report may
    /// have given them back already; giving back twice costs the limit one attempt, never the user a refusal.)
    async fn start_login_session(
        &self,
        user_id: &UserId,
        password: &Password,
        verified: PasswordHash,
        client: &ClientInfo,
        counted: Counted,
    ) -> Result<(TokenPair, PasswordHash), LoginError> {
        match self
            .commit_login(user_id, client, &verified, counted.attempts())
            .await
        {
            Ok(tokens) => return Ok((tokens, verified)),
            Err(CreateSessionError::StaleCredentials) => self.forgive(counted).await,
            Err(CreateSessionError::Unavailable(source)) => {
                self.forgive(counted).await;
                return Err(source.into());
            }
        }
        let current = self
            .ports
            .users
            .find_credentials(&UserLookup::Id(user_id.clone()))
            .await?
            .ok_or(LoginError::InvalidCredentials)?;
        if !self
            .ports
            .hasher
            .verify(password, &current.password_hash)
            .await?
        {
            return Err(LoginError::InvalidCredentials);
        }
        // Disabled while the password was being checked: the store refuses its sessions.
        if current.user.is_disabled() {
            return Err(LoginError::AccountDisabled);
        }
        match self
            .commit_login(user_id, client, &current.password_hash, &[])
            .await
        {
            Ok(tokens) => Ok((tokens, current.password_hash)),
            // Changed once more: a password change for certain this time.
            Err(CreateSessionError::StaleCredentials) => Err(LoginError::InvalidCredentials),
            Err(CreateSessionError::Unavailable(source)) => Err(source.into()),
        }
    }

    /// After a login, stores a fresh hash of its password when the one it verified was made with other parameters
    /// than the hasher's current ones, so raising the argon2 cost reaches every account that logs in.
    ///
    /// Best effort, off the login's errors: the login has succeeded, and a hash left as it was still verifies (the
    /// next login tries again). The store replaces the hash only if it is still the one verified, so an upgrade never
    /// overwrites a password change that landed since.
    async fn upgrade_password_hash(
        &self,
        user_id: &UserId,
        password: &Password,
        verified: &PasswordHash,
    ) {
        if !self.ports.hasher.needs_rehash(verified) {
            return;
        }
        let upgraded = match self.ports.hasher.hash(password).await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::warn!(%error, "password hash not upgraded after login: hashing failed");
                return;
            }
        };
        match self
            .ports
            .users
            .rehash_password(user_id, verified, &upgraded)
            .await
        {
            Ok(true) => tracing::debug!("password hash upgraded to the current parameters"),
            Ok(false) => tracing::debug!("password hash not upgraded: it changed since the login"),
            Err(error) => tracing::warn!(%error, "password hash not upgraded after login"),
        }
    }

    /// Creates a session with its first refresh token and returns the session's token pair; with `verified`, only
    /// while that is still the account's password hash (see [`crate::ports::SessionRepository::create`]).
    pub(super) async fn start_session(
        &self,
        user_id: &UserId,
        client: ClientInfo,
        verified: Option<&PasswordHash>,
    ) -> Result<TokenPair, CreateSessionError> {
        let (session, tokens) = self.new_session(user_id, client, verified)?;
        self.ports.sessions.create(&session).await?;
        Ok(tokens)
    }

    /// Starts a login's session while `verified` is still the account's password hash, and in the same commit
    /// records the `login` event (and the `session_revoked` events of the sessions its cap ends), remembers the
    /// client's address and gives back the `forgiven` attempts (see
    /// [`crate::ports::SessionRepository::create_login`]); returns the session's token pair.
    async fn commit_login(
        &self,
        user_id: &UserId,
        client: &ClientInfo,
        verified: &PasswordHash,
        forgiven: &[(LimitKey, Rate)],
    ) -> Result<TokenPair, CreateSessionError> {
        let (session, tokens) = self.new_session(user_id, client.clone(), Some(verified))?;
        let event = self.event(
            EventKind::Login,
            EventOutcome::Success,
            Some(user_id),
            None,
            client,
        );
        let mut login = NewLogin::new(session, event).forgiving(forgiven.to_vec());
        if let Some(address) = known_address_of(client) {
            login = login.remembering(address);
        }
        self.ports.sessions.create_login(&login).await?;
        Ok(tokens)
    }

    /// A session for `user_id` starting now, capped at the policy's live sessions per user, and the token pair it
    /// will answer with. The tokens are signed before the session is stored, so nothing can fail once it is: a login
    /// that answers an error never leaves a session (or its success event) behind.
    fn new_session(
        &self,
        user_id: &UserId,
        client: ClientInfo,
        verified: Option<&PasswordHash>,
    ) -> Result<(NewSession, TokenPair), PortError> {
        let now = self.now();
        let refresh_token = self.ports.secrets.new_secret(REFRESH_TOKEN_PREFIX);
        let policy = &self.policies.tokens;
        let ends_at = now + policy.session_max_age();
        let session = NewSession {
            id: SessionId::from_random(&self.ports.secrets.new_id()),
            user_id: user_id.clone(),
            created_at: now,
            client,
            ends_at,
            refresh_token: NewRefreshToken {
                hash: refresh_token.hash(),
                issued_at: now,
                expires_at: (now + policy.refresh_ttl()).min(ends_at),
            },
            verified_password: verified.cloned(),
            max_live_sessions: Some(policy.max_sessions_per_user()),
        };
        let tokens = self.token_pair(user_id, &session.id, refresh_token, now, ends_at)?;
        Ok((session, tokens))
    }
}
