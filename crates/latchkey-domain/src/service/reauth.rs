//! Asking for the password again before a sensitive change (password, email, deletion): one place that counts
//! wrong answers per account, records them and gives a right one back.

use super::throttle::{Action, TooManyAttempts};
use super::Latchkey;
use crate::access::SessionPrincipal;
use crate::error::PortError;
use crate::model::{EventKind, EventOutcome, Password, UserCredentials};

/// Why the password given to confirm a change was not accepted.
#[derive(Debug)]
pub(super) enum Refusal {
    /// It is not the account's password.
    WrongPassword,
    /// Too many wrong passwords for this account lately; nothing was hashed.
    TooManyAttempts(TooManyAttempts),
}

impl Latchkey {
    /// Checks that `password` is the password of `account`, the caller's own. Wrong answers count against the
    /// account's limit (decided before hashing) and are recorded as a `failure` of `event`; a right one gives its
    /// attempt back, and so does one the hashing queue refused (a 503 `overloaded` checked no password).
    ///
    /// # Errors
    /// [`PortError`] when a port fails; a refusal is `Ok(Err(_))`.
    pub(super) async fn confirm_password(
        &self,
        principal: &SessionPrincipal,
        account: &UserCredentials,
        password: &Password,
        event: EventKind,
    ) -> Result<Result<(), Refusal>, PortError> {
        let (user_id, client) = (principal.user_id(), principal.client());
        // A full hashing queue refuses before anything is counted: no password gets checked, so none is wrong. The
        // place is held until the hash, so a counted attempt is not refused for want of room afterwards.
        let place = self.ports.hasher.reserve()?;
        let counted = match self
            .count_attempt(Action::PasswordChange, Some(user_id), client)
            .await?
        {
            Ok(counted) => counted,
            Err(throttled) => return Ok(Err(Refusal::TooManyAttempts(throttled))),
        };
        let matches = match self
            .ports
            .hasher
            .verify_reserved(place, password, &account.password_hash)
            .await
        {
            Ok(matches) => matches,
            Err(error) => {
                // An overload refusal (from a hasher that does not reserve) checked no password: the attempt is given
                // back. Any other failure keeps it counted.
                self.forgive_if_refused(counted, &error).await;
                return Err(error);
            }
        };
        if !matches {
            self.record(event, EventOutcome::Failure, Some(user_id), None, client)
                .await;
            return Ok(Err(Refusal::WrongPassword));
        }
        self.forgive(counted).await;
        Ok(Ok(()))
    }
}
