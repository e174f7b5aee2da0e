//! The OAuth2 endpoints' wire format (RFC 6749 §4.3 and §6, RFC 7009 §2.1, RFC 7662 §2).

use latchkey_domain::service::{ActiveToken, Introspection};
use latchkey_domain::Credential;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{AnyOfBuilder, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The schema of a `grant_type` field that takes one value.
fn grant_type(value: &'static str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some([value]))
        .description(Some(format!(
            "OAuth2 grant type, `{value}`; another value is refused with 400 `unsupported_grant_type`."
        )))
        .build()
}

/// `grant_type` of the password grant.
pub(crate) fn password_grant_type() -> Object {
    grant_type("password")
}

/// `grant_type` of the refresh grant.
pub(crate) fn refresh_grant_type() -> Object {
    grant_type("refresh_token")
}

/// Deserializes an optional field that, when present, must be a string: JSON `null` is refused rather than
/// taken for absent, so the document can say "a string" of a field that a form also carries (where `null` could
/// only be the text `null`).
pub(crate) fn present_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// `POST /oauth/token`: every field any grant has, checked by the handler for the grant named, so that an
/// unknown `grant_type` is `unsupported_grant_type` and a missing field `invalid_request`. The document describes
/// it as one object per grant.
// No Debug: it carries a password or token.
#[derive(Deserialize)]
pub(crate) struct TokenRequest {
    pub grant_type: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
}

impl PartialSchema for TokenRequest {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(Ref::from_schema_name(PasswordGrant::name()))
            .item(Ref::from_schema_name(RefreshTokenGrant::name()))
            .description(Some(
                "One grant, form-encoded, named by `grant_type`. `client_id`, `client_secret` and `scope` may \
                 be sent and are ignored, as is client authentication by HTTP Basic.",
            ))
            .into()
    }
}

impl ToSchema for TokenRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((PasswordGrant::name().into_owned(), PasswordGrant::schema()));
        schemas.push((
            RefreshTokenGrant::name().into_owned(),
            RefreshTokenGrant::schema(),
        ));
    }
}

/// The resource owner password grant (RFC 6749 §4.3): what `POST /auth/login` takes as a form.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form; `TokenRequest` parses it.
pub(crate) struct PasswordGrant {
    #[schema(schema_with = password_grant_type)]
    grant_type: String,
    /// Email or username (an email when it contains `@`).
    #[schema(example = "jane@example.com")]
    username: String,
    /// The password.
    #[schema(example = "correct horse battery")]
    password: String,
    /// Accepted and ignored.
    client_id: Option<String>,
    /// Accepted and ignored: a session holds every scope.
    scope: Option<String>,
}

/// The refresh grant (RFC 6749 §6): what `POST /auth/refresh` takes as a form.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes the form; `TokenRequest` parses it.
pub(crate) struct RefreshTokenGrant {
    #[schema(schema_with = refresh_grant_type)]
    grant_type: String,
    /// The refresh token of the current pair.
    #[schema(example = "lkr_…")]
    refresh_token: String,
    /// Accepted and ignored.
    client_id: Option<String>,
    /// Accepted and ignored.
    scope: Option<String>,
}

/// A successful token response: the login's body for the password grant, the refresh's for the refresh grant.
pub(crate) struct TokenResponse;

impl PartialSchema for TokenResponse {
    fn schema() -> RefOr<Schema> {
        // `anyOf`, not `oneOf`: a login's body is a token pair too.
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("LoginResponse"))
            .item(Ref::from_schema_name("TokenPair"))
            .description(Some(
                "The token pair; with the password grant, also the account (`user`), as `POST /auth/login` \
                 answers.",
            ))
            .into()
    }
}

impl ToSchema for TokenResponse {}

/// `POST /oauth/revoke` (RFC 7009 §2.1), form or JSON.
// No Debug: it carries a token.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RevokeRequest {
    /// The credential to revoke: a refresh token or a live access token ends its session; a personal token
    /// (`lk_pat_…`) or API key ends itself.
    #[schema(example = "lkr_…")]
    pub token: String,
    /// E.g. `refresh_token` or `access_token`; accepted and ignored, since the token's form tells its kind.
    #[schema(example = "refresh_token")]
    #[allow(dead_code)] // Parsed so it is documented; the token's prefix decides.
    pub token_type_hint: Option<String>,
}

/// `POST /oauth/introspect` (RFC 7662 §2.1), form or JSON.
// No Debug: it carries a token.
#[derive(Deserialize, ToSchema)]
pub(crate) struct IntrospectRequest {
    /// The credential to describe: an access token (JWT), a personal token (`lk_pat_…`) or an API key.
    #[schema(example = "eyJhbGciOiJIUzI1NiJ9…")]
    pub token: String,
    /// Accepted and ignored, since the token's form tells its kind.
    #[schema(example = "access_token")]
    #[allow(dead_code)] // Parsed so it is documented; the token's prefix decides.
    pub token_type_hint: Option<String>,
}

/// What introspection says of a token (RFC 7662 §2.2): `{"active": false}` and nothing else for any token that is
/// not a live credential.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Introspection)]
pub(crate) struct IntrospectionBody {
    /// Whether a request bearing this token would be authenticated now.
    active: bool,
    /// The account's id (`usr_…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = "usr_3f9a")]
    sub: Option<String>,
    /// What it may do, space-separated; a login session holds every scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        nullable = false,
        example = "profile:read profile:write credits:read credits:charge"
    )]
    scope: Option<String>,
    /// Expiry, seconds since the epoch; absent for an API key that does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = 1767323045)]
    exp: Option<i64>,
    /// Issue time, seconds since the epoch (a personal token's or API key's creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, example = 1767322145)]
    iat: Option<i64>,
    /// How the credential is presented (RFC 6749 §7.1): `bearer` for access tokens and personal tokens
    /// (`Authorization: Bearer`), `api_key` for API keys (`X-API-Key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = String, example = "bearer")]
    token_type: Option<&'static str>,
}

impl From<Introspection> for IntrospectionBody {
    fn from(introspection: Introspection) -> Self {
        match introspection {
            Introspection::Active(token) => Self::active(token),
            // Inactive, and any kind of answer added later that this crate does not know: say nothing.
            _ => Self {
                active: false,
                sub: None,
                scope: None,
                exp: None,
                iat: None,
                token_type: None,
            },
        }
    }
}

impl IntrospectionBody {
    fn active(token: ActiveToken) -> Self {
        let ActiveToken {
            principal,
            issued_at,
            expires_at,
            ..
        } = token;
        Self {
            active: true,
            sub: Some(principal.user_id.to_string()),
            scope: Some(principal.scopes().to_string()),
            exp: expires_at.map(|at| at.timestamp()),
            iat: Some(issued_at.timestamp()),
            token_type: Some(token_type(&principal.credential)),
        }
    }
}

/// RFC 7662's `token_type`: how the credential is presented (RFC 6749 §7.1).
fn token_type(credential: &Credential) -> &'static str {
    match credential {
        // Sent as `X-API-Key`, not as a bearer token.
        Credential::ApiKey { .. } => "api_key",
        // Session access tokens and personal tokens, and any credential added later, are bearer tokens.
        _ => "bearer",
    }
}
