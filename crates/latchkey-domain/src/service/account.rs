use super::reauth::Refusal;
use super::throttle::TooManyAttempts;
use super::{AuthError, Latchkey};
use crate::access::{Principal, Scope, SessionPrincipal};
use crate::error::PortError;
use crate::model::{
    Email, EventKind, EventOutcome, Password, PasswordError, Pricing, User, UserId, Username,
};
use crate::ports::UserLookup;

/// A credit balance with the price list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreditsView {
    /// Current balance.
    pub credits: i64,
    /// Price per unit.
    pub pricing: Pricing,
}

/// A password change as the client sent it.
///
/// ```
/// # use latchkey_domain::service::ChangePasswordInput;
/// let input = ChangePasswordInput::new()
///     .current_password("correct horse battery")
///     .new_password("a brand new passphrase");
/// # let _ = input;
/// ```
#[derive(Clone, Default)]
pub struct ChangePasswordInput {
    current_password: String,
    new_password: String,
}

impl ChangePasswordInput {
    /// An empty change (refused: the empty new password is too short).
    pub fn new() -> Self {
        Self::default()
    }

    /// The password the caller has now, as proof that the caller is the account holder.
    pub fn current_password(mut self, password: impl Into<String>) -> Self {
        self.current_password = password.into();
        self
    }

    /// The password to set.
    pub fn new_password(mut self, password: impl Into<String>) -> Self {
        self.new_password = password.into();
        self
    }
}

impl std::fmt::Debug for ChangePasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordInput(<redacted>)")
    }
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangePasswordError {
    /// The current password given is wrong.
    #[error("current password is incorrect")]
    InvalidCurrentPassword,
    /// The new password breaks the policy.
    #[error("invalid new password: new_password {0}")]
    InvalidNewPassword(PasswordError),
    /// The account no longer exists, or the session asking ended (a reset, another change or a logout revoked
    /// it) while the current password was being checked: nothing changed.
    #[error("account not found")]
    AccountGone,
    /// Too many wrong current passwords for this account lately.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// The caller's account; needs `profile:read`.
    ///
    /// # Errors
    /// [`AuthError::Forbidden`] without the scope, [`AuthError::InvalidToken`] when the account no longer exists,
    /// or [`AuthError::Unavailable`].
    pub async fn current_user(&self, principal: &Principal) -> Result<User, AuthError> {
        principal.require(Scope::ProfileRead)?;
        self.find_user(principal).await
    }

    /// The account named by its id (`usr_…`) or its email address, for operators' tools; `None` when no account
    /// has it.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn find_account(&self, id_or_email: &str) -> Result<Option<User>, PortError> {
        if let Some(id) = UserId::parse(id_or_email.trim()) {
            return self.ports.users.find(&id).await;
        }
        let Ok(email) = Email::parse(id_or_email) else {
            return Ok(None);
        };
        Ok(self
            .ports
            .users
            .find_credentials(&UserLookup::Email(email))
            .await?
            .map(|credentials| credentials.user))
    }

    async fn find_user(&self, principal: &Principal) -> Result<User, AuthError> {
        self.ports
            .users
            .find(&principal.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)
    }

    /// The caller's credit balance and the price of each unit; needs `credits:read`.
    ///
    /// # Errors
    /// As [`Latchkey::current_user`].
    pub async fn credits(&self, principal: &Principal) -> Result<CreditsView, AuthError> {
        principal.require(Scope::CreditsRead)?;
        let user = self.find_user(principal).await?;
        Ok(self.credits_of(&user))
    }

    /// The balance of an account already loaded (see [`Latchkey::authenticate_user`]) with the price list.
    pub fn credits_of(&self, user: &User) -> CreditsView {
        CreditsView {
            credits: user.credits,
            pricing: self.policies.credits.pricing().clone(),
        }
    }

    /// Changes the caller's password after checking the current one, and revokes every other session. Only a login
    /// session may do this.
    ///
    /// # Errors
    /// [`ChangePasswordError::InvalidNewPassword`] for a new password the policy refuses (checked first, so a bad request
    /// costs no hashing), [`ChangePasswordError::InvalidCurrentPassword`], [`ChangePasswordError::TooManyAttempts`]
    /// (too many wrong current passwords for the account, decided before hashing),
    /// [`ChangePasswordError::AccountGone`] or [`ChangePasswordError::Unavailable`].
    pub async fn change_password(
        &self,
        principal: &SessionPrincipal,
        input: ChangePasswordInput,
    ) -> Result<(), ChangePasswordError> {
        let policy = &self.policies.password;
        let new_password = Password::parse_new(input.new_password, policy)
            .map_err(ChangePasswordError::InvalidNewPassword)?;
        let Some(current_password) = Password::for_verification(input.current_password, policy)
        else {
            return Err(ChangePasswordError::InvalidCurrentPassword);
        };
        let credentials = self
            .ports
            .users
            .find_credentials(&UserLookup::Id(principal.user_id().clone()))
            .await?
            .ok_or(ChangePasswordError::AccountGone)?;
        let user = &credentials.user;
        new_password
            .check_against_account(
                user.email.as_str(),
                user.username.as_ref().map(Username::as_str),
            )
            .map_err(ChangePasswordError::InvalidNewPassword)?;
        match self
            .confirm_password(
                principal,
                &credentials,
                &current_password,
                EventKind::PasswordChanged,
            )
            .await?
        {
            Ok(()) => {}
            Err(Refusal::WrongPassword) => return Err(ChangePasswordError::InvalidCurrentPassword),
            Err(Refusal::TooManyAttempts(throttled)) => return Err(throttled.into()),
        }
        let new_hash = self.ports.hasher.hash(&new_password).await?;
        let updated = self
            .ports
            .users
            .update_password(
                principal.user_id(),
                &new_hash,
                Some(principal.session_id()),
                self.now(),
            )
            .await?;
        let (user_id, client) = (principal.user_id(), principal.client());
        if updated {
            self.forget_login_addresses(user_id).await;
            self.record(
                EventKind::PasswordChanged,
                EventOutcome::Success,
                Some(user_id),
                Some(principal.session_id().as_str()),
                client,
            )
            .await;
            Ok(())
        } else {
            Err(ChangePasswordError::AccountGone)
        }
    }
}
