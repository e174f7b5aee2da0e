//! The public keys that verify access tokens, for services that check tokens themselves instead of asking
//! `POST /oauth/introspect`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::openapi::NotFound;

/// A JWK Set (RFC 7517 §5) as `/.well-known/jwks.json` serves it.
#[derive(Debug, ToSchema)]
#[schema(as = JwkSet)]
#[allow(dead_code)] // Describes the answer; the set is served as the codec built it.
pub(crate) struct JwkSetBody {
    /// The signing key first, then the others that verify tokens (a rotation's next or retired key).
    keys: Vec<JwkBody>,
}

/// A public key that verifies access tokens (RFC 8037: an Ed25519 key, for EdDSA).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Jwk)]
#[allow(dead_code)] // Describes the answer; the set is served as the codec built it.
pub(crate) struct JwkBody {
    /// Key type: `OKP`.
    #[schema(example = "OKP")]
    kty: String,
    /// Curve: `Ed25519`.
    #[schema(example = "Ed25519")]
    crv: String,
    /// The public key, base64url without padding.
    #[schema(example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")]
    x: String,
    /// Key use: `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    key_use: String,
    /// Algorithm: `EdDSA`.
    #[schema(example = "EdDSA")]
    alg: String,
    /// Key id: the key's RFC 7638 thumbprint, which a token's header names in its `kid`.
    #[schema(example = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")]
    kid: String,
}

/// The JWK Set to serve, present when access tokens are signed with an asymmetric key.
pub(crate) struct PublishedKeys(pub(crate) Arc<serde_json::Value>);

/// How long a verifier may keep the keys: the first step of a rotation (`docs/operations.md`) waits this long after
/// publishing the next key before it signs, so every cached copy knows it by then. Change both together.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The public keys that verify access tokens signed with EdDSA, as a JWK Set (RFC 7517): each token names its key
/// by `kid`; during a key rotation the next or the retired key is listed too. 404 when tokens are signed with
/// HS256, whose secret is never published.
#[utoipa::path(
    operation_id = "jwks",
    tag = "service",
    responses(
        (
            status = OK,
            description = "The JWK Set",
            body = JwkSetBody,
            headers(("Cache-Control" = String, description = "`public, max-age=300`")),
            example = json!({"keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "use": "sig",
                "alg": "EdDSA",
                "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
            }]}),
        ),
        NotFound,
    ),
)]
#[get("/.well-known/jwks.json")]
pub(super) async fn jwks(keys: Option<web::Data<PublishedKeys>>) -> Result<HttpResponse, ApiError> {
    let keys = keys.ok_or_else(|| {
        ApiError::not_found(
            "No public keys: access tokens are signed with HS256 (jwt.private_key_file selects EdDSA)",
        )
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .json(&*keys.0))
}
