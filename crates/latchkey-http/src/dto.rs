//! Request and response bodies: the API's wire format, converted to and from domain types at the edge.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use latchkey_domain::service::{ChangePasswordInput, CreditsView, RegisterInput, SessionView};
use latchkey_domain::{TokenPair, User};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /auth/register`.
// No Debug: it carries a password or token.
#[derive(Deserialize)]
pub(crate) struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub username: Option<String>,
}

impl From<RegisterRequest> for RegisterInput {
    fn from(body: RegisterRequest) -> Self {
        let mut input = RegisterInput::new()
            .email(body.email)
            .password(body.password);
        if let Some(name) = body.name {
            input = input.name(name);
        }
        if let Some(username) = body.username {
            input = input.username(username);
        }
        input
    }
}

/// `POST /auth/login`, as the OAuth2 password form or JSON. `username` may hold an email or a username.
// No Debug: it carries a password or token.
#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: String,
}

/// `POST /auth/refresh`.
// No Debug: it carries a password or token.
#[derive(Deserialize)]
pub(crate) struct RefreshRequest {
    #[serde(alias = "refreshToken")]
    pub refresh_token: String,
}

/// `POST /auth/logout`; the body is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutRequest {
    #[serde(default)]
    pub all: bool,
}

/// `POST /auth/change-password`.
// No Debug: it carries a password or token.
#[derive(Deserialize)]
pub(crate) struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

impl From<ChangePasswordRequest> for ChangePasswordInput {
    fn from(body: ChangePasswordRequest) -> Self {
        ChangePasswordInput::new()
            .current_password(body.current_password)
            .new_password(body.new_password)
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct UserBody {
    id: String,
    email: String,
    username: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    metadata: Map<String, Value>,
    credits: i64,
    is_verified: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            username: user.username.map(|u| u.as_str().to_owned()),
            name: user.name.map(|n| n.as_str().to_owned()),
            phone: user.phone,
            metadata: user.metadata,
            credits: user.credits,
            is_verified: user.is_verified,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

// No Debug: it carries a password or token.
#[derive(Serialize)]
pub(crate) struct TokenPairBody {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
    refresh_expires_in: i64,
}

impl From<TokenPair> for TokenPairBody {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token.expose().to_owned(),
            token_type: "bearer",
            expires_in: pair.access_expires_in,
            refresh_token: pair.refresh_token.expose().to_owned(),
            refresh_expires_in: pair.refresh_expires_in,
        }
    }
}

// No Debug: it carries a password or token.
#[derive(Serialize)]
pub(crate) struct RegisterResponse {
    pub user: UserBody,
    pub token: Option<TokenPairBody>,
    pub message: &'static str,
}

// No Debug: it carries a password or token.
#[derive(Serialize)]
pub(crate) struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenPairBody,
    pub user: UserBody,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageBody {
    pub message: &'static str,
}

#[derive(Debug, Serialize)]
pub(crate) struct SessionBody {
    id: String,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    user_agent: Option<String>,
    ip: Option<String>,
    current: bool,
}

impl From<SessionView> for SessionBody {
    fn from(session: SessionView) -> Self {
        Self {
            id: session.id.to_string(),
            created_at: session.created_at,
            last_used_at: session.last_used_at,
            expires_at: session.expires_at,
            user_agent: session.client.user_agent,
            ip: session.client.ip,
            current: session.current,
        }
    }
}

/// `{"credits": 1000, "credits_per_photo": 100, "credits_per_second_video": 10}`.
#[derive(Debug, Serialize)]
pub(crate) struct CreditsBody {
    credits: i64,
    #[serde(flatten)]
    prices: BTreeMap<String, i64>,
}

impl From<CreditsView> for CreditsBody {
    fn from(view: CreditsView) -> Self {
        Self {
            credits: view.credits,
            prices: view
                .pricing
                .into_iter()
                .map(|(unit, price)| (format!("credits_per_{unit}"), price))
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct StatusBody {
    pub status: &'static str,
}
