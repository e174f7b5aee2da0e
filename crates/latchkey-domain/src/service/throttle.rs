//! Rate limits of the actions an attacker would repeat, counted in the shared store through the
//! [`RateLimiter`](crate::ports::RateLimiter) port before any password is hashed.

use std::net::IpAddr;

use chrono::TimeDelta;

use super::Latchkey;
use crate::error::PortError;
use crate::model::{ClientInfo, EventKind, EventOutcome, UserId};
use crate::policy::Rate;
use crate::ports::{Admission, LimitKey};

/// Refused by a rate limit: the same answer whether or not the account exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; try again in {} seconds", .retry_after.num_seconds())]
pub struct TooManyAttempts {
    /// How long until an attempt would be admitted (whole seconds, at least one).
    pub retry_after: TimeDelta,
}

/// Why a use case that only sends an email (forgot-password, resend-verification) failed; the request itself is
/// always answered alike.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmailRequestError {
    /// The client address made too many such requests.
    #[error(transparent)]
    TooManyAttempts(#[from] TooManyAttempts),
    /// A port failed.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// The throttled actions; each names its keys, so two actions never share a count.
#[derive(Debug, Clone, Copy)]
pub(super) enum Action {
    LoginByAccount,
    LoginByAddress,
    PasswordChange,
    EmailChange,
    Registration,
    ForgotPassword,
    ResendVerification,
    VerifyCode,
    Refresh,
}

impl Action {
    /// What a `throttled` event names as its subject: the action, without the limit's dimension.
    fn event_subject(self) -> &'static str {
        match self {
            Self::LoginByAccount | Self::LoginByAddress => "login",
            Self::PasswordChange => "password_change",
            Self::EmailChange => "email_change",
            Self::Registration => "registration",
            Self::ForgotPassword => "forgot_password",
            Self::ResendVerification => "resend_verification",
            Self::VerifyCode => "verify_code",
            Self::Refresh => "refresh",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::LoginByAccount => "login:account",
            Self::LoginByAddress => "login:address",
            Self::PasswordChange => "password-change:account",
            Self::EmailChange => "email-change:account",
            Self::Registration => "register:address",
            Self::ForgotPassword => "forgot-password:address",
            Self::ResendVerification => "resend-verification:address",
            Self::VerifyCode => "verify-code:address",
            Self::Refresh => "refresh:address",
        }
    }
}

/// Attempts counted against their limits: given back with [`Latchkey::forgive`] when the attempt proves not to be
/// a failure (a right password).
#[derive(Debug, Default)]
#[must_use]
pub(super) struct Counted(Vec<(LimitKey, Rate)>);

impl Counted {
    /// The counted attempts, for a port that gives them back together with other writes.
    pub(super) fn attempts(&self) -> &[(LimitKey, Rate)] {
        &self.0
    }
}

/// The address a limit counts for a client: IPv4 as is, IPv6 by its /64 network (one subscriber's allocation, which an
/// attacker could otherwise walk through), an IPv4-mapped IPv6 address as the IPv4 one. `None` when the caller did
/// not say, or said something that is not an address.
pub(super) fn address_of(client: &ClientInfo) -> Option<String> {
    let ip: IpAddr = client.ip.as_deref()?.trim().parse().ok()?;
    Some(match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(network))
            }
        },
    })
}

/// The key under which the client's address is remembered as one an account logged in from; `None` without an
/// address.
pub(super) fn known_address_of(client: &ClientInfo) -> Option<LimitKey> {
    address_of(client).map(|address| LimitKey::new("known-address", &address))
}

impl Latchkey {
    /// The limit of `action` by `subject`, if the policy sets one.
    pub(super) fn limit(&self, action: Action, subject: &str) -> Option<(LimitKey, Rate)> {
        let throttle = &self.policies.throttle;
        let rate = match action {
            Action::LoginByAccount => throttle.login_per_account,
            Action::LoginByAddress => throttle.login_per_address,
            Action::PasswordChange => throttle.password_change_per_account,
            Action::EmailChange => throttle.email_change_per_account,
            Action::Registration => throttle.registration_per_address,
            Action::ForgotPassword => throttle.forgot_password_per_address,
            Action::ResendVerification => throttle.resend_verification_per_address,
            Action::VerifyCode => throttle.verify_code_per_address,
            Action::Refresh => throttle.refresh_per_address,
        }?;
        Some((LimitKey::new(action.name(), subject), rate))
    }

    /// The limit of `action` by the client's address, if the policy sets one and the client has an address.
    pub(super) fn address_limit(
        &self,
        action: Action,
        client: &ClientInfo,
    ) -> Option<(LimitKey, Rate)> {
        self.limit(action, &address_of(client)?)
    }

    /// Counts one attempt of `action` against its limit: the password-change and email-change limits by `user_id`,
    /// every other by the client's address. (The login's two limits are built by `Latchkey::login`, which also
    /// knows the identifier and the exemption.) A refusal is recorded as a `throttled` security event.
    ///
    /// # Errors
    /// [`PortError`] when the store fails (the outer error); [`TooManyAttempts`] when a limit refuses.
    pub(super) async fn count_attempt(
        &self,
        action: Action,
        user_id: Option<&UserId>,
        client: &ClientInfo,
    ) -> Result<Result<Counted, TooManyAttempts>, PortError> {
        let limits = match action {
            Action::PasswordChange | Action::EmailChange => {
                user_id.and_then(|user_id| self.limit(action, user_id.as_str()))
            }
            Action::LoginByAccount => None,
            _ => self.address_limit(action, client),
        };
        self.count_limits(action, user_id, client, limits).await
    }

    /// Counts one attempt against each limit. If one refuses, the attempts already counted are given back (the
    /// attempt did not happen), the refusal is recorded, and the answer is the wait the refusing limit asks for.
    ///
    /// # Errors
    /// [`PortError`] when the store fails (the outer error); [`TooManyAttempts`] when a limit refuses.
    pub(super) async fn count_limits(
        &self,
        action: Action,
        user_id: Option<&UserId>,
        client: &ClientInfo,
        limits: impl IntoIterator<Item = (LimitKey, Rate)>,
    ) -> Result<Result<Counted, TooManyAttempts>, PortError> {
        let now = self.now();
        let mut counted = Counted::default();
        for (key, rate) in limits {
            match self.ports.limiter.acquire(&key, rate, now).await? {
                Admission::Admitted => counted.0.push((key, rate)),
                Admission::Refused { retry_after } => {
                    self.forgive(counted).await;
                    self.record_throttled(action, user_id, client, &key, rate)
                        .await;
                    // Whole seconds, rounded up, as Retry-After carries them.
                    let seconds = (retry_after.num_milliseconds() + 999) / 1000;
                    return Ok(Err(TooManyAttempts {
                        retry_after: TimeDelta::seconds(seconds.max(1)),
                    }));
                }
            }
        }
        Ok(Ok(counted))
    }

    /// Records a refusal as a `throttled` event, at most once per refusing key and period: a flood past a limit must
    /// not become a flood of stored events.
    async fn record_throttled(
        &self,
        action: Action,
        user_id: Option<&UserId>,
        client: &ClientInfo,
        key: &LimitKey,
        rate: Rate,
    ) {
        let once = LimitKey::new("throttled-event", &key.hash().to_hex());
        let Ok(once_per_period) = Rate::new(1, rate.period()) else {
            return;
        };
        match self
            .ports
            .limiter
            .acquire(&once, once_per_period, self.now())
            .await
        {
            Ok(Admission::Admitted) => {
                self.record(
                    EventKind::Throttled,
                    EventOutcome::Refused,
                    user_id,
                    Some(action.event_subject()),
                    client,
                )
                .await;
            }
            Ok(Admission::Refused { .. }) => {}
            Err(error) => tracing::warn!(%error, "could not decide whether to record a refusal"),
        }
    }

    /// Gives back counted attempts. A failure only costs the user one attempt of their allowance, so it is logged
    /// rather than failing a request that otherwise succeeded.
    pub(super) async fn forgive(&self, counted: Counted) {
        for (key, rate) in counted.0 {
            if let Err(error) = self.ports.limiter.release(&key, rate).await {
                tracing::warn!(error = %error, "could not give back a counted attempt");
            }
        }
    }

    /// Gives the counted attempt back when the hasher refused the work for overload ([`PortError::retry_after`]):
    /// such a refusal comes before any hashing, so no password was checked. Any other failure keeps the count, since
    /// a hasher might fail after comparing, and forgiving that would hand out free guesses.
    pub(super) async fn forgive_if_refused(&self, counted: Counted, error: &PortError) {
        if error.retry_after().is_some() {
            self.forgive(counted).await;
        }
    }

    /// Whether `user_id` logged in from the client's address recently enough to be exempt from its account's
    /// login limit.
    pub(super) async fn is_known_address(
        &self,
        user_id: &UserId,
        client: &ClientInfo,
    ) -> Result<bool, PortError> {
        let Some(address) = known_address_of(client) else {
            return Ok(false);
        };
        let since = self.known_since(self.now());
        self.ports
            .limiter
            .knows_address(user_id, &address, since)
            .await
    }

    /// Remembers the client's address as one `user_id` logged in from. A failure is logged, not fatal: it only
    /// delays the exemption.
    pub(super) async fn remember_address(&self, user_id: &UserId, client: &ClientInfo) {
        let Some(address) = known_address_of(client) else {
            return;
        };
        if let Err(error) = self
            .ports
            .limiter
            .remember_address(user_id, &address, self.now())
            .await
        {
            tracing::warn!(error = %error, "could not remember a login address");
        }
    }

    /// Forgets the addresses `user_id` logged in from, after its password changed: whoever knew the old one keeps no
    /// exemption. A failure is logged: the exemption then lasts until it expires.
    pub(super) async fn forget_login_addresses(&self, user_id: &UserId) {
        if let Err(error) = self.ports.limiter.forget_addresses(user_id).await {
            tracing::warn!(%error, "could not forget an account's login addresses");
        }
    }

    /// The oldest login that still makes an address known; saturating, so no configured lifetime can panic.
    fn known_since(&self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        now.checked_sub_signed(self.policies.throttle.known_address_ttl)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
    }

    /// Deletes rate-limit rows that limit nothing any more; what the server's maintenance job calls.
    ///
    /// # Errors
    /// [`PortError`] when the store fails.
    pub async fn purge_rate_limits(&self) -> Result<u64, PortError> {
        let now = self.now();
        self.ports
            .limiter
            .purge_limits(now, self.known_since(now))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(ip: &str) -> ClientInfo {
        ClientInfo::new(None, Some(ip.to_owned()))
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_network() {
        assert_eq!(
            address_of(&client("2001:db8:1:2:aaaa::1")),
            address_of(&client("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            address_of(&client("2001:db8:1:2::1")),
            address_of(&client("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        assert_eq!(
            address_of(&client("::ffff:192.0.2.7")).as_deref(),
            Some("192.0.2.7")
        );
    }

    #[test]
    fn no_address_or_garbage_counts_nothing() {
        assert_eq!(address_of(&ClientInfo::default()), None);
        assert_eq!(address_of(&client("not an address")), None);
    }
}
