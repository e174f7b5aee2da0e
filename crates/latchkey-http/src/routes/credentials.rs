//! Personal access tokens (`/auth/tokens`) and API keys (`/auth/keys`): managed only from a login session.
//!
//! The two resources behave alike; each handler names its kind and delegates to the shared functions below, so
//! they differ only in their paths, documentation and body shapes.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{delete, get, post, web, HttpResponse, HttpResponseBuilder};
use latchkey_domain::service::{CreateCredentialInput, CreatedCredential};
use latchkey_domain::{CredentialId, CredentialKind, Latchkey, SessionPrincipal};

use crate::auth::{Authenticated, SessionOnly};
use crate::dto::{
    CreateKeyRequest, CreateTokenRequest, CreatedKeyBody, CreatedTokenBody, CredentialBody,
};
use crate::error::{credential_error, ApiError};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unavailable,
    UnsupportedMediaType,
};

const PAT: CredentialKind = CredentialKind::PersonalToken;
const KEY: CredentialKind = CredentialKind::ApiKey;

/// Create a personal access token.
///
/// The token (`lk_pat_…`) is in this response only; send it as `Authorization: Bearer <token>`. An expiry is
/// required. Needs a login session.
#[utoipa::path(
    operation_id = "create_token",
    tag = "credentials",
    request_body = CreateTokenRequest,
    security(("bearer" = [])),
    responses(
        (status = CREATED, description = "Created; the token is shown only here", body = CreatedTokenBody),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, Unavailable,
    ),
)]
#[post("/auth/tokens")]
pub(super) async fn create_token(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    body: web::Json<CreateTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = create(&latchkey, &principal, PAT, body.into_inner().into_input()).await?;
    Ok(shown_once(HttpResponse::Created()).json(CreatedTokenBody::from(created)))
}

/// List the personal access tokens.
///
/// Never their secrets: each shows the first characters of its token. Expired tokens stay listed until revoked.
#[utoipa::path(
    operation_id = "list_tokens",
    tag = "credentials",
    security(("bearer" = [])),
    responses(
        (status = OK, description = "The account's tokens, newest first", body = Vec<CredentialBody>),
        Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/auth/tokens")]
pub(super) async fn list_tokens(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
) -> Result<HttpResponse, ApiError> {
    list(&latchkey, &principal, PAT).await
}

/// Revoke a personal access token.
#[utoipa::path(
    operation_id = "revoke_token",
    tag = "credentials",
    params(("id" = String, Path, description = "Token id, `pat_…`")),
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Revoked; the token is refused from now on"),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
)]
#[delete("/auth/tokens/{id}")]
pub(super) async fn revoke_token(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    revoke(&latchkey, &principal, PAT, &id).await
}

/// Rotate a personal access token.
///
/// Same id, name, scopes and expiry; a new secret, shown only here. The old one is refused from this moment.
#[utoipa::path(
    operation_id = "rotate_token",
    tag = "credentials",
    params(("id" = String, Path, description = "Token id, `pat_…`")),
    security(("bearer" = [])),
    responses(
        (status = CREATED, description = "Rotated; the new token is shown only here", body = CreatedTokenBody),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
)]
#[post("/auth/tokens/{id}/rotate")]
pub(super) async fn rotate_token(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = rotate(&latchkey, &principal, PAT, &id).await?;
    Ok(shown_once(HttpResponse::Created()).json(CreatedTokenBody::from(rotated)))
}

/// Create an API key.
///
/// The key (`sk_live_…`) is in this response only; send it as `X-API-Key: <key>`. Needs a login session.
#[utoipa::path(
    operation_id = "create_key",
    tag = "credentials",
    request_body = CreateKeyRequest,
    security(("bearer" = [])),
    responses(
        (status = CREATED, description = "Created; the key is shown only here", body = CreatedKeyBody),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, Unavailable,
    ),
)]
#[post("/auth/keys")]
pub(super) async fn create_key(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    body: web::Json<CreateKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = create(&latchkey, &principal, KEY, body.into_inner().into_input()).await?;
    Ok(shown_once(HttpResponse::Created()).json(CreatedKeyBody::from(created)))
}

/// List the API keys.
///
/// Never their secrets: each shows the first characters of its key, and when it was last used.
#[utoipa::path(
    operation_id = "list_keys",
    tag = "credentials",
    security(("bearer" = [])),
    responses(
        (status = OK, description = "The account's keys, newest first", body = Vec<CredentialBody>),
        Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/auth/keys")]
pub(super) async fn list_keys(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
) -> Result<HttpResponse, ApiError> {
    list(&latchkey, &principal, KEY).await
}

/// Revoke an API key.
#[utoipa::path(
    operation_id = "revoke_key",
    tag = "credentials",
    params(("id" = String, Path, description = "Key id, `key_…`")),
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Revoked; the key is refused from now on"),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
)]
#[delete("/auth/keys/{id}")]
pub(super) async fn revoke_key(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    revoke(&latchkey, &principal, KEY, &id).await
}

/// Rotate an API key.
///
/// Same id, name, scopes and expiry; a new secret, shown only here. The old one is refused from this moment.
#[utoipa::path(
    operation_id = "rotate_key",
    tag = "credentials",
    params(("id" = String, Path, description = "Key id, `key_…`")),
    security(("bearer" = [])),
    responses(
        (status = CREATED, description = "Rotated; the new key is shown only here", body = CreatedKeyBody),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ),
)]
#[post("/auth/keys/{id}/rotate")]
pub(super) async fn rotate_key(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rotated = rotate(&latchkey, &principal, KEY, &id).await?;
    Ok(shown_once(HttpResponse::Created()).json(CreatedKeyBody::from(rotated)))
}

async fn create(
    latchkey: &Latchkey,
    principal: &SessionPrincipal,
    kind: CredentialKind,
    input: CreateCredentialInput,
) -> Result<CreatedCredential, ApiError> {
    latchkey
        .create_credential(principal, kind, input)
        .await
        .map_err(|error| credential_error(error, kind))
}

async fn list(
    latchkey: &Latchkey,
    principal: &SessionPrincipal,
    kind: CredentialKind,
) -> Result<HttpResponse, ApiError> {
    let credentials = latchkey.list_credentials(principal, kind).await?;
    Ok(HttpResponse::Ok().json(
        credentials
            .into_iter()
            .map(CredentialBody::from)
            .collect::<Vec<_>>(),
    ))
}

async fn revoke(
    latchkey: &Latchkey,
    principal: &SessionPrincipal,
    kind: CredentialKind,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(kind, id)?;
    latchkey
        .revoke_credential(principal, &id)
        .await
        .map_err(|error| credential_error(error, kind))?;
    Ok(HttpResponse::NoContent().finish())
}

async fn rotate(
    latchkey: &Latchkey,
    principal: &SessionPrincipal,
    kind: CredentialKind,
    id: &str,
) -> Result<CreatedCredential, ApiError> {
    let id = parse_id(kind, id)?;
    latchkey
        .rotate_credential(principal, &id)
        .await
        .map_err(|error| credential_error(error, kind))
}

/// A malformed id names no credential: the same 404 as an unknown one.
fn parse_id(kind: CredentialKind, id: &str) -> Result<CredentialId, ApiError> {
    CredentialId::parse(kind, id)
        .ok_or_else(|| credential_error(latchkey_domain::CredentialError::NotFound, kind))
}

/// A response carrying a secret: no cache may keep it (RFC 9111 `no-store`).
fn shown_once(mut response: HttpResponseBuilder) -> HttpResponseBuilder {
    response.insert_header(CacheControl(vec![CacheDirective::NoStore]));
    response.insert_header((header::PRAGMA, "no-cache"));
    response
}
