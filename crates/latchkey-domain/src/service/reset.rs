//! Forgotten passwords: a single-use link by email, then a new password.

use super::throttle::{Action, EmailRequestError};
use super::verification::MAX_TOKEN_LENGTH;
use super::Latchkey;
use crate::error::PortError;
use crate::model::{
    ClientInfo, Email, EmailContent, EmailId, EventKind, EventOutcome, NewEmail, Password,
    PasswordError, UserId, Username,
};
use crate::ports::NewReset;
use crate::secret::{PlainSecret, TokenHash};

/// Prefix of password reset tokens. With the 43 characters of a 256-bit secret, a token is 48 URL-safe characters.
pub const RESET_TOKEN_PREFIX: &str = "lkpw_";

/// Path of the reset page, under the public URL.
pub const RESET_PASSWORD_PATH: &str = "/reset-password";

/// Why a password could not be reset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResetPasswordError {
    /// The token is unknown, spent or expired.
    #[error("invalid or expired reset token")]
    InvalidToken,
    /// The new password breaks the policy (checked before the token, so a bad password spends nothing).
    #[error("invalid new password: new_password {0}")]
    InvalidNewPassword(PasswordError),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Sends a password reset link to the account with this address, if there is one, voiding any earlier link,
    /// at most once per [`crate::ResetPolicy::min_interval`]: [`Latchkey::admit_forgot_password`], then
    /// [`Latchkey::send_reset_link`].
    ///
    /// A server should rather answer as soon as the request is admitted and run `send_reset_link` without awaiting
    /// it (as `latchkey-http` does), so that the answer's timing cannot depend on whether the address has an account.
    ///
    /// # Errors
    /// [`EmailRequestError::TooManyAttempts`] past the address's limit, [`EmailRequestError::Unavailable`] when the
    /// store fails.
    pub async fn forgot_password(
        &self,
        email: &str,
        client: &ClientInfo,
    ) -> Result<(), EmailRequestError> {
        self.admit_forgot_password(client).await?;
        Ok(self.send_reset_link(email).await?)
    }

    /// Counts a forgot-password request against the client address's limit: the only part of the request whose
    /// outcome the client is told, and the same work whatever the address asked about.
    ///
    /// # Errors
    /// [`EmailRequestError::TooManyAttempts`] past the limit (nothing is to be sent then),
    /// [`EmailRequestError::Unavailable`] when the store fails.
    pub async fn admit_forgot_password(
        &self,
        client: &ClientInfo,
    ) -> Result<(), EmailRequestError> {
        let _counted = self
            .count_attempt(Action::ForgotPassword, None, client)
            .await??;
        Ok(())
    }

    /// Issues a reset link to the account with this address, if there is one, and queues its email: the token and
    /// email are made either way, and one store call looks the address up and writes both in one transaction.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn send_reset_link(&self, email: &str) -> Result<(), PortError> {
        let policy = &self.policies.reset;
        let now = self.now();
        let token = self.ports.secrets.new_secret(RESET_TOKEN_PREFIX);
        let link = PlainSecret::new(
            self.policies
                .public_url
                .link(RESET_PASSWORD_PATH, token.expose()),
        );
        let reset = NewReset::new(
            token.hash(),
            now + policy.ttl(),
            now,
            NewEmail::new(
                EmailId::from_random(&self.ports.secrets.new_id()),
                EmailContent::PasswordReset {
                    link,
                    valid_for: policy.ttl(),
                },
                now,
            ),
        );
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let outcome = self
            .ports
            .challenges
            .issue_reset(&email, &reset, policy.min_interval())
            .await?;
        tracing::debug!(?outcome, "password reset requested");
        Ok(())
    }

    /// Sets a new password with a reset token. On success the token is spent, the address counts as verified,
    /// and every session, refresh token, personal token and API key of the account is revoked; of concurrent uses
    /// of one token exactly one succeeds.
    ///
    /// # Errors
    /// [`ResetPasswordError::InvalidNewPassword`], [`ResetPasswordError::InvalidToken`] or
    /// [`ResetPasswordError::Unavailable`].
    pub async fn reset_password(
        &self,
        token: &str,
        new_password: String,
        client: &ClientInfo,
    ) -> Result<UserId, ResetPasswordError> {
        let password = Password::parse_new(new_password, &self.policies.password)
            .map_err(ResetPasswordError::InvalidNewPassword)?;
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_LENGTH {
            return Err(ResetPasswordError::InvalidToken);
        }
        let token_hash = TokenHash::of(token);
        // A cheap look first, so a bad token costs no password hash; the spend below decides.
        let Some(owner) = self
            .ports
            .challenges
            .reset_owner(&token_hash, self.now())
            .await?
        else {
            return Err(ResetPasswordError::InvalidToken);
        };
        // Only a live token's holder learns that the password names the account, and they know the account.
        if let Some(user) = self.ports.users.find(&owner).await? {
            password
                .check_against_account(
                    user.email.as_str(),
                    user.username.as_ref().map(Username::as_str),
                )
                .map_err(ResetPasswordError::InvalidNewPassword)?;
        }
        let hash = self.ports.hasher.hash(&password).await?;
        let user_id = self
            .ports
            .challenges
            .reset_password(&token_hash, &hash, self.now())
            .await?
            .ok_or(ResetPasswordError::InvalidToken)?;
        // A reset proves the mailbox, so the address counts as verified from now on: the welcome credits that wait
        // for verification are due (given at most once, whichever way the address was first proved).
        self.welcome_verified(&user_id).await;
        self.forget_login_addresses(&user_id).await;
        self.record(
            EventKind::PasswordReset,
            EventOutcome::Success,
            Some(&user_id),
            None,
            client,
        )
        .await;
        Ok(user_id)
    }
}
