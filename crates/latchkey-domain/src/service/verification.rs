//! Email verification: by link, by code, and sending a new email.

use super::email_change::EMAIL_CHANGE_TOKEN_PREFIX;
use super::throttle::{Action, EmailRequestError, TooManyAttempts};
use super::Latchkey;
use crate::access::Principal;
use crate::error::PortError;
use crate::model::{
    ClientInfo, Email, EmailContent, EmailId, EventKind, EventOutcome, NewEmail, UserId,
};
use crate::policy::VerificationPolicy;
use crate::ports::{CodeCheck, EmailChangeCheck, IssueOutcome, NewVerification, UserLookup};
use crate::secret::{PlainSecret, TokenHash};

/// Prefix of verification link tokens.
pub const VERIFICATION_TOKEN_PREFIX: &str = "lkv_";

/// Path of the verification page, under the public URL.
pub const VERIFY_EMAIL_PATH: &str = "/verify-email";

/// Longest token or code looked up; anything longer is no token of ours and costs no query.
pub(super) const MAX_TOKEN_LENGTH: usize = 256;

/// Why an address could not be verified. Both answers are the same whether or not the address has an account.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyEmailError {
    /// The link token is unknown, spent or expired.
    #[error("invalid or expired verification link")]
    InvalidToken,
    /// The code is wrong, spent, expired or burnt, or the address has no account or no pending verification.
    #[error("invalid or expired verification code")]
    InvalidCode,
    /// The link or code confirmed an email change, but another account has taken the new address since it was
    /// asked for; the change is dropped.
    #[error("email already registered")]
    EmailTaken,
    /// Too many code attempts from this client address.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Whose verification email to send again.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ResendTarget<'a> {
    /// The caller's own account (any credential will do: the email goes to the account's own address).
    Caller(&'a Principal),
    /// The account with this address, as typed by someone who may not hold it; unparseable addresses are ignored.
    Address(&'a str),
}

impl Latchkey {
    /// Verifies the address of the account whose verification link carries `token`, spending the link and its code;
    /// or, for the link of an email change (`lke_…`), moves the account to its new address.
    ///
    /// # Errors
    /// [`VerifyEmailError::InvalidToken`], [`VerifyEmailError::EmailTaken`] (email changes only) or
    /// [`VerifyEmailError::Unavailable`].
    pub async fn verify_email_link(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<UserId, VerifyEmailError> {
        let token = token.trim();
        if token.is_empty() || token.len() > MAX_TOKEN_LENGTH {
            return Err(VerifyEmailError::InvalidToken);
        }
        if token.starts_with(EMAIL_CHANGE_TOKEN_PREFIX) {
            let check = self.confirm_email_change_link(token).await?;
            return self
                .finish_email_change(check, "link", client, VerifyEmailError::InvalidToken)
                .await;
        }
        let user_id = self
            .ports
            .challenges
            .verify_by_link(&TokenHash::of(token), self.now())
            .await?
            .ok_or(VerifyEmailError::InvalidToken)?;
        self.record_verified(&user_id, "link", client).await;
        Ok(user_id)
    }

    async fn record_verified(&self, user_id: &UserId, how: &str, client: &ClientInfo) {
        self.welcome_verified(user_id).await;
        self.record(
            EventKind::EmailVerified,
            EventOutcome::Success,
            Some(user_id),
            Some(how),
            client,
        )
        .await;
    }

    /// Verifies the address `email` with the code sent to it (to an account's address, or to the new address of
    /// an email change, which it then completes). A wrong code counts against the code's tries; after
    /// [`VerificationPolicy::max_attempts`] wrong ones it is burnt and a new email is needed.
    ///
    /// # Errors
    /// [`VerifyEmailError::InvalidCode`] (also for an address with no account, and for input that is no address
    /// or no code at all), [`VerifyEmailError::TooManyAttempts`] (well-formed attempts are counted per client
    /// address, besides each code's own tries) or [`VerifyEmailError::Unavailable`].
    pub async fn verify_email_code(
        &self,
        email: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<UserId, VerifyEmailError> {
        let code = code.trim();
        let well_formed = code.len() == VerificationPolicy::CODE_DIGITS as usize
            && code.bytes().all(|b| b.is_ascii_digit());
        let (Ok(email), true) = (Email::parse(email), well_formed) else {
            return Err(VerifyEmailError::InvalidCode);
        };
        let _counted = self
            .count_attempt(Action::VerifyCode, None, client)
            .await??;
        // A pending email change to this address first: the address may belong to an account (unverified, with a
        // challenge of its own) that registered it after the change was asked for, and then the change's code must
        // answer `EmailTaken`, not count as a wrong try at that account's code. With no change pending this is one
        // indexed read that counts nothing.
        if let check @ (EmailChangeCheck::Changed(_) | EmailChangeCheck::EmailTaken) =
            self.confirm_email_change_code(&email, code).await?
        {
            return self
                .finish_email_change(check, "code", client, VerifyEmailError::InvalidCode)
                .await;
        }
        let policy = &self.policies.verification;
        match self
            .ports
            .challenges
            .verify_by_code(
                &email,
                &self.ports.secrets.code_hash(&PlainSecret::new(code)),
                self.now(),
                policy.max_attempts(),
            )
            .await?
        {
            CodeCheck::Verified(user_id) => {
                self.record_verified(&user_id, "code", client).await;
                Ok(user_id)
            }
            _ => Err(VerifyEmailError::InvalidCode),
        }
    }

    /// Sends a new verification email (voiding the previous link and code) to an account that is not verified
    /// yet, at most once per [`VerificationPolicy::resend_interval`]. Says nothing about what it did: unknown,
    /// verified and throttled accounts all get `Ok`, so the caller's answer cannot reveal which addresses have
    /// accounts. Requests are counted per client address; past the limit nothing is sent.
    ///
    /// Its duration still can: an unverified account costs a write an unknown address does not. A caller answering
    /// a resend to an address should call [`Latchkey::admit_resend_verification`], answer, then
    /// [`Latchkey::send_verification_to`], as the server does.
    ///
    /// # Errors
    /// [`EmailRequestError::TooManyAttempts`] past the address's limit, [`EmailRequestError::Unavailable`] when the
    /// store fails.
    pub async fn resend_verification(
        &self,
        target: ResendTarget<'_>,
        client: &ClientInfo,
    ) -> Result<(), EmailRequestError> {
        self.admit_resend_verification(client).await?;
        match target {
            ResendTarget::Caller(principal) => {
                self.resend_verification_to(&UserLookup::Id(principal.user_id.clone()))
                    .await?;
            }
            ResendTarget::Address(address) => self.send_verification_to(address).await?,
        }
        Ok(())
    }

    /// Counts a resend request against the client address's limit: the only part of a resend to an address whose
    /// outcome the client is told, and the same work whatever the address (see
    /// [`Latchkey::send_verification_to`]).
    ///
    /// # Errors
    /// [`EmailRequestError::TooManyAttempts`] past the limit (nothing is to be sent then),
    /// [`EmailRequestError::Unavailable`] when the store fails.
    pub async fn admit_resend_verification(
        &self,
        client: &ClientInfo,
    ) -> Result<(), EmailRequestError> {
        let _counted = self
            .count_attempt(Action::ResendVerification, None, client)
            .await??;
        Ok(())
    }

    /// The second half of a resend to an address, after [`Latchkey::admit_resend_verification`]: sends a new
    /// verification email if an unverified account has this address and its last one is older than the resend
    /// interval, and does nothing otherwise. A known address costs more store work than an unknown one, so a
    /// caller that must not reveal which addresses have accounts runs this after answering.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn send_verification_to(&self, address: &str) -> Result<(), PortError> {
        match Email::parse(address) {
            Ok(email) => self.resend_verification_to(&UserLookup::Email(email)).await,
            Err(_) => Ok(()),
        }
    }

    async fn resend_verification_to(&self, account: &UserLookup) -> Result<(), PortError> {
        let outcome = self
            .issue_verification(account, self.policies.verification.resend_interval())
            .await?;
        tracing::debug!(?outcome, "verification email requested");
        Ok(())
    }

    /// Makes a link token and a code, stores their hashes and queues the email carrying them, in one port call.
    pub(super) async fn issue_verification(
        &self,
        account: &UserLookup,
        min_interval: chrono::TimeDelta,
    ) -> Result<IssueOutcome, PortError> {
        let policy = &self.policies.verification;
        let now = self.now();
        let token = self.ports.secrets.new_secret(VERIFICATION_TOKEN_PREFIX);
        let code = self.ports.secrets.new_code(VerificationPolicy::CODE_DIGITS);
        let link = PlainSecret::new(
            self.policies
                .public_url
                .link(VERIFY_EMAIL_PATH, token.expose()),
        );
        let email = NewEmail::new(
            EmailId::from_random(&self.ports.secrets.new_id()),
            EmailContent::Verification {
                link,
                code: code.clone(),
                link_valid_for: policy.link_ttl(),
                code_valid_for: policy.code_ttl(),
            },
            now,
        );
        let challenge = NewVerification::new(
            (token.hash(), now + policy.link_ttl()),
            (self.ports.secrets.code_hash(&code), now + policy.code_ttl()),
            now,
            email,
        );
        self.ports
            .challenges
            .issue_verification(account, &challenge, min_interval)
            .await
    }
}
