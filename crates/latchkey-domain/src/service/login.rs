use super::throttle::{Action, Counted, TooManyAttempts};
use super::{Latchkey, TokenPair, REFRESH_TOKEN_PREFIX};
use crate::error::PortError;
use crate::model::{
    ClientInfo, Email, EventKind, EventOutcome, NewRefreshToken, NewSession, Password, SessionId,
    User, UserId, Username,
};
use crate::ports::UserLookup;

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
    /// [`LoginError::InvalidCredentials`], [`LoginError::EmailNotVerified`] (only with the right password),
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
        // What the account's limit counts when no account has this identifier: the identifier as parsed, so the
        // limit answers for unknown accounts exactly as for known ones.
        let (lookup, typed) = if identifier.contains('@') {
            let email = Email::parse(&identifier).ok();
            let typed = email.as_ref().map_or(&*identifier, Email::as_str);
            (
                email.clone().map(UserLookup::Email),
                format!("email:{typed}"),
            )
        } else {
            let username = Username::parse(&identifier).ok();
            let typed = username.as_ref().map_or(&*identifier, Username::as_str);
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
            self.ports.hasher.verify_nothing(&password).await?;
            self.record(EventKind::Login, EventOutcome::Failure, None, None, &client)
                .await;
            return Err(LoginError::InvalidCredentials);
        };
        let user_id = &credentials.user.id;
        if !self
            .ports
            .hasher
            .verify(&password, &credentials.password_hash)
            .await?
        {
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
        // The right password: not a guess, whatever follows.
        self.forgive(counted).await;
        if self.policies.verification.required_for_login() && !credentials.user.is_verified {
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
        self.remember_address(user_id, &client).await;
        self.record(
            EventKind::Login,
            EventOutcome::Success,
            Some(user_id),
            None,
            &client,
        )
        .await;
        let tokens = self.start_session(user_id, client).await?;
        Ok(LoginOutcome {
            user: credentials.user,
            tokens,
        })
    }

    /// Counts a login attempt against the address's limit and, unless the address is one the account logged in
    /// from recently, the account's (by id, or by what was typed when no account has it).
    async fn count_login_attempt(
        &self,
        user_id: Option<&UserId>,
        typed: &str,
        client: &ClientInfo,
    ) -> Result<Result<Counted, TooManyAttempts>, PortError> {
        let by_address = self.address_limit(Action::LoginByAddress, client);
        let by_account = match user_id {
            Some(user_id) if self.is_known_address(user_id, client).await? => None,
            Some(user_id) => self.limit(Action::LoginByAccount, user_id.as_str()),
            None => self.limit(Action::LoginByAccount, typed),
        };
        self.count_limits(
            Action::LoginByAddress,
            user_id,
            client,
            by_address.into_iter().chain(by_account),
        )
        .await
    }

    /// Creates a session with its first refresh token and returns the session's token pair.
    pub(super) async fn start_session(
        &self,
        user_id: &UserId,
        client: ClientInfo,
    ) -> Result<TokenPair, PortError> {
        let now = self.now();
        let refresh_token = self.ports.secrets.new_secret(REFRESH_TOKEN_PREFIX);
        let session = NewSession {
            id: SessionId::from_random(&self.ports.secrets.new_id()),
            user_id: user_id.clone(),
            created_at: now,
            client,
            refresh_token: NewRefreshToken {
                hash: refresh_token.hash(),
                issued_at: now,
                expires_at: now + self.policies.tokens.refresh_ttl(),
            },
        };
        let session = self.ports.sessions.create(&session).await?;
        self.token_pair(user_id, &session.id, refresh_token, now)
    }
}
