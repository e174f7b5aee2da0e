//! Changing an account's email address: the new address must prove itself (link or code, as verification does)
//! before it replaces the old one, and the old one hears of the request at once.

use super::reauth::Refusal;
use super::throttle::{Action, TooManyAttempts};
use super::verification::{VerifyEmailError, VERIFY_EMAIL_PATH};
use super::Latchkey;
use crate::access::SessionPrincipal;
use crate::error::PortError;
use crate::model::{
    ClientInfo, Email, EmailContent, EmailError, EmailId, EventKind, EventOutcome, NewEmail,
    Password, UserId,
};
use crate::policy::VerificationPolicy;
use crate::ports::{EmailChangeCheck, IssueOutcome, NewEmailChange, UserLookup};
use crate::secret::{PlainSecret, TokenHash};

/// Prefix of email-change link tokens: the verification page tells them from plain verification links by it.
pub const EMAIL_CHANGE_TOKEN_PREFIX: &str = "lke_";

/// Why an email change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeEmailError {
    /// The new address is malformed.
    #[error("invalid new_email: {0}")]
    InvalidEmail(EmailError),
    /// The new address is the account's address already.
    #[error("new_email is the account's address already")]
    SameEmail,
    /// The password given is wrong.
    #[error("password is incorrect")]
    InvalidPassword,
    /// Another account has the new address.
    #[error("email already registered")]
    EmailTaken,
    /// Too many wrong passwords for this account lately.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// The account no longer exists, or the session asking ended (a reset or password change revoked it) while
    /// the password was being checked.
    #[error("account not found")]
    AccountGone,
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

impl Latchkey {
    /// Asks to move the caller's account to `new_email`, after checking `password`: sends a link and a code to the
    /// new address and a notice to the current one. The address changes only once the new one is verified
    /// ([`Latchkey::verify_email_link`] or [`Latchkey::verify_email_code`] with the new address); then every other
    /// session is revoked. A newer request replaces a pending one. Only a login session may do this.
    ///
    /// Says whether another account has the address, as registration does: the caller proved the password, and
    /// registering the address would tell the same.
    ///
    /// # Errors
    /// [`ChangeEmailError::InvalidEmail`] and [`ChangeEmailError::SameEmail`] (before any hashing),
    /// [`ChangeEmailError::TooManyAttempts`] and [`ChangeEmailError::InvalidPassword`] (wrong passwords count per
    /// account, as for a password change), [`ChangeEmailError::EmailTaken`], [`ChangeEmailError::AccountGone`] or
    /// [`ChangeEmailError::Unavailable`].
    pub async fn request_email_change(
        &self,
        principal: &SessionPrincipal,
        new_email: &str,
        password: String,
    ) -> Result<(), ChangeEmailError> {
        let new_email = Email::parse(new_email).map_err(ChangeEmailError::InvalidEmail)?;
        let password = Password::for_verification(password, &self.policies.password)
            .ok_or(ChangeEmailError::InvalidPassword)?;
        let account = self
            .ports
            .users
            .find_credentials(&UserLookup::Id(principal.user_id().clone()))
            .await?
            .ok_or(ChangeEmailError::AccountGone)?;
        if account.user.email.key() == new_email.key() {
            return Err(ChangeEmailError::SameEmail);
        }
        match self
            .confirm_password(
                principal,
                &account,
                &password,
                EventKind::EmailChangeRequested,
            )
            .await?
        {
            Ok(()) => {}
            Err(Refusal::WrongPassword) => return Err(ChangeEmailError::InvalidPassword),
            Err(Refusal::TooManyAttempts(throttled)) => return Err(throttled.into()),
        }
        // Counted only with the right password, so a stolen session without it cannot use up the owner's requests.
        let _counted = self
            .count_attempt(
                Action::EmailChange,
                Some(principal.user_id()),
                principal.client(),
            )
            .await??;
        let change = self.new_email_change(principal, new_email);
        match self
            .ports
            .challenges
            .issue_email_change(principal.user_id(), &change)
            .await?
        {
            IssueOutcome::Issued => {}
            IssueOutcome::EmailTaken => return Err(ChangeEmailError::EmailTaken),
            // The account is gone, or so is the session that asked (a reset or a password change revoked it).
            IssueOutcome::NoAccount | IssueOutcome::SessionEnded => {
                return Err(ChangeEmailError::AccountGone)
            }
            // Not an email change's outcomes; a store that answers one has failed.
            outcome @ (IssueOutcome::Throttled | IssueOutcome::AlreadyVerified) => {
                return Err(PortError::new(
                    "issue email change",
                    format!("unexpected outcome {outcome:?}"),
                )
                .into())
            }
        }
        self.record(
            EventKind::EmailChangeRequested,
            EventOutcome::Success,
            Some(principal.user_id()),
            None,
            principal.client(),
        )
        .await;
        Ok(())
    }

    /// The pending change, its link and code (under the verification policy's lifetimes) and its two emails.
    fn new_email_change(&self, principal: &SessionPrincipal, new_email: Email) -> NewEmailChange {
        let policy = &self.policies.verification;
        let now = self.now();
        let token = self.ports.secrets.new_secret(EMAIL_CHANGE_TOKEN_PREFIX);
        let code = self.ports.secrets.new_code(VerificationPolicy::CODE_DIGITS);
        let link = PlainSecret::new(
            self.policies
                .public_url
                .link(VERIFY_EMAIL_PATH, token.expose()),
        );
        let email = |content| {
            NewEmail::new(
                EmailId::from_random(&self.ports.secrets.new_id()),
                content,
                now,
            )
        };
        let confirmation = email(EmailContent::EmailChange {
            link,
            code: code.clone(),
            link_valid_for: policy.link_ttl(),
            code_valid_for: policy.code_ttl(),
        });
        // Addressed by the store, like every email, to the account's address as it stands.
        let notice = email(EmailContent::EmailChangeNotice {
            new_address: new_email.masked(),
        });
        NewEmailChange::new(
            new_email,
            (token.hash(), now + policy.link_ttl()),
            (self.ports.secrets.code_hash(&code), now + policy.code_ttl()),
            Some(principal.session_id().clone()),
            now,
            confirmation,
            notice,
        )
    }

    /// Records a confirmed email change and says what verification answers: the account, or `invalid` (the
    /// caller's error for an unusable link or code), or [`VerifyEmailError::EmailTaken`].
    pub(super) async fn finish_email_change(
        &self,
        check: EmailChangeCheck,
        how: &str,
        client: &ClientInfo,
        invalid: VerifyEmailError,
    ) -> Result<UserId, VerifyEmailError> {
        match check {
            EmailChangeCheck::Changed(user_id) => {
                // The new address is verified: for an account never verified before, its first verification.
                self.welcome_verified(&user_id).await;
                self.record(
                    EventKind::EmailChanged,
                    EventOutcome::Success,
                    Some(&user_id),
                    Some(how),
                    client,
                )
                .await;
                Ok(user_id)
            }
            EmailChangeCheck::EmailTaken => Err(VerifyEmailError::EmailTaken),
            EmailChangeCheck::Wrong | EmailChangeCheck::Invalid => Err(invalid),
        }
    }

    /// Confirms the pending email change whose link token is `token`.
    pub(super) async fn confirm_email_change_link(
        &self,
        token: &str,
    ) -> Result<EmailChangeCheck, PortError> {
        self.ports
            .challenges
            .confirm_email_change_by_link(&TokenHash::of(token), self.now())
            .await
    }

    /// Confirms the pending email change to `new_email` with `code`.
    pub(super) async fn confirm_email_change_code(
        &self,
        new_email: &Email,
        code: &str,
    ) -> Result<EmailChangeCheck, PortError> {
        self.ports
            .challenges
            .confirm_email_change_by_code(
                new_email,
                &self.ports.secrets.code_hash(&PlainSecret::new(code)),
                self.now(),
                self.policies.verification.max_attempts(),
            )
            .await
    }
}
