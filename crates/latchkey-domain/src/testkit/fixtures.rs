//! Builders for the records the contract suite stores.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::model::{
    charge_fingerprint, ChargeId, ClientInfo, DisplayName, Email, IdempotencyKey, LedgerEntryId,
    NewRefreshToken, NewSession, NewUser, PasswordHash, SessionId, UserId, Username,
};
use crate::ports::{ChargeRequest, RotationRequest};
use crate::secret::TokenHash;

/// A fixed instant the suite counts from (stores must round-trip times to the microsecond).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
        .single()
        .expect("valid date")
        + TimeDelta::microseconds(123_456)
}

/// A new user with the given email and username and 1000 credits.
pub fn new_user(id: &str, email: &str, username: Option<&str>) -> NewUser {
    NewUser {
        id: UserId::from_random(id),
        email: Email::parse(email).expect("fixture email is valid"),
        username: username.map(|name| Username::parse(name).expect("fixture username is valid")),
        name: Some(DisplayName::parse("Jane Doe").expect("fixture name is valid")),
        password_hash: PasswordHash::new(format!("$fake${id}")),
        credits: 1000,
        welcome_entry_id: crate::model::LedgerEntryId::from_random(&format!("w{id}")),
        created_at: t0(),
    }
}

/// A new session of `user` created at `at`, whose first refresh token is `token` and lives 30 days, and which ends
/// 90 days after `at`.
pub fn new_session(id: &str, user: &UserId, token: &str, at: DateTime<Utc>) -> NewSession {
    NewSession {
        id: SessionId::from_random(id),
        user_id: user.clone(),
        created_at: at,
        client: ClientInfo::new(Some("contract-suite/1.0"), Some("192.0.2.1".into())),
        ends_at: at + TimeDelta::days(90),
        refresh_token: NewRefreshToken {
            hash: TokenHash::of(token),
            issued_at: at,
            expires_at: at + TimeDelta::days(30),
        },
        verified_password: None,
        max_live_sessions: None,
    }
}

/// A login's writes for `user`, made with the password hash `verified`: a session as [`new_session`] makes it, its
/// `login` event `evt_<id>`, the address `192.0.2.1` to remember, and one attempt counted on `forgiven` (one per
/// minute) to give back.
pub fn new_login(
    id: &str,
    user: &UserId,
    token: &str,
    at: DateTime<Utc>,
    verified: &str,
    forgiven: &crate::ports::LimitKey,
) -> crate::ports::NewLogin {
    let session = NewSession {
        verified_password: Some(PasswordHash::new(verified.to_owned())),
        ..new_session(id, user, token, at)
    };
    let event = crate::model::SecurityEvent {
        id: crate::model::EventId::from_random(id),
        user_id: Some(user.clone()),
        kind: crate::model::EventKind::Login,
        outcome: crate::model::EventOutcome::Success,
        subject: None,
        client: session.client.clone(),
        at,
    };
    let one_per_minute = crate::policy::Rate::new(1, TimeDelta::minutes(1))
        .unwrap_or_else(|error| unreachable!("a valid rate: {error}"));
    crate::ports::NewLogin::new(session, event)
        .remembering(crate::ports::LimitKey::new("known-address", "192.0.2.1"))
        .forgiving(vec![(forgiven.clone(), one_per_minute)])
}

/// A verification challenge issued at `at` with link token `link` (valid 24 hours) and code `code` (valid 15
/// minutes), carrying a verification email with id `eml_<link>`.
pub fn verification(link: &str, code: &str, at: DateTime<Utc>) -> crate::ports::NewVerification {
    let content = crate::model::EmailContent::Verification {
        link: crate::secret::PlainSecret::new(format!(
            "https://auth.example.com/verify-email?token={link}"
        )),
        code: crate::secret::PlainSecret::new(code),
        link_valid_for: TimeDelta::hours(24),
        code_valid_for: TimeDelta::minutes(15),
    };
    crate::ports::NewVerification::new(
        (TokenHash::of(link), at + TimeDelta::hours(24)),
        (TokenHash::of(code), at + TimeDelta::minutes(15)),
        at,
        email(&format!("v{link}"), content, at),
    )
}

/// A reset token `token` issued at `at`, valid 15 minutes, carrying a reset email with id `eml_r<token>`.
pub fn reset(token: &str, at: DateTime<Utc>) -> crate::ports::NewReset {
    let content = crate::model::EmailContent::PasswordReset {
        link: crate::secret::PlainSecret::new(format!(
            "https://auth.example.com/reset-password?token={token}"
        )),
        valid_for: TimeDelta::minutes(15),
    };
    crate::ports::NewReset::new(
        TokenHash::of(token),
        at + TimeDelta::minutes(15),
        at,
        email(&format!("r{token}"), content, at),
    )
}

/// An email to queue with id `eml_<id>` (characters an id cannot hold become `_`).
pub fn email(
    id: &str,
    content: crate::model::EmailContent,
    at: DateTime<Utc>,
) -> crate::model::NewEmail {
    let id: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    crate::model::NewEmail::new(crate::model::EmailId::from_random(&id), content, at)
}

/// A new credential of `kind` for `user`, created at `at`, whose secret is `secret`, with the default scopes.
pub fn new_credential(
    id: &str,
    kind: crate::model::CredentialKind,
    user: &UserId,
    secret: &str,
    at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> crate::model::NewCredential {
    crate::model::NewCredential {
        credential: crate::model::IssuedCredential {
            id: crate::model::CredentialId::from_random(kind, id),
            user_id: user.clone(),
            name: DisplayName::parse(&format!("credential {id}")).expect("fixture name is valid"),
            scopes: crate::service::default_scopes(),
            hint: secret.chars().take(10).collect(),
            created_at: at,
            expires_at,
            last_used_at: None,
        },
        secret_hash: TokenHash::of(secret),
        requested_by: None,
    }
}

/// How long a rotated refresh token may be presented again (a client's retry) in [`rotation`].
pub const GRACE: TimeDelta = TimeDelta::seconds(10);

/// A rotation of the refresh token `presented` to `successor` at `now`, its successor kept 30 days.
pub fn rotation(presented: &str, successor: &str, now: DateTime<Utc>) -> RotationRequest {
    RotationRequest {
        presented: TokenHash::of(presented),
        successor: TokenHash::of(successor),
        successor_ttl: TimeDelta::days(30),
        now,
        grace: GRACE,
    }
}

/// A charge of `quantity` photos at `price` credits in all, under `key`, at `at`, its key kept an hour.
pub fn charge(
    user: &UserId,
    n: &str,
    key: &str,
    quantity: i64,
    price: i64,
    at: DateTime<Utc>,
) -> ChargeRequest {
    ChargeRequest::new(
        user.clone(),
        (
            ChargeId::from_random(&format!("c{n}")),
            LedgerEntryId::from_random(&format!("e{n}")),
        ),
        ("photo".to_owned(), quantity, price),
        (
            IdempotencyKey::parse(key).unwrap(),
            charge_fingerprint("photo", quantity),
        ),
        at,
        at + TimeDelta::hours(1),
    )
}
