use std::fmt;

use super::throttle::{Action, TooManyAttempts};
use super::{Latchkey, TokenPair};
use crate::error::PortError;
use crate::model::{
    ClientInfo, DisplayName, DisplayNameError, Email, EmailError, EventKind, EventOutcome,
    LedgerEntryId, NewUser, Password, PasswordError, User, UserId, Username, UsernameError,
};
use crate::ports::{InsertUserError, UserLookup};

/// A registration as the client sent it; [`Latchkey::register`] parses every field.
///
/// Built field by field, so that no two strings can be swapped by position:
///
/// ```
/// # use latchkey_domain::service::RegisterInput;
/// let input = RegisterInput::new()
///     .email("jane@example.com")
///     .password("correct horse battery")
///     .username("jane");
/// # let _ = input;
/// ```
#[derive(Clone, Default)]
pub struct RegisterInput {
    email: String,
    password: String,
    name: Option<String>,
    username: Option<String>,
}

impl RegisterInput {
    /// An empty registration; an empty email or password is reported by [`Latchkey::register`] like any other.
    pub fn new() -> Self {
        Self::default()
    }

    /// The email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }

    /// The chosen password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = password.into();
        self
    }

    /// An optional display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// An optional username.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }
}

impl std::fmt::Debug for RegisterInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterInput")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .field("username", &self.username)
            .finish()
    }
}

/// A new account and its first session's tokens.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegisterOutcome {
    /// The account as created.
    pub user: User,
    /// Tokens for the new account's first session; `None` when a verified address is required before login
    /// ([`crate::VerificationPolicy::required_for_login`]), or when the account was created but its session could
    /// not be started, in which case the client logs in as usual. The account is never lost to a later failure.
    pub tokens: Option<TokenPair>,
}

/// Every rejected field of a registration, so a client can fix them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistrationErrors {
    /// Why the email address was refused, if it was.
    pub email: Option<EmailError>,
    /// Why the password was refused, if it was.
    pub password: Option<PasswordError>,
    /// Why the display name was refused, if it was.
    pub name: Option<DisplayNameError>,
    /// Why the username was refused, if it was.
    pub username: Option<UsernameError>,
}

impl RegistrationErrors {
    /// `true` when no field was refused.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

impl fmt::Display for RegistrationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: [(&str, Option<&dyn fmt::Display>); 4] = [
            ("email", self.email.as_ref().map(|e| e as &dyn fmt::Display)),
            (
                "password",
                self.password.as_ref().map(|e| e as &dyn fmt::Display),
            ),
            ("name", self.name.as_ref().map(|e| e as &dyn fmt::Display)),
            (
                "username",
                self.username.as_ref().map(|e| e as &dyn fmt::Display),
            ),
        ];
        let mut separator = "";
        for (field, error) in fields {
            if let Some(error) = error {
                write!(f, "{separator}{field} {error}")?;
                separator = "; ";
            }
        }
        Ok(())
    }
}

impl std::error::Error for RegistrationErrors {}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// One or more fields are invalid; nothing was stored.
    #[error("invalid registration: {0}")]
    Invalid(RegistrationErrors),
    /// The email address is already registered.
    #[error("email already registered")]
    EmailTaken,
    /// The username is already taken.
    #[error("username already taken")]
    UsernameTaken,
    /// Too many registrations from this client address.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Creates an account with the welcome credits, queues its verification email, and logs it in (unless a
    /// verified address is required before login).
    ///
    /// # Errors
    /// [`RegisterError::Invalid`] with every rejected field, [`RegisterError::EmailTaken`],
    /// [`RegisterError::UsernameTaken`], [`RegisterError::TooManyAttempts`] (counted per client address once the
    /// fields are valid, before the password is hashed) or [`RegisterError::Unavailable`].
    pub async fn register(
        &self,
        input: RegisterInput,
        client: ClientInfo,
    ) -> Result<RegisterOutcome, RegisterError> {
        let mut errors = RegistrationErrors::default();
        let email = Email::parse(&input.email).map_err(|e| errors.email = Some(e));
        // Trimmed, as the address and username are stored: " jane@…" must not let the password "jane@…" through.
        // (The typed form otherwise: a decomposed address typed again as the password is caught as typed.)
        let account_email = input.email.trim();
        let account_username = input.username.as_deref().map(str::trim);
        let password = Password::parse_new(input.password, &self.policies.password)
            .and_then(|password| {
                password.check_against_account(account_email, account_username)?;
                Ok(password)
            })
            .map_err(|e| errors.password = Some(e));
        let name = input
            .name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(|e| errors.name = Some(e));
        let username = input
            .username
            .as_deref()
            .map(Username::parse)
            .transpose()
            .map_err(|e| errors.username = Some(e));
        let (Ok(email), Ok(password), Ok(name), Ok(username)) = (email, password, name, username)
        else {
            return Err(RegisterError::Invalid(errors));
        };
        let _counted = self
            .count_attempt(Action::Registration, None, &client)
            .await??;

        let password_hash = self.ports.hasher.hash(&password).await?;
        let new_user = NewUser {
            id: UserId::from_random(&self.ports.secrets.new_id()),
            email,
            username,
            name,
            password_hash: password_hash.clone(),
            credits: self.policies.credits.registration_credits(),
            welcome_entry_id: LedgerEntryId::from_random(&self.ports.secrets.new_id()),
            created_at: self.now(),
        };
        let user = self
            .ports
            .users
            .insert(&new_user)
            .await
            .map_err(|error| match error {
                InsertUserError::EmailTaken => RegisterError::EmailTaken,
                InsertUserError::UsernameTaken => RegisterError::UsernameTaken,
                InsertUserError::Unavailable(source) => RegisterError::Unavailable(source),
            })?;
        // The account is created and must be acknowledged as such: failing now would make the client's retry
        // answer "email taken" for an account it was never told about. A lost verification email is resent on
        // request.
        if let Err(error) = self
            .issue_verification(&UserLookup::Id(user.id.clone()), chrono::TimeDelta::zero())
            .await
        {
            tracing::warn!(%error, "account created but its verification email could not be queued");
        }
        self.record(
            EventKind::Registered,
            EventOutcome::Success,
            Some(&user.id),
            None,
            &client,
        )
        .await;
        if self.policies.verification.required_for_login() {
            return Ok(RegisterOutcome { user, tokens: None });
        }
        self.remember_address(&user.id, &client).await;
        let tokens = match self
            .start_session(&user.id, client, Some(&password_hash))
            .await
        {
            Ok(tokens) => Some(tokens),
            Err(error) => {
                tracing::warn!(%error, "account created but its first session could not be started");
                None
            }
        };
        Ok(RegisterOutcome { user, tokens })
    }
}
