use super::{Latchkey, TokenPair};
use crate::error::{PortError, ValidationErrors};
use crate::model::{ClientInfo, DisplayName, Email, NewUser, Password, User, UserId, Username};
use crate::ports::InsertUserError;

/// A registration as the client sent it; [`Latchkey::register`] parses every field.
#[derive(Clone)]
pub struct RegisterInput {
    /// Email address.
    pub email: String,
    /// Chosen password.
    pub password: String,
    /// Optional display name.
    pub name: Option<String>,
    /// Optional username.
    pub username: Option<String>,
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
pub struct RegisterOutcome {
    /// The account as created.
    pub user: User,
    /// Tokens for the new account's first session; `None` when the account was created but its session could
    /// not be started, in which case the client logs in as usual. The account is never lost to a later failure.
    pub tokens: Option<TokenPair>,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// One or more fields are invalid; nothing was stored.
    #[error("invalid registration: {0}")]
    Invalid(ValidationErrors),
    /// The email address is already registered.
    #[error("email already registered")]
    EmailTaken,
    /// The username is already taken.
    #[error("username already taken")]
    UsernameTaken,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Creates an account with the welcome credits and logs it in.
    ///
    /// # Errors
    /// [`RegisterError::Invalid`] with every rejected field, [`RegisterError::EmailTaken`],
    /// [`RegisterError::UsernameTaken`], or [`RegisterError::Unavailable`].
    pub async fn register(
        &self,
        input: RegisterInput,
        client: ClientInfo,
    ) -> Result<RegisterOutcome, RegisterError> {
        let mut errors = ValidationErrors::default();
        let email = errors.collect("email", Email::parse(&input.email));
        let password = errors.collect(
            "password",
            Password::parse_new(input.password, &self.policies.password),
        );
        let name = input
            .name
            .as_deref()
            .and_then(|name| errors.collect("name", DisplayName::parse(name)));
        let username = input
            .username
            .as_deref()
            .and_then(|username| errors.collect("username", Username::parse(username)));
        let (Some(email), Some(password)) = (email, password) else {
            return Err(RegisterError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(RegisterError::Invalid(errors));
        }

        let password_hash = self.ports.hasher.hash(&password).await?;
        let new_user = NewUser {
            id: UserId::from_random(&self.ports.secrets.new_id()),
            email,
            username,
            name,
            password_hash,
            credits: self.policies.credits.welcome_credits,
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
        // answer "email taken" for an account it was never told about.
        let tokens = match self.start_session(&user.id, client).await {
            Ok(tokens) => Some(tokens),
            Err(error) => {
                tracing::warn!(%error, "account created but its first session could not be started");
                None
            }
        };
        Ok(RegisterOutcome { user, tokens })
    }
}
