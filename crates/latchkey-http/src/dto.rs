//! Request and response bodies: the API's wire format, converted to and from domain types at the edge.
//!
//! Each derives `ToSchema`, so the OpenAPI document describes exactly these types; the doc comments on fields are
//! the descriptions the reference page shows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use latchkey_domain::service::LedgerPage;
use latchkey_domain::service::{
    ChangePasswordInput, CreateCredentialInput, CreatedCredential, CreditsView, RegisterInput,
    SessionView,
};
use latchkey_domain::{Charge, LedgerEntry};
use latchkey_domain::{EventPage, IssuedCredential, Scope, Scopes, SecurityEvent, TokenPair, User};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `POST /auth/register`.
// No Debug: it carries a password or token.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RegisterRequest {
    /// Email address, unique case-insensitively. The pattern is the portable form (an internationalised domain in
    /// its ASCII, `xn--`, spelling); the server also accepts Unicode domains and trims surrounding white space.
    #[schema(
        example = "jane@example.com",
        max_length = 254,
        pattern = r"^[^\s@\x00-\x1f\x7f-\x9f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
    )]
    pub email: String,
    /// The new password. Its length bounds are the server's password policy (these are the configured ones).
    #[schema(example = "correct horse battery", min_length = 8, max_length = 256)]
    pub password: String,
    /// Display name: not blank, no control characters, at most 100 characters (the server trims it first).
    /// Also accepted as `full_name`; or give `first_name` and `last_name` instead.
    #[serde(alias = "full_name")]
    #[schema(
        example = "Jane Doe",
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    /// Given name, at most 49 characters, no control characters; stored with `last_name` as the name
    /// "First Last" when no `name` is given.
    #[schema(
        example = "Jane",
        max_length = 49,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub first_name: Option<String>,
    /// Family name, as `first_name`.
    #[schema(
        example = "Doe",
        max_length = 49,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub last_name: Option<String>,
    /// 3 to 32 letters, digits or underscores, unique case-insensitively (the server trims it first).
    #[schema(example = "jane", pattern = r"^[A-Za-z0-9_]{3,32}$")]
    pub username: Option<String>,
}

/// Longest `first_name` or `last_name`: two of them and a space make a display name of at most 100 characters.
const MAX_NAME_PART: usize = 49;

impl TryFrom<RegisterRequest> for RegisterInput {
    type Error = crate::error::ApiError;

    /// The registration, with the name made of `first_name` and `last_name` when no `name` is given (a name given
    /// whole wins: it is what the client meant to show). The parts are checked either way, so what the document
    /// refuses is refused.
    fn try_from(body: RegisterRequest) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        for (field, part) in [
            ("first_name", &body.first_name),
            ("last_name", &body.last_name),
        ] {
            let Some(part) = part else { continue };
            if part.chars().count() > MAX_NAME_PART {
                errors.push((field, format!("must be at most {MAX_NAME_PART} characters")));
            } else if part.chars().any(char::is_control) {
                errors.push((field, "must not contain control characters".to_owned()));
            }
        }
        if !errors.is_empty() {
            return Err(crate::error::ApiError::validation(errors));
        }
        let parts: Vec<&str> = [body.first_name.as_deref(), body.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        let name = body
            .name
            .or_else(|| (!parts.is_empty()).then(|| parts.join(" ")));
        let mut input = RegisterInput::new()
            .email(body.email)
            .password(body.password);
        if let Some(name) = name {
            input = input.name(name);
        }
        if let Some(username) = body.username {
            input = input.username(username);
        }
        Ok(input)
    }
}

/// `POST /auth/login`, as the OAuth2 password form or JSON. `username` may hold an email or a username.
// No Debug: it carries a password or token.
#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginRequest {
    /// Email or username (an email when it contains `@`). One of `username` and `email` is required.
    #[schema(example = "jane@example.com")]
    pub username: Option<String>,
    /// Email; used when `username` is absent.
    pub email: Option<String>,
    /// The password.
    #[schema(example = "correct horse battery")]
    pub password: String,
    /// OAuth2: `password` when present.
    #[serde(default, deserialize_with = "crate::oauth::dto::present_string")]
    #[schema(schema_with = crate::oauth::dto::password_grant_type)]
    pub grant_type: Option<String>,
    /// OAuth2: accepted and ignored.
    #[allow(dead_code)] // Parsed so it is documented.
    pub client_id: Option<String>,
    /// OAuth2: accepted and ignored (a session holds every scope).
    #[allow(dead_code)] // Parsed so it is documented.
    pub scope: Option<String>,
}

/// `POST /auth/refresh`, as JSON or as the OAuth2 refresh form.
// No Debug: it carries a password or token.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RefreshRequest {
    /// The refresh token of the current pair (`refreshToken` is accepted as an alias).
    #[serde(alias = "refreshToken")]
    #[schema(example = "lkr_…")]
    pub refresh_token: String,
    /// OAuth2: `refresh_token` when present.
    #[serde(default, deserialize_with = "crate::oauth::dto::present_string")]
    #[schema(schema_with = crate::oauth::dto::refresh_grant_type)]
    pub grant_type: Option<String>,
    /// OAuth2: accepted and ignored.
    #[allow(dead_code)] // Parsed so it is documented.
    pub client_id: Option<String>,
    /// OAuth2: accepted and ignored.
    #[allow(dead_code)] // Parsed so it is documented.
    pub scope: Option<String>,
}

/// `POST /auth/logout`; the body is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogoutRequest {
    /// End every session of the account, not only this one.
    #[serde(default)]
    pub all: bool,
}

/// `POST /auth/change-password`.
// No Debug: it carries a password or token.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangePasswordRequest {
    /// The password in use now.
    pub current_password: String,
    /// The new password, within the server's password policy (these are the configured bounds).
    #[schema(min_length = 8, max_length = 256)]
    pub new_password: String,
}

impl From<ChangePasswordRequest> for ChangePasswordInput {
    fn from(body: ChangePasswordRequest) -> Self {
        ChangePasswordInput::new()
            .current_password(body.current_password)
            .new_password(body.new_password)
    }
}

/// `PATCH /auth/me`: only the fields to change. A field left out stays as it is; `null` clears `name`, `username` or
/// `phone` (`metadata` takes an object; `{}` empties it). Any other field
/// (including `email`, `credits`, `is_verified`, `id`) is refused with 400 naming it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProfileUpdate)]
#[allow(dead_code)] // Parsed field by field in `routes/profile.rs`, to name the field an error is about; this type documents it.
pub(crate) struct UpdateProfileRequest {
    /// Display name: not blank, no control characters, at most 100 characters (the server trims it first); also
    /// accepted as `full_name`; `null` clears it.
    #[schema(
        example = "Jane Doe",
        max_length = 100,
        nullable = true,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: Option<String>,
    /// 3 to 32 letters, digits or underscores, unique case-insensitively, or `null` to clear it.
    #[schema(example = "jane", pattern = r"^[A-Za-z0-9_]{3,32}$", nullable = true)]
    username: Option<String>,
    /// E.164 phone number (`+` and 8 to 15 digits; spaces, dots, hyphens and parentheses between digits are
    /// dropped), or `null` to clear it.
    #[schema(
        example = "+14155552671",
        nullable = true,
        pattern = r"^[ .()-]*\+[ .()-]*[1-9](?:[ .()-]*[0-9]){7,14}[ .()-]*$"
    )]
    phone: Option<String>,
    /// The application's JSON object, replaced whole (`{}` empties it; `null` is refused): at most 16 KiB as JSON
    /// and 8 levels deep.
    #[serde(default)]
    #[schema(value_type = Object, example = json!({"experience_years": 5, "skills": ["rust"]}))]
    metadata: Option<Map<String, Value>>,
}

/// `POST /auth/change-email`.
// No Debug: it carries a password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangeEmailRequest {
    /// The address to move to; it must be verified (link or code) before it replaces the current one.
    #[schema(example = "jane.doe@example.org", max_length = 254)]
    pub new_email: String,
    /// The account's password.
    pub password: String,
}

/// `DELETE /auth/me`.
// No Debug: it carries a password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct DeleteAccountRequest {
    /// The account's password.
    pub password: String,
}

/// An account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserBody {
    /// Opaque id, `usr_…`.
    #[schema(example = "usr_3f9a")]
    id: String,
    /// The address as registered.
    #[schema(example = "jane@example.com")]
    email: String,
    #[schema(example = "jane", required = true)]
    username: Option<String>,
    #[schema(example = "Jane Doe", required = true)]
    name: Option<String>,
    #[schema(required = true)]
    phone: Option<String>,
    /// Free-form JSON object, `{}` by default.
    #[schema(value_type = Object)]
    metadata: Map<String, Value>,
    /// Credit balance.
    #[schema(example = 1000)]
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

/// An access token and the refresh token that renews it.
// No Debug: it carries a password or token.
#[derive(Serialize, ToSchema)]
#[schema(as = TokenPair)]
pub(crate) struct TokenPairBody {
    /// JWT to send as `Authorization: Bearer …`.
    access_token: String,
    /// Always `bearer`.
    #[schema(value_type = String, example = "bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: i64,
    /// Opaque single-use token for `POST /auth/refresh`.
    #[schema(example = "lkr_…")]
    refresh_token: String,
    /// Seconds until the refresh token expires.
    #[schema(example = 2592000)]
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

/// The new account and its first token pair.
// No Debug: it carries a password or token.
#[derive(Serialize, ToSchema)]
pub(crate) struct RegisterResponse {
    pub user: UserBody,
    /// `null` when the server requires a verified address before login, or when the account was created but its
    /// first session could not be started: log in.
    #[schema(required = true)]
    pub token: Option<TokenPairBody>,
    #[schema(value_type = String, example = "Registration successful! Check your email to verify your account.")]
    pub message: &'static str,
}

/// A token pair and the account it belongs to.
// No Debug: it carries a password or token.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoginResponse {
    #[serde(flatten)]
    pub tokens: TokenPairBody,
    pub user: UserBody,
}

/// A confirmation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Message)]
pub(crate) struct MessageBody {
    #[schema(value_type = String, example = "Successfully logged out")]
    pub message: &'static str,
}

/// A live session (one login) of the account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Session)]
pub(crate) struct SessionBody {
    /// Opaque id, `ses_…`.
    #[schema(example = "ses_8c1d")]
    id: String,
    /// Login time.
    created_at: DateTime<Utc>,
    /// Last refresh.
    last_used_at: DateTime<Utc>,
    /// When it ends unless refreshed.
    expires_at: DateTime<Utc>,
    /// `User-Agent` of the login request.
    #[schema(required = true)]
    user_agent: Option<String>,
    /// Peer address of the login request.
    #[schema(required = true)]
    ip: Option<String>,
    /// Whether this is the session making the request.
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

/// `{"credits": 1000, "credits_per_photo": 100, "credits_per_second_video": 10}`: the balance and one
/// `credits_per_<unit>` price per configured unit.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Credits)]
pub(crate) struct CreditsBody {
    /// Credit balance.
    #[schema(example = 1000)]
    credits: i64,
    #[serde(flatten)]
    #[schema(ignore)]
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

/// Liveness or readiness.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Status)]
pub(crate) struct StatusBody {
    /// `ok` or `ready`.
    #[schema(value_type = String, example = "ok")]
    pub status: &'static str,
}

/// `POST /auth/verify-email?token=…`: the link flow's token, from the verification email's link.
// No Debug: it carries a secret.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct VerifyEmailQuery {
    /// The `token` of the verification link. When present, the body is ignored.
    pub token: Option<String>,
}

/// `POST /auth/verify-email` with a body: the code flow.
// No Debug: it carries a secret.
#[derive(Default, Deserialize, ToSchema)]
pub(crate) struct VerifyEmailRequest {
    /// The address the code was sent to.
    #[schema(example = "jane@example.com")]
    pub email: Option<String>,
    /// The 6-digit code of the verification email (`activation_code` is accepted as an alias).
    #[serde(alias = "activation_code")]
    #[schema(example = "042133")]
    pub code: Option<String>,
}

/// `POST /auth/resend-verification` without a bearer token.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct ResendVerificationRequest {
    /// The address to send a new verification email to (ignored when a bearer token is sent).
    #[schema(example = "jane@example.com")]
    pub email: Option<String>,
}

/// `POST /auth/forgot-password`.
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ForgotPasswordRequest {
    /// The account's address.
    #[schema(example = "jane@example.com")]
    pub email: String,
}

/// `POST /auth/reset-password`.
// No Debug: it carries a password and a secret.
#[derive(Deserialize, ToSchema)]
pub(crate) struct ResetPasswordRequest {
    /// The `token` of the reset link.
    pub token: String,
    /// The new password, within the server's password policy (these are the configured bounds).
    #[schema(min_length = 8, max_length = 256)]
    pub new_password: String,
}

/// `POST /auth/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenRequest {
    /// What the token is for: 1 to 100 characters, no control characters.
    #[schema(example = "CI deploys", min_length = 1, max_length = 100)]
    pub name: String,
    /// When it stops working (RFC 3339): required, in the future, at most the server's
    /// `credentials.max_token_lifetime_days` ahead (a year by default).
    #[schema(example = "2027-01-31T00:00:00Z")]
    pub expires_at: DateTime<Utc>,
    /// What it may do; by default the read scopes only (`profile:read`, `credits:read`).
    #[schema(example = json!(["profile:read", "credits:read"]))]
    pub scopes: Option<Vec<ScopeName>>,
}

/// `POST /auth/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKeyRequest {
    /// What the key is for: 1 to 100 characters, no control characters.
    #[schema(example = "billing worker", min_length = 1, max_length = 100)]
    pub name: String,
    /// When it stops working (RFC 3339), if ever; in the future.
    #[schema(example = "2027-01-31T00:00:00Z")]
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do; by default the read scopes only (`profile:read`, `credits:read`).
    #[schema(example = json!(["credits:read", "credits:charge"]))]
    pub scopes: Option<Vec<ScopeName>>,
}

/// A scope: `profile:read`, `profile:write`, `credits:read` or `credits:charge`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[schema(as = Scope)]
pub(crate) enum ScopeName {
    /// Read the account.
    #[serde(rename = "profile:read")]
    ProfileRead,
    /// Change the account's profile.
    #[serde(rename = "profile:write")]
    ProfileWrite,
    /// Read the credit balance.
    #[serde(rename = "credits:read")]
    CreditsRead,
    /// Spend credits.
    #[serde(rename = "credits:charge")]
    CreditsCharge,
}

impl From<ScopeName> for Scope {
    fn from(name: ScopeName) -> Self {
        match name {
            ScopeName::ProfileRead => Scope::ProfileRead,
            ScopeName::ProfileWrite => Scope::ProfileWrite,
            ScopeName::CreditsRead => Scope::CreditsRead,
            ScopeName::CreditsCharge => Scope::CreditsCharge,
        }
    }
}

fn scope_names(scopes: Scopes) -> Vec<&'static str> {
    scopes.iter().map(Scope::as_str).collect()
}

impl CreateTokenRequest {
    pub(crate) fn into_input(self) -> CreateCredentialInput {
        credential_input(self.name, Some(self.expires_at), self.scopes)
    }
}

impl CreateKeyRequest {
    pub(crate) fn into_input(self) -> CreateCredentialInput {
        credential_input(self.name, self.expires_at, self.scopes)
    }
}

fn credential_input(
    name: String,
    expires_at: Option<DateTime<Utc>>,
    scopes: Option<Vec<ScopeName>>,
) -> CreateCredentialInput {
    let mut input = CreateCredentialInput::new(name);
    if let Some(expires_at) = expires_at {
        input = input.expires_at(expires_at);
    }
    if let Some(scopes) = scopes {
        input = input.scopes(scopes.into_iter().map(Scope::from).collect());
    }
    input
}

/// A new or rotated personal token, with its secret: shown only in this response.
// No Debug: it carries a secret.
#[derive(Serialize, ToSchema)]
#[schema(as = CreatedToken)]
pub(crate) struct CreatedTokenBody {
    /// Opaque id, `pat_…`.
    #[schema(example = "pat_8c1d")]
    id: String,
    /// The token, `lk_pat_…`: send it as `Authorization: Bearer <token>`. Only its hash is stored.
    #[schema(example = "lk_pat_…")]
    token: String,
    /// Its name.
    name: String,
    /// What it may do.
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<&'static str>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// When it stops working.
    expires_at: Option<DateTime<Utc>>,
}

impl From<CreatedCredential> for CreatedTokenBody {
    fn from(created: CreatedCredential) -> Self {
        let credential = created.credential;
        Self {
            id: credential.id.to_string(),
            token: created.secret.expose().to_owned(),
            name: credential.name.as_str().to_owned(),
            scopes: scope_names(credential.scopes),
            created_at: credential.created_at,
            expires_at: credential.expires_at,
        }
    }
}

/// A new or rotated API key, with its secret: shown only in this response.
// No Debug: it carries a secret.
#[derive(Serialize, ToSchema)]
#[schema(as = CreatedApiKey)]
pub(crate) struct CreatedKeyBody {
    /// Opaque id, `key_…`.
    #[schema(example = "key_8c1d")]
    id: String,
    /// The key, `sk_live_…` (the prefix is configurable): send it as `X-API-Key: <key>`. Only its hash is stored.
    #[schema(example = "sk_live_…")]
    api_key: String,
    /// Its name.
    name: String,
    /// What it may do.
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<&'static str>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute; `null` if never.
    #[schema(required = true)]
    last_used_at: Option<DateTime<Utc>>,
}

impl From<CreatedCredential> for CreatedKeyBody {
    fn from(created: CreatedCredential) -> Self {
        let credential = created.credential;
        Self {
            id: credential.id.to_string(),
            api_key: created.secret.expose().to_owned(),
            name: credential.name.as_str().to_owned(),
            scopes: scope_names(credential.scopes),
            created_at: credential.created_at,
            expires_at: credential.expires_at,
            last_used_at: credential.last_used_at,
        }
    }
}

/// A personal token or API key in a list: never its secret, only the first characters of it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Credential)]
pub(crate) struct CredentialBody {
    /// Opaque id, `pat_…` or `key_…`.
    #[schema(example = "key_8c1d")]
    id: String,
    /// Its name.
    name: String,
    /// The first characters of the secret, to tell credentials apart.
    #[schema(example = "sk_live_Xb3q9K")]
    prefix: String,
    /// What it may do.
    #[schema(value_type = Vec<ScopeName>)]
    scopes: Vec<&'static str>,
    /// Creation time.
    created_at: DateTime<Utc>,
    /// When it stops working, if ever (expired credentials stay listed until revoked).
    #[schema(required = true)]
    expires_at: Option<DateTime<Utc>>,
    /// When it was last used, to the minute; `null` if never.
    #[schema(required = true)]
    last_used_at: Option<DateTime<Utc>>,
}

impl From<IssuedCredential> for CredentialBody {
    fn from(credential: IssuedCredential) -> Self {
        Self {
            id: credential.id.to_string(),
            name: credential.name.as_str().to_owned(),
            prefix: credential.hint,
            scopes: scope_names(credential.scopes),
            created_at: credential.created_at,
            expires_at: credential.expires_at,
            last_used_at: credential.last_used_at,
        }
    }
}

/// `GET /auth/events?limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Events per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = r"^([0-9]{1,18}_evt_[A-Za-z0-9_]{1,64})?$")]
    pub cursor: Option<String>,
}

/// The schema of an event's `kind`: every kind the domain records, by name.
fn event_kind() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            latchkey_domain::EventKind::ALL.map(latchkey_domain::EventKind::as_str),
        ))
        .description(Some("What happened.".to_owned()))
        .build()
}

/// A security event of the caller's account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SecurityEvent)]
pub(crate) struct EventBody {
    /// Opaque id, `evt_…`.
    #[schema(example = "evt_3kq9")]
    id: String,
    /// What happened (the list is made from the domain's `EventKind`, so it names every kind recorded).
    #[schema(schema_with = event_kind, example = "login")]
    kind: &'static str,
    /// `success`, `failure` (wrong credentials) or `refused` (a limit, an unverified address, a replayed token).
    #[schema(example = "success")]
    outcome: &'static str,
    /// What it acted on: a session, token or key id, or a throttled action's name.
    #[schema(required = true)]
    subject: Option<String>,
    /// Client address of the request.
    #[schema(required = true)]
    ip: Option<String>,
    /// `User-Agent` of the request.
    #[schema(required = true)]
    user_agent: Option<String>,
    /// When it happened.
    at: DateTime<Utc>,
}

impl From<SecurityEvent> for EventBody {
    fn from(event: SecurityEvent) -> Self {
        Self {
            id: event.id.to_string(),
            kind: event.kind.as_str(),
            outcome: event.outcome.as_str(),
            subject: event.subject,
            ip: event.client.ip,
            user_agent: event.client.user_agent,
            at: event.at,
        }
    }
}

/// A page of security events, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SecurityEvents)]
pub(crate) struct EventsBody {
    /// The events.
    events: Vec<EventBody>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl From<EventPage> for EventsBody {
    fn from(page: EventPage) -> Self {
        Self {
            events: page.events.into_iter().map(EventBody::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// `POST /credits/charges`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChargeRequest {
    /// A priced unit (the keys of `GET /auth/credits`' `credits_per_<unit>`).
    #[schema(example = "photo")]
    pub unit: String,
    /// How many units: a positive integer (`2.0` is the integer 2, as JSON Schema counts it).
    #[schema(example = 2, minimum = 1)]
    #[serde(deserialize_with = "whole_number")]
    pub quantity: i64,
}

/// An integer, also when written with a zero fraction (`19821.0`): JSON has one number type, and JSON Schema's
/// `integer` accepts such a number, so a client generating from the document may send one. Any other fraction, and
/// anything outside `i64`, is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Whole;

    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i64, E> {
            Ok(value)
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i64, E> {
            i64::try_from(value)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<i64, E> {
            // 2^63 as f64 is exactly i64::MAX + 1, so the upper bound is exclusive.
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if value.fract() == 0.0 && (-LIMIT..LIMIT).contains(&value) {
                Ok(value as i64)
            } else {
                Err(E::invalid_value(serde::de::Unexpected::Float(value), &self))
            }
        }
    }

    deserializer.deserialize_any(Whole)
}

/// A charge, as made (and as every replay of its idempotency key answers it).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Charge)]
pub(crate) struct ChargeBody {
    /// Opaque id, `chg_…`: what a refund names.
    #[schema(example = "chg_8Yd2kq")]
    id: String,
    /// The unit charged.
    #[schema(example = "photo")]
    unit: String,
    /// How many units.
    #[schema(example = 2)]
    quantity: i64,
    /// Credits taken.
    #[schema(example = 200)]
    charged: i64,
    /// The balance right after this charge.
    #[schema(example = 800)]
    credits: i64,
    /// When it was charged.
    created_at: DateTime<Utc>,
}

impl From<Charge> for ChargeBody {
    fn from(charge: Charge) -> Self {
        Self {
            id: charge.id.to_string(),
            unit: charge.unit,
            quantity: charge.quantity,
            charged: charge.charged,
            credits: charge.credits,
            created_at: charge.created_at,
        }
    }
}

/// `GET /credits/ledger?limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LedgerQuery {
    /// Entries per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = r"^([0-9]{1,18})?$")]
    pub cursor: Option<String>,
}

/// One entry of the credits ledger.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LedgerEntry)]
pub(crate) struct LedgerEntryBody {
    /// Opaque id, `led_…`.
    #[schema(example = "led_4Fz9")]
    id: String,
    /// `welcome`, `charge`, `refund` or `grant`.
    #[schema(example = "charge")]
    kind: &'static str,
    /// Credits added (positive) or taken (negative: charges).
    #[schema(example = -200)]
    amount: i64,
    /// The balance right after this entry.
    #[schema(example = 800)]
    balance_after: i64,
    /// The charge, on `charge` and `refund` entries.
    #[schema(required = true)]
    charge_id: Option<String>,
    /// The unit, on `charge` and `refund` entries.
    #[schema(required = true)]
    unit: Option<String>,
    /// The quantity, on `charge` and `refund` entries.
    #[schema(required = true)]
    quantity: Option<i64>,
    /// Why: an operator's grant reason, or `opening balance` for accounts older than the ledger.
    #[schema(required = true)]
    reason: Option<String>,
    /// When it was written.
    created_at: DateTime<Utc>,
}

impl From<LedgerEntry> for LedgerEntryBody {
    fn from(entry: LedgerEntry) -> Self {
        Self {
            id: entry.id.to_string(),
            kind: entry.kind.as_str(),
            amount: entry.amount,
            balance_after: entry.balance_after,
            charge_id: entry.charge_id.map(|id| id.to_string()),
            unit: entry.unit,
            quantity: entry.quantity,
            reason: entry.reason,
            created_at: entry.created_at,
        }
    }
}

/// A page of the credits ledger, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Ledger)]
pub(crate) struct LedgerBody {
    /// The entries.
    entries: Vec<LedgerEntryBody>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

impl From<LedgerPage> for LedgerBody {
    fn from(page: LedgerPage) -> Self {
        Self {
            entries: page
                .entries
                .into_iter()
                .map(LedgerEntryBody::from)
                .collect(),
            next_cursor: page.next_cursor,
        }
    }
}
