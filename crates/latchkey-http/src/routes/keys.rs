//! The public keys that verify access tokens, for services that check tokens themselves instead of asking
//! `POST /oauth/introspect`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

use crate::error::ApiError;
use crate::openapi::NotFound;

/// The JWK Set to serve, present when access tokens are signed with an asymmetric key.
pub(crate) struct PublishedKeys(pub(crate) Arc<serde_json::Value>);

/// How long a verifier may keep the keys: a rotation keeps the retired key published for at least an access
/// token's lifetime, so a copy this old still verifies every live token once it has fetched again.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The public keys that verify access tokens signed with EdDSA, as a JWK Set (RFC 7517): each token names its key
/// by `kid`; during a key rotation the retired key is listed too. 404 when tokens are signed with HS256, whose
/// secret is never published.
#[utoipa::path(
    operation_id = "jwks",
    tag = "service",
    responses(
        (
            status = OK,
            description = "The JWK Set",
            body = Object,
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
