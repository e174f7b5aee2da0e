//! The end of an account: its owner deleting it, and operators listing, disabling, enabling and deleting accounts.

use super::reauth::Refusal;
use super::throttle::TooManyAttempts;
use super::Latchkey;
use crate::access::SessionPrincipal;
use crate::error::PortError;
use crate::model::{ClientInfo, EventKind, EventOutcome, Password, SessionId, User, UserId};
use crate::ports::{UserLookup, UserQuery};

/// Why an account was not deleted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteAccountError {
    /// The password given is wrong.
    #[error("password is incorrect")]
    InvalidPassword,
    /// Too many wrong passwords for this account lately.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// The account no longer exists.
    #[error("account not found")]
    AccountGone,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Longest reason an operator may give for disabling an account, in characters.
pub const DISABLE_REASON_MAX_LENGTH: usize = 500;

impl Latchkey {
    /// Deletes the caller's account after checking `password`: every session, refresh token, personal token and
    /// API key ends at once, and the owner's personal data goes (see
    /// [`crate::ports::UserRepository::delete_user`]). Only a login session may do this.
    ///
    /// # Errors
    /// [`DeleteAccountError::TooManyAttempts`] and [`DeleteAccountError::InvalidPassword`] (wrong passwords count
    /// per account), [`DeleteAccountError::AccountGone`] or [`DeleteAccountError::Unavailable`].
    pub async fn delete_account(
        &self,
        principal: &SessionPrincipal,
        password: String,
    ) -> Result<(), DeleteAccountError> {
        let password = Password::for_verification(password, &self.policies.password)
            .ok_or(DeleteAccountError::InvalidPassword)?;
        let account = self
            .ports
            .users
            .find_credentials(&UserLookup::Id(principal.user_id().clone()))
            .await?
            .ok_or(DeleteAccountError::AccountGone)?;
        match self
            .confirm_password(principal, &account, &password, EventKind::AccountDeleted)
            .await?
        {
            Ok(()) => {}
            Err(Refusal::WrongPassword) => return Err(DeleteAccountError::InvalidPassword),
            Err(Refusal::TooManyAttempts(throttled)) => return Err(throttled.into()),
        }
        if !self
            .erase(principal.user_id(), Some(principal.session_id()))
            .await?
        {
            return Err(DeleteAccountError::AccountGone);
        }
        Ok(())
    }

    /// Deletes an account, as its owner asked from `asked_by` or (with `None`) as an operator did, and records it.
    /// The event keeps only the account id and who deleted it: no address, no user agent, no link to the (gone)
    /// account.
    async fn erase(
        &self,
        user_id: &UserId,
        asked_by: Option<&SessionId>,
    ) -> Result<bool, PortError> {
        // The store forgets the account's login addresses with it (see `UserRepository::delete_user`).
        if !self
            .ports
            .users
            .delete_user(user_id, asked_by, self.now())
            .await?
        {
            return Ok(false);
        }
        let by = if asked_by.is_some() {
            "owner"
        } else {
            "operator"
        };
        self.record(
            EventKind::AccountDeleted,
            EventOutcome::Success,
            None,
            Some(&format!("{} by {by}", user_id.as_str())),
            &ClientInfo::default(),
        )
        .await;
        Ok(true)
    }

    /// Accounts for an operator, newest first.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn list_accounts(&self, query: &UserQuery) -> Result<Vec<User>, PortError> {
        self.ports.users.list_users(query).await
    }

    /// Disables an account (an operator's decision): its sessions, personal tokens and API keys are revoked at once,
    /// refreshes and logins are refused (a login only after the password was checked). Disabling a disabled
    /// account updates the reason. `None` when no account has the id.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn disable_account(
        &self,
        user_id: &UserId,
        reason: Option<&str>,
    ) -> Result<Option<User>, PortError> {
        let reason: String = reason
            .unwrap_or_default()
            .trim()
            .chars()
            .filter(|c| !c.is_control())
            .take(DISABLE_REASON_MAX_LENGTH)
            .collect();
        let user = self
            .ports
            .users
            .set_disabled(user_id, Some(&reason), self.now())
            .await?;
        if user.is_some() {
            self.record(
                EventKind::AccountDisabled,
                EventOutcome::Success,
                Some(user_id),
                Some("operator"),
                &ClientInfo::default(),
            )
            .await;
        }
        Ok(user)
    }

    /// Enables a disabled account: its owner may log in again. Sessions and credentials revoked when it was
    /// disabled stay revoked. `None` when no account has the id.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn enable_account(&self, user_id: &UserId) -> Result<Option<User>, PortError> {
        let user = self
            .ports
            .users
            .set_disabled(user_id, None, self.now())
            .await?;
        if user.is_some() {
            self.record(
                EventKind::AccountEnabled,
                EventOutcome::Success,
                Some(user_id),
                Some("operator"),
                &ClientInfo::default(),
            )
            .await;
        }
        Ok(user)
    }

    /// Deletes an account as an operator (no password asked), as [`Latchkey::delete_account`] does; `false` when no
    /// account has the id.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn delete_account_as_operator(&self, user_id: &UserId) -> Result<bool, PortError> {
        self.erase(user_id, None).await
    }
}
