//! The one place where domain errors become HTTP responses.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use latchkey_domain::model::IdempotencyKeyError;
use latchkey_domain::service::ProfileErrors;
use latchkey_domain::{
    AccessError, AuthError, ChangePasswordError, CredentialError, CredentialKind, LoginError,
    PortError, RefreshError, RegisterError, RegistrationErrors, ResetPasswordError,
    RevokeSessionError, VerifyEmailError,
};
use latchkey_domain::{
    ChangeEmailError, DeleteAccountError, EmailRequestError, IntrospectError, ListEventsError,
    RevokeTokenError, TooManyAttempts, UpdateProfileError,
};
use latchkey_domain::{ChargeError, LedgerError, RefundError};
use serde::Serialize;
use utoipa::ToSchema;

/// An error response: status, machine code, human message, optional field errors and challenge.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: Cow<'static, str>,
    errors: Vec<FieldErrorBody>,
    // Boxed: a header is rare, and `ApiError` is the error type of every extractor and handler.
    header: Option<Box<(HeaderName, HeaderValue)>>,
    /// The RFC 6749 §5.2 `error` code, set by [`ApiError::oauth`] on the errors of the OAuth2 endpoints.
    oauth: Option<&'static str>,
    /// The balance and the price of a refused charge (`insufficient_credits`).
    shortfall: Option<(i64, i64)>,
}

/// One rejected field of a `validation_error`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = FieldError)]
pub(crate) struct FieldErrorBody {
    /// The request field, e.g. `password`.
    #[schema(example = "password")]
    field: String,
    /// What is wrong with it.
    #[schema(example = "must be at least 8 characters")]
    message: String,
}

/// The one error envelope: every error response of the API has this body.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct Envelope<'a> {
    /// Human-readable message.
    #[schema(example = "Invalid input")]
    detail: &'a str,
    /// Machine-readable code; the responses of each operation list the codes it can answer.
    #[schema(example = "validation_error")]
    code: &'a str,
    /// Present on `validation_error` only: every rejected field at once.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false, min_items = 1)]
    errors: &'a [FieldErrorBody],
    /// Present on the errors of the OAuth2 endpoints only (login, refresh and `/oauth/…`): the RFC 6749 §5.2 code
    /// that OAuth2 client libraries read, e.g. `invalid_grant`, `invalid_request`, `invalid_client`,
    /// `unsupported_grant_type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false, example = "invalid_grant")]
    error: Option<&'a str>,
    /// Beside `error`: `detail` in the characters RFC 6749 allows (printable ASCII without `"` and `\`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false, example = "Invalid credentials")]
    error_description: Option<String>,
    /// Present on `insufficient_credits` only: the balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false, example = 50)]
    credits: Option<i64>,
    /// Present on `insufficient_credits` only: the price of the refused charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false, example = 200)]
    required: Option<i64>,
}

/// `WWW-Authenticate` when no credentials were sent (RFC 6750 §3).
const CHALLENGE: &str = "Bearer";
/// `WWW-Authenticate` when a token was sent and refused.
const CHALLENGE_INVALID_TOKEN: &str = "Bearer error=\"invalid_token\"";
/// `WWW-Authenticate` when a valid token lacks a scope (RFC 6750 §3.1).
const CHALLENGE_INSUFFICIENT_SCOPE: &str = "Bearer error=\"insufficient_scope\"";
/// `WWW-Authenticate` of the introspection endpoint, which takes its secret by either scheme.
const CHALLENGE_INTROSPECTION: &str = "Basic realm=\"latchkey\", Bearer realm=\"latchkey\"";

impl ApiError {
    /// An error with the given status, code and message.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            header: None,
            oauth: None,
            shortfall: None,
        }
    }

    /// 400 with one entry per rejected field: its name as the API spells it, and a message that follows the name
    /// (`"must be at least 8 characters"`).
    pub fn validation<F: Into<String>>(fields: impl IntoIterator<Item = (F, String)>) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "validation_error", "Invalid input");
        error.errors = fields
            .into_iter()
            .map(|(field, message)| FieldErrorBody {
                field: field.into(),
                message,
            })
            .collect();
        error
    }

    /// 400 for a body or query that could not be parsed at all.
    pub fn invalid_body(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    /// 401 for a request without credentials.
    pub fn not_authenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Not authenticated",
        )
        .with_header(header::WWW_AUTHENTICATE, CHALLENGE)
    }

    /// 401 for a refused access token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Could not validate credentials",
        )
        .with_header(header::WWW_AUTHENTICATE, CHALLENGE_INVALID_TOKEN)
    }

    /// 401 for an expired access token.
    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "Token has expired",
        )
        .with_header(header::WWW_AUTHENTICATE, CHALLENGE_INVALID_TOKEN)
    }

    /// 404.
    pub fn not_found(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 503 for an infrastructure failure: logged with its source chain, answered with a generic message.
    ///
    /// An overload ([`PortError::retry_after`], e.g. the password hashing queue is full) is 503 `overloaded` with
    /// `Retry-After` in whole seconds (at least one): nothing is broken, and a line per refusal would turn a flood
    /// into a log flood (measured: 2 000 warnings a second), so it is logged at debug level only; the request log
    /// still shows each 503.
    pub fn unavailable(source: &PortError) -> Self {
        if let Some(retry_after) = source.retry_after() {
            tracing::debug!(error = %ErrorChain(source), "request refused: overloaded");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "The server is busy, please retry shortly",
            )
            .with_retry_after(retry_after);
        }
        tracing::error!(error = %ErrorChain(source), "request failed on an unavailable dependency");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service temporarily unavailable, please retry",
        )
    }

    /// Adds `Retry-After` in whole seconds, rounded up and at least one (a zero would invite an instant retry).
    pub fn with_retry_after(self, wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.with_header_value(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)))
    }

    /// 500 for an error this crate does not know how to answer (a variant added to a domain error after this
    /// mapping was written): logged in full, answered with a generic message.
    pub fn internal(error: &dyn StdError) -> Self {
        tracing::error!(error = %ErrorChain(error), "request failed with an unmapped error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
        )
    }

    /// Adds a response header (a challenge, `Allow`, …).
    pub fn with_header(self, name: HeaderName, value: &'static str) -> Self {
        self.with_header_value(name, HeaderValue::from_static(value))
    }

    /// As [`ApiError::with_header`], for a value computed at run time (the `Allow` of a route).
    pub fn with_header_value(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.header = Some(Box::new((name, value)));
        self
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// 400 `unsupported_grant_type` (RFC 6749 §5.2): a `grant_type` this endpoint does not take.
    pub(crate) fn unsupported_grant_type(expected: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant_type; this endpoint takes {expected}"),
        )
    }

    /// 401 `invalid_client` (RFC 6749 §5.2, RFC 7662 §2.3): the caller of the introspection endpoint did not prove
    /// it may call it. Both schemes the endpoint takes are offered.
    pub(crate) fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
        .with_header(header::WWW_AUTHENTICATE, CHALLENGE_INTROSPECTION)
    }

    /// The error as an OAuth2 endpoint answers it (RFC 6749 §5.2): the same status and envelope, plus `error` and
    /// `error_description`, so OAuth2 client libraries recognise it. A 404 or 405 gets nothing added: it is
    /// answered as any unknown route or wrong method is.
    pub(crate) fn oauth(mut self) -> Self {
        self.oauth = self.rfc6749_code();
        self
    }

    /// The RFC 6749 code for this error. Grant refusals (wrong password, bad refresh token) are `invalid_grant`;
    /// anything else the client got wrong is `invalid_request`; server-side failures borrow the codes of RFC 6749
    /// §4.1.2.1, which the OAuth error registry lists for every endpoint.
    fn rfc6749_code(&self) -> Option<&'static str> {
        Some(match self.code {
            "invalid_credentials" | "invalid_refresh_token" | "account_disabled" => "invalid_grant",
            "unsupported_grant_type" => "unsupported_grant_type",
            "invalid_client" => "invalid_client",
            "not_found" | "method_not_allowed" => return None,
            // Each succeeds if retried later, which is what the registry's code says.
            "unavailable" | "overloaded" | "too_many_attempts" => "temporarily_unavailable",
            _ if self.status.is_server_error() => "server_error",
            _ => "invalid_request",
        })
    }
}

/// `detail` in the characters RFC 6749 §5.2 allows in `error_description` (%x20-21 / %x23-5B / %x5D-7E): anything
/// else, such as a quote or a non-ASCII character echoed from a malformed body, becomes `?`.
fn error_description(detail: &str) -> String {
    detail
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
}

/// Formats an error with its sources: `a: b: c`.
struct ErrorChain<'a>(&'a dyn StdError);

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some((name, value)) = self.header.as_deref() {
            response.insert_header((name.clone(), value.clone()));
        }
        response.json(Envelope {
            detail: &self.detail,
            code: self.code,
            errors: &self.errors,
            error: self.oauth,
            error_description: self.oauth.map(|_| error_description(&self.detail)),
            credits: self.shortfall.map(|(credits, _)| credits),
            required: self.shortfall.map(|(_, required)| required),
        })
    }
}

impl From<PortError> for ApiError {
    fn from(error: PortError) -> Self {
        Self::unavailable(&error)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::TokenExpired => Self::token_expired(),
            AuthError::InvalidToken => Self::invalid_token(),
            AuthError::Forbidden(error) => error.into(),
            AuthError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(error: AccessError) -> Self {
        match error {
            AccessError::SessionRequired => Self::new(
                StatusCode::FORBIDDEN,
                "session_required",
                "This needs a login session; personal tokens and API keys cannot use it",
            ),
            AccessError::InsufficientScope { required } => Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("The credential lacks the {required} scope"),
            )
            .with_header(header::WWW_AUTHENTICATE, CHALLENGE_INSUFFICIENT_SCOPE),
            other => Self::internal(&other),
        }
    }
}

impl From<TooManyAttempts> for ApiError {
    fn from(throttled: TooManyAttempts) -> Self {
        let seconds = throttled.retry_after.num_seconds().max(1);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("Too many attempts; try again in {seconds} seconds"),
        )
        .with_header_value(header::RETRY_AFTER, HeaderValue::from(seconds))
    }
}

impl From<EmailRequestError> for ApiError {
    fn from(error: EmailRequestError) -> Self {
        match error {
            EmailRequestError::TooManyAttempts(throttled) => throttled.into(),
            EmailRequestError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<ListEventsError> for ApiError {
    fn from(error: ListEventsError) -> Self {
        match error {
            ListEventsError::InvalidCursor => {
                Self::validation([("cursor", "is not a cursor this server gave".to_owned())])
            }
            ListEventsError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::Invalid(errors) => Self::validation(registration_fields(&errors)),
            RegisterError::EmailTaken => email_taken(),
            RegisterError::UsernameTaken => username_taken(),
            RegisterError::TooManyAttempts(throttled) => throttled.into(),
            RegisterError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
            )
            .with_header(header::WWW_AUTHENTICATE, CHALLENGE),
            LoginError::EmailNotVerified => Self::new(
                StatusCode::FORBIDDEN,
                "email_not_verified",
                "Email address not verified: use the link or code we sent, or ask for a new email",
            ),
            LoginError::AccountDisabled => Self::new(
                StatusCode::FORBIDDEN,
                "account_disabled",
                "This account has been disabled; contact the service's operators",
            ),
            LoginError::TooManyAttempts(throttled) => throttled.into(),
            LoginError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

fn email_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "email_taken",
        "Email already registered",
    )
}

fn username_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "username_taken",
        "Username already taken",
    )
}

/// 400 `invalid_password`: the password asked for again before a sensitive change is wrong.
fn invalid_password() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_password",
        "Password is incorrect",
    )
}

impl From<UpdateProfileError> for ApiError {
    fn from(error: UpdateProfileError) -> Self {
        match error {
            UpdateProfileError::Invalid(errors) => Self::validation(profile_fields(&errors)),
            UpdateProfileError::UsernameTaken => username_taken(),
            UpdateProfileError::Forbidden(denied) => denied.into(),
            UpdateProfileError::AccountGone => Self::invalid_token(),
            UpdateProfileError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<ChangeEmailError> for ApiError {
    fn from(error: ChangeEmailError) -> Self {
        match error {
            ChangeEmailError::InvalidEmail(error) => {
                Self::validation([("new_email", error.to_string())])
            }
            ChangeEmailError::SameEmail => {
                Self::validation([("new_email", "is the account's address already".to_owned())])
            }
            ChangeEmailError::InvalidPassword => invalid_password(),
            ChangeEmailError::EmailTaken => email_taken(),
            ChangeEmailError::AccountGone => Self::invalid_token(),
            ChangeEmailError::TooManyAttempts(throttled) => throttled.into(),
            ChangeEmailError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<DeleteAccountError> for ApiError {
    fn from(error: DeleteAccountError) -> Self {
        match error {
            DeleteAccountError::InvalidPassword => invalid_password(),
            DeleteAccountError::AccountGone => Self::invalid_token(),
            DeleteAccountError::TooManyAttempts(throttled) => throttled.into(),
            DeleteAccountError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<RefreshError> for ApiError {
    fn from(error: RefreshError) -> Self {
        match error {
            RefreshError::InvalidRefreshToken => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_refresh_token",
                "Invalid or expired refresh token",
            )
            .with_header(header::WWW_AUTHENTICATE, CHALLENGE_INVALID_TOKEN),
            RefreshError::TooManyAttempts(throttled) => throttled.into(),
            RefreshError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::InvalidCurrentPassword => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_current_password",
                "Current password is incorrect",
            ),
            ChangePasswordError::InvalidNewPassword(error) => {
                Self::validation([("new_password", error.to_string())])
            }
            ChangePasswordError::AccountGone => Self::invalid_token(),
            ChangePasswordError::TooManyAttempts(throttled) => throttled.into(),
            ChangePasswordError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<RevokeSessionError> for ApiError {
    fn from(error: RevokeSessionError) -> Self {
        match error {
            RevokeSessionError::NotFound => Self::not_found("Session not found"),
            RevokeSessionError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<VerifyEmailError> for ApiError {
    fn from(error: VerifyEmailError) -> Self {
        match error {
            VerifyEmailError::InvalidToken => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Invalid or expired verification link",
            ),
            VerifyEmailError::InvalidCode => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_code",
                "Invalid or expired verification code",
            ),
            VerifyEmailError::EmailTaken => email_taken(),
            VerifyEmailError::TooManyAttempts(throttled) => throttled.into(),
            VerifyEmailError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<RevokeTokenError> for ApiError {
    fn from(error: RevokeTokenError) -> Self {
        match error {
            RevokeTokenError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<ResetPasswordError> for ApiError {
    fn from(error: ResetPasswordError) -> Self {
        match error {
            ResetPasswordError::InvalidToken => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "Invalid or expired reset link",
            ),
            ResetPasswordError::InvalidNewPassword(error) => {
                Self::validation([("new_password", error.to_string())])
            }
            ResetPasswordError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<IntrospectError> for ApiError {
    fn from(error: IntrospectError) -> Self {
        match error {
            IntrospectError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

/// The answer to a refused personal-token or API-key operation; `kind` names the resource in a 404 and a 409.
pub(crate) fn credential_error(error: CredentialError, kind: CredentialKind) -> ApiError {
    match error {
        CredentialError::InvalidName(error) => ApiError::validation([("name", error.to_string())]),
        CredentialError::ExpiryRequired => {
            ApiError::validation([("expires_at", "is required".to_owned())])
        }
        CredentialError::ExpiryInPast => {
            ApiError::validation([("expires_at", "must be in the future".to_owned())])
        }
        CredentialError::ExpiryTooFar { max } => ApiError::validation([(
            "expires_at",
            format!("must be at most {} days ahead", max.num_days()),
        )]),
        CredentialError::NoScopes => {
            ApiError::validation([("scopes", "must name at least one scope".to_owned())])
        }
        CredentialError::LimitReached { max } => ApiError::new(
            StatusCode::CONFLICT,
            "too_many_credentials",
            format!("At most {max} live {kind}s per user; revoke one first"),
        ),
        CredentialError::NotFound => ApiError::not_found(match kind {
            CredentialKind::PersonalToken => "Personal token not found",
            CredentialKind::ApiKey => "API key not found",
        }),
        CredentialError::SessionEnded => ApiError::invalid_token(),
        CredentialError::Unavailable(source) => ApiError::unavailable(&source),
        other => ApiError::internal(&other),
    }
}

/// The answer to a refused charge. Every one of them stored nothing, so the client may fix the request and send it
/// again with the same key.
pub(crate) fn charge_error(error: ChargeError) -> ApiError {
    match error {
        ChargeError::Forbidden(error) => error.into(),
        ChargeError::InvalidIdempotencyKey(IdempotencyKeyError::Missing) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "The Idempotency-Key header is required: a unique key per charge, e.g. a UUID",
        ),
        ChargeError::InvalidIdempotencyKey(error) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("The Idempotency-Key header {error}"),
        ),
        ChargeError::UnknownUnit(_) => {
            ApiError::validation([("unit", "is not a priced unit".to_owned())])
        }
        ChargeError::InvalidQuantity => {
            ApiError::validation([("quantity", "must be a positive integer".to_owned())])
        }
        ChargeError::PriceTooLarge => ApiError::validation([(
            "quantity",
            "is too large: its price does not fit a balance".to_owned(),
        )]),
        ChargeError::InsufficientCredits { balance, required } => {
            let mut error = ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_credits",
                format!("Insufficient credits: {required} required, {balance} available"),
            );
            error.shortfall = Some((balance, required));
            error
        }
        ChargeError::KeyReused => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used with another request; use a new key for a new charge",
        ),
        ChargeError::KeyInFlight => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "A request with this Idempotency-Key is still being processed; retry shortly",
        ),
        ChargeError::AccountGone => ApiError::invalid_token(),
        ChargeError::Unavailable(source) => ApiError::unavailable(&source),
        other => ApiError::internal(&other),
    }
}

impl From<RefundError> for ApiError {
    fn from(error: RefundError) -> Self {
        match error {
            RefundError::Forbidden(error) => error.into(),
            RefundError::NotFound => Self::not_found("Charge not found"),
            RefundError::AlreadyRefunded => Self::new(
                StatusCode::CONFLICT,
                "charge_already_refunded",
                "This charge was refunded already",
            ),
            RefundError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Forbidden(error) => error.into(),
            LedgerError::InvalidCursor => {
                Self::validation([("cursor", "is not a cursor this server gave".to_owned())])
            }
            LedgerError::Unavailable(source) => Self::unavailable(&source),
            other => Self::internal(&other),
        }
    }
}

/// The rejected fields of a registration, in the order of the form.
pub(crate) fn profile_fields(errors: &ProfileErrors) -> Vec<(&'static str, String)> {
    let ProfileErrors {
        name,
        username,
        phone,
        metadata,
        ..
    } = errors;
    [
        ("name", name.as_ref().map(ToString::to_string)),
        ("username", username.as_ref().map(ToString::to_string)),
        ("phone", phone.as_ref().map(ToString::to_string)),
        ("metadata", metadata.as_ref().map(ToString::to_string)),
    ]
    .into_iter()
    .filter_map(|(field, message)| Some((field, message?)))
    .collect()
}

fn registration_fields(errors: &RegistrationErrors) -> Vec<(&'static str, String)> {
    let RegistrationErrors {
        email,
        password,
        name,
        username,
        ..
    } = errors;
    [
        ("email", email.as_ref().map(ToString::to_string)),
        ("password", password.as_ref().map(ToString::to_string)),
        ("name", name.as_ref().map(ToString::to_string)),
        ("username", username.as_ref().map(ToString::to_string)),
    ]
    .into_iter()
    .filter_map(|(field, message)| Some((field, message?)))
    .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use latchkey_domain::Scope;

    use super::*;

    #[test]
    fn oauth_errors_carry_the_rfc_6749_code_by_what_went_wrong() {
        let cases = [
            (
                ApiError::from(LoginError::InvalidCredentials),
                Some("invalid_grant"),
            ),
            (
                ApiError::from(RefreshError::InvalidRefreshToken),
                Some("invalid_grant"),
            ),
            (
                ApiError::unsupported_grant_type("password"),
                Some("unsupported_grant_type"),
            ),
            (ApiError::invalid_client(), Some("invalid_client")),
            (
                ApiError::invalid_body("Invalid form body"),
                Some("invalid_request"),
            ),
            (
                ApiError::validation([("username", "is required".to_owned())]),
                Some("invalid_request"),
            ),
            (
                ApiError::from(PortError::new("test", "down")),
                Some("temporarily_unavailable"),
            ),
            (
                ApiError::internal(&AccessError::SessionRequired),
                Some("server_error"),
            ),
            (
                ApiError::from(PortError::overloaded("test", Duration::from_secs(1))),
                Some("temporarily_unavailable"),
            ),
            (ApiError::not_found("Not found"), None),
        ];
        for (error, expected) in cases {
            let code = error.code();
            assert_eq!(error.oauth().oauth, expected, "{code}");
        }
    }

    #[test]
    fn an_overload_is_503_overloaded_with_retry_after_in_whole_seconds() {
        for (wait, header) in [
            (Duration::from_millis(1), "1"),
            (Duration::from_secs(2), "2"),
            (Duration::from_millis(2500), "3"),
            (Duration::ZERO, "1"),
        ] {
            let error = ApiError::from(LoginError::Unavailable(PortError::overloaded(
                "hash password",
                wait,
            )));
            assert_eq!(error.status_code(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(error.code(), "overloaded");
            let response = error.error_response();
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).unwrap(),
                header,
                "{wait:?}"
            );
        }
        let down = ApiError::from(PortError::new("query", "down"));
        assert_eq!(down.code(), "unavailable");
        assert!(down
            .error_response()
            .headers()
            .get(header::RETRY_AFTER)
            .is_none());
    }

    #[test]
    fn error_descriptions_keep_to_the_characters_rfc_6749_allows() {
        assert_eq!(
            error_description("Invalid form body: missing field `password`"),
            "Invalid form body: missing field `password`"
        );
        assert_eq!(error_description("bad \"x\" \\ é\n"), "bad ?x? ? ??");
    }

    #[test]
    fn a_use_case_refusing_a_scope_answers_as_the_extractor_would() {
        let refused = AccessError::InsufficientScope {
            required: Scope::ProfileRead,
        };
        let error = ApiError::from(AuthError::Forbidden(refused));
        assert_eq!(error.status_code(), StatusCode::FORBIDDEN);
        assert_eq!(error.code(), "insufficient_scope");
        let error = ApiError::from(AuthError::Forbidden(AccessError::SessionRequired));
        assert_eq!(error.code(), "session_required");
    }
}
