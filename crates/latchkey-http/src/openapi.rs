//! The OpenAPI 3.1 document: its frame (info, tags, security scheme, error responses) and its assembly from the
//! paths the router collected from the handlers' `#[utoipa::path]` annotations.
//!
//! Nothing here lists endpoints: [`crate::routes`] registers each handler once, and that registration is what puts
//! it into the document. Error responses are shared components, one per status, so an endpoint declares an error
//! status with one word in its `responses(...)` list (e.g. `Unauthorized`), and every error response points at the
//! one `Error` envelope schema.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use latchkey_domain::{PasswordPolicy, Policies};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Paths;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, KnownFormat, ObjectBuilder, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi;

use crate::error::{Envelope, FieldErrorBody};

/// Name of the bearer security scheme. Handlers name it as the literal `security(("bearer" = []))` (the attribute
/// takes no constant); a test checks that every operation's security names a declared scheme.
const BEARER: &str = "bearer";

/// Name of the API-key security scheme (`X-API-Key`), named as `security(("api_key" = []))` by the operations that
/// accept a key.
const API_KEY: &str = "api_key";

/// Name of the OAuth2 password-flow scheme: the same access token as [`BEARER`], obtained from `/oauth/token`, so
/// the reference page's "Authorize" can log a person in. Every operation that takes the bearer scheme takes this
/// one too ([`bearer_operations_take_oauth2`]).
const OAUTH2: &str = "oauth2";

/// Name of the introspection endpoint's scheme (its static secret).
const INTROSPECTION: &str = "introspection";

/// The token endpoint, at the server root.
const TOKEN_URL: &str = "/oauth/token";

/// Media type of every JSON body.
const JSON: &str = "application/json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Self-hostable authentication: registration, password login, JWT access tokens with \
                       rotating refresh tokens, sessions, credits.\n\nEvery error is the `Error` envelope \
                       `{\"detail\", \"code\", \"errors\"?}`. A known path called with a method it does not \
                       accept gets 405 `method_not_allowed` with an `Allow` header; an unknown path gets 404 \
                       `not_found`."
    ),
    tags(
        (name = "auth", description = "Registration, login, token refresh and logout"),
        (name = "account", description = "The caller's account"),
        (name = "sessions", description = "The caller's sessions"),
        (name = "credentials", description = "Personal access tokens and API keys: long-lived, scoped credentials \
                                             for programs, managed from a login session"),
        (name = "credits", description = "Charges with idempotency keys, refunds and the credits ledger"),
        (name = "service", description = "Health, readiness and this description"),
        (name = "oauth", description = "OAuth2 token, revocation and introspection endpoints, at the server root"),
    ),
    components(schemas(Envelope, FieldErrorBody)),
    modifiers(&BearerScheme, &OAuthSchemes),
)]
struct Frame;

/// Adds the OAuth2 password-flow scheme and the introspection secret's scheme.
struct OAuthSchemes;

impl utoipa::Modify for OAuthSchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let password = Password::new(TOKEN_URL, Scopes::new());
        components.add_security_scheme(
            OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::Password(password)],
                "Log in with a username (or email) and password at `/oauth/token`; the access token it returns is \
                 sent as `Authorization: Bearer <token>`, as with the `bearer` scheme.",
            )),
        );
        components.add_security_scheme(
            INTROSPECTION,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The server's `introspection.secret` as the password (any user name); \
                         `Authorization: Bearer <secret>` is accepted too.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the bearer security scheme (a derive cannot name it).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The `access_token` of a login, registration or refresh, or a personal access token \
                         (`lk_pat_…`), as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key (`sk_live_…`), on the operations that accept one; it acts within its scopes.",
            ))),
        );
    }
}

/// Declares one shared error response per status: a marker type for `#[utoipa::path(responses(...))]`, which
/// refers to the response component, and the component itself (the `Error` envelope as JSON, plus the
/// `WWW-Authenticate` challenge where the status carries one).
///
/// A new status (403 `session_required` / `insufficient_scope`, 429, …) is one entry here; an endpoint that can
/// answer it adds the marker's name to its `responses(...)`.
macro_rules! error_responses {
    ($($name:ident = $status:literal, challenge = $challenge:literal, retry_after = $retry_after:literal,
       $description:literal;)*) => {
        $(
            #[doc = $description]
            #[derive(Debug)]
            pub(crate) struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([(
                        stringify!($status).to_owned(),
                        RefOr::Ref(Ref::from_response_name(stringify!($name))),
                    )])
                }
            }
        )*

        /// Every error response component, by name.
        fn error_response_components() -> Vec<(&'static str, Response)> {
            vec![$((stringify!($name), error_response($description, $challenge, $retry_after))),*]
        }
    };
}

error_responses! {
    BadRequest = 400, challenge = false, retry_after = false,
        "The request is malformed or breaks a rule. `invalid_request`: the body or query could not be parsed \
         (malformed JSON or form, wrong types, missing fields); `validation_error`: fields break a rule, each \
         listed in `errors`; `invalid_current_password`: change-password with a wrong current password; \
         `invalid_token`: a wrong, spent or expired verification or reset link; `invalid_code`: a wrong, spent, \
         expired or burnt verification code; \
         `unsupported_grant_type`: an OAuth2 `grant_type` the endpoint does not take; \
         `idempotency_key_required`: a charge without an `Idempotency-Key` header; `invalid_idempotency_key`: one \
         longer than 255 characters or not printable ASCII. The OAuth2 endpoints (login, \
         refresh, `/oauth/…`) add the RFC 6749 `error` (`invalid_request`, `unsupported_grant_type`) and \
         `error_description`.";
    Unauthorized = 401, challenge = true, retry_after = false,
        "Not authenticated. `not_authenticated`: no bearer token (nor API key where one is accepted); \
         `token_expired`: \"Token has expired\" (an access token, personal token or API key past its expiry); \
         `invalid_token`: any other bad, revoked or forged token (\"Could not validate credentials\"); \
         `invalid_credentials`: wrong login, unknown account and wrong password alike; `invalid_refresh_token`: \
         unknown, expired, revoked or replayed refresh token; `invalid_client`: the introspection endpoint's caller \
         did not present its secret. The OAuth2 endpoints add the RFC 6749 `error` (`invalid_grant` for wrong \
         credentials or a bad refresh token, `invalid_client`) and `error_description`.";
    Forbidden = 403, challenge = true, retry_after = false,
        "The credential is valid but may not do this. `session_required`: a personal token or API key on an \
         operation only a login session may use; `insufficient_scope`: the credential lacks the operation's scope \
         (with `WWW-Authenticate: Bearer error=\"insufficient_scope\"`); `email_not_verified`: the right password, \
         but the server requires a verified address before login.";
    PaymentRequired = 402, challenge = false, retry_after = false,
        "`insufficient_credits`: the balance is below the charge's price; nothing was charged or stored. The \
         envelope adds `credits` (the balance) and `required` (the price).";
    NotFound = 404, challenge = false, retry_after = false,
        "`not_found`: no such resource (or not the caller's).";
    Conflict = 409, challenge = false, retry_after = false,
        "A unique value is taken: `email_taken`, `username_taken` (compared case-insensitively); or a limit is \
         reached: `too_many_credentials` (at most `credentials.max_per_user` live personal tokens, and as many \
         API keys, per user); `idempotency_key_in_use`: a charge with this `Idempotency-Key` is still being \
         processed (retry shortly); `charge_already_refunded`: a charge is refunded once.";
    IdempotencyConflict = 422, challenge = false, retry_after = false,
        "`idempotency_key_reused`: the `Idempotency-Key` was used with another request body; nothing was charged.";
    PayloadTooLarge = 413, challenge = false, retry_after = false,
        "`payload_too_large`: the body is over the server's `max_body_bytes`; refused before it is parsed.";
    UnsupportedMediaType = 415, challenge = false, retry_after = false,
        "`unsupported_media_type`: the `Content-Type` is not one the operation accepts; \
         `unsupported_content_encoding`: the request has a `Content-Encoding` other than `identity` (compressed \
         bodies are refused, on every operation, before the body is read; with `Accept-Encoding: identity`).";
    TooManyAttempts = 429, challenge = false, retry_after = true,
        "`too_many_attempts`: a rate limit of this operation is spent for the client's address or for the \
         account; `Retry-After` says in how many seconds to retry. Decided before any password is checked, and the \
         same for known and unknown accounts. The OAuth2 endpoints add the RFC 6749 `error` \
         `temporarily_unavailable`.";
    Unavailable = 503, challenge = false, retry_after = false,
        "`unavailable`: the database is unreachable; retry later.";
    UnavailableOrOverloaded = 503, challenge = false, retry_after = true,
        "`overloaded`: too many passwords are waiting to be hashed (the queue of `argon2.max_waiting_per_core` per \
         core is full); retry after the `Retry-After` seconds. `unavailable`: the database is unreachable; retry \
         later.";
}

/// One error response: the envelope, and the challenge or `Retry-After` header when the status has one.
fn error_response(description: &str, challenge: bool, retry_after: bool) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Error")))
            .build(),
    );
    if challenge {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some(
                    "The RFC 6750 challenge: `Bearer`, or `Bearer error=\"…\"` naming what was wrong with the \
                     token that was sent (e.g. `invalid_token`)",
                ))
                .build(),
        );
    }
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some(
                    "Whole seconds to wait before retrying (`too_many_attempts`, `overloaded`)",
                ))
                .build(),
        );
    }
    response.build()
}

/// The document: the frame, the collected paths and schemas, the error responses, and the policy-dependent
/// bounds as this server is configured.
pub(crate) fn document(
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
    policies: &Policies,
) -> Document {
    let mut document = Frame::openapi();
    document.paths = paths;
    let components = document.components.get_or_insert_with(Default::default);
    components.schemas.extend(schemas);
    for (name, response) in error_response_components() {
        components
            .responses
            .insert(name.to_owned(), response.into());
    }
    apply_password_policy(&mut document, &policies.password);
    describe_email_policies(&mut document, policies);
    credits_prices_are_integers(&mut document);
    charge_units_are_the_priced_ones(&mut document, policies);
    login_needs_an_identifier(&mut document);
    bearer_operations_take_oauth2(&mut document);
    every_operation_refuses_encoded_bodies(&mut document);
    document
}

/// Every operation may answer 415 `unsupported_content_encoding`: the refusal of a compressed body comes from a
/// middleware in front of every route, so it is declared here, once, rather than on each handler.
fn every_operation_refuses_encoded_bodies(document: &mut Document) {
    let status = StatusCode::UNSUPPORTED_MEDIA_TYPE.as_str().to_owned();
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            operation
                .responses
                .responses
                .entry(status.clone())
                .or_insert_with(|| {
                    RefOr::Ref(Ref::from_response_name(stringify!(UnsupportedMediaType)))
                });
        }
    }
}

/// Every operation that takes the bearer scheme also lists the OAuth2 scheme as an alternative: the same token,
/// obtained through the password flow. Done here, once, so no handler has to name it.
fn bearer_operations_take_oauth2(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let Some(security) = operation.security.as_mut() else {
                continue;
            };
            let takes_bearer = serde_json::to_value(&*security)
                .ok()
                .and_then(|value| value.as_array().cloned())
                .is_some_and(|requirements| requirements.iter().any(|r| r.get(BEARER).is_some()));
            if takes_bearer {
                security.push(SecurityRequirement::new(OAUTH2, Vec::<String>::new()));
            }
        }
    }
}

/// The password bounds in the schemas are the configured policy's, not the defaults the derive saw, so a client
/// (and schemathesis) learns the rule this server enforces.
fn apply_password_policy(document: &mut Document, policy: &PasswordPolicy) {
    for (schema, field) in [
        ("RegisterRequest", "password"),
        ("ChangePasswordRequest", "new_password"),
        ("ResetPasswordRequest", "new_password"),
    ] {
        if let Some(property) = property_mut(document, schema, field) {
            property.min_length = Some(policy.min_length());
            property.max_length = Some(policy.max_length());
        }
    }
}

/// The email operations say this server's settings (`verification.*`, `reset.*`), which the derive cannot know.
fn describe_email_policies(document: &mut Document, policies: &Policies) {
    let (verification, reset) = (&policies.verification, &policies.reset);
    let minutes = |delta: chrono::TimeDelta| delta.num_minutes();
    let notes = [
        (
            "/api/v1/auth/verify-email",
            format!(
                "On this server: links work for {} minutes, codes for {} minutes and {} wrong tries.",
                minutes(verification.link_ttl()),
                minutes(verification.code_ttl()),
                verification.max_attempts()
            ),
        ),
        (
            "/api/v1/auth/resend-verification",
            format!(
                "On this server: at most one email per account every {} seconds.",
                verification.resend_interval().num_seconds()
            ),
        ),
        (
            "/api/v1/auth/forgot-password",
            format!(
                "On this server: reset links work for {} minutes; at most one email per account every {} seconds.",
                minutes(reset.ttl()),
                reset.min_interval().num_seconds()
            ),
        ),
        (
            "/api/v1/auth/login",
            format!(
                "On this server a verified address is {}required to log in.",
                if verification.required_for_login() { "" } else { "not " }
            ),
        ),
    ];
    for (path, note) in notes {
        let Some(operation) = document
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
        else {
            continue;
        };
        let description = operation.description.get_or_insert_with(String::new);
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&note);
    }
}

/// `Credits` has one `credits_per_<unit>` integer per configured unit besides `credits`; the derive cannot say
/// that of a flattened map.
fn credits_prices_are_integers(document: &mut Document) {
    if let Some(Schema::Object(credits)) = schema_mut(document, "Credits") {
        let price = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)));
        credits.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(
            Schema::Object(price.build()),
        ))));
    }
}

/// A charge's `unit` is one of this server's priced units, and its `quantity` at most what the dearest unit's price
/// lets fit a balance: both come from the configuration, which the derive cannot know. A larger quantity is refused
/// with 400 for some units, which the schema then says of all.
fn charge_units_are_the_priced_ones(document: &mut Document, policies: &Policies) {
    let pricing = policies.credits.pricing();
    if let Some(property) = property_mut(document, "ChargeRequest", "unit") {
        property.enum_values = Some(pricing.keys().map(|unit| unit.as_str().into()).collect());
    }
    let dearest = pricing.values().copied().max().unwrap_or(0).max(1);
    if let Some(property) = property_mut(document, "ChargeRequest", "quantity") {
        property.maximum = Some((latchkey_domain::MAX_BALANCE / dearest).into());
    }
}

/// A login names the account by `username` or by `email` (a string, not `null`); with neither it is refused with
/// 400. The derive cannot state "one of these two", so the object is combined with that `anyOf`.
fn login_needs_an_identifier(document: &mut Document) {
    let Some(schema) = schema_mut(document, "LoginRequest") else {
        return;
    };
    let present = |field: &str| {
        ObjectBuilder::new()
            .required(field)
            .property(field, ObjectBuilder::new().schema_type(Type::String))
            .build()
    };
    let identifier = AnyOfBuilder::new()
        .item(present("username"))
        .item(present("email"))
        .build();
    let object = std::mem::replace(schema, Schema::AnyOf(identifier.clone()));
    *schema = Schema::AllOf(
        AllOfBuilder::new()
            .item(object)
            .item(Schema::AnyOf(identifier))
            .build(),
    );
}

fn schema_mut<'d>(document: &'d mut Document, name: &str) -> Option<&'d mut Schema> {
    match document.components.as_mut()?.schemas.get_mut(name)? {
        RefOr::T(schema) => Some(schema),
        RefOr::Ref(_) => None,
    }
}

fn property_mut<'d>(
    document: &'d mut Document,
    schema: &str,
    field: &str,
) -> Option<&'d mut utoipa::openapi::schema::Object> {
    let Schema::Object(object) = schema_mut(document, schema)? else {
        return None;
    };
    match object.properties.get_mut(field)? {
        RefOr::T(Schema::Object(property)) => Some(property),
        _ => None,
    }
}

/// This document.
#[utoipa::path(
    operation_id = "openapi_document",
    tag = "service",
    responses(
        (status = OK, description = "The OpenAPI 3.1 description of this API", body = Object,
         content_type = "application/json"),
    ),
)]
#[get("/openapi.json")]
pub(crate) async fn openapi_json(document: web::Data<ServedDocument>) -> HttpResponse {
    HttpResponse::Ok().json(&document.0)
}

/// The document in the app data; a type of our own, so an embedder's own `Data<OpenApi>` cannot collide with it.
pub(crate) struct ServedDocument(pub Document);
