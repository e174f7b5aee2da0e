//! Credits: charges with idempotency keys (`/credits/charges`), refunds, and the ledger.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use latchkey_domain::service::ChargeInput;
use latchkey_domain::Latchkey;

use crate::auth::{Authenticated, CreditsCharge, CreditsRead};
use crate::dto::{ChargeBody, ChargeRequest, LedgerBody, LedgerEntryBody, LedgerQuery};
use crate::error::{charge_error, ApiError};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, IdempotencyConflict, NotFound, PayloadTooLarge,
    PaymentRequired, Unauthorized, Unavailable, UnsupportedMediaType,
};

/// The request header that names a charge, so that a retry cannot charge twice.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The response header that marks a stored answer given again.
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Charge credits.
///
/// Takes `quantity` times the unit's price from the balance, never below zero. The `Idempotency-Key` header is
/// required: the same key with the same body answers the first charge again (same status and body, with
/// `Idempotent-Replayed: true`) and charges nothing more, for 24 hours by default (`credits.idempotency_ttl`);
/// with another body it is refused with 422. A request refused for any reason stores nothing, so its key may be
/// used again. Needs a login session, or a personal token or API key with `credits:charge`.
#[utoipa::path(
    operation_id = "create_charge",
    tag = "credits",
    request_body = ChargeRequest,
    params(
        ("Idempotency-Key" = String, Header, description = "A unique key per charge, chosen by the client (a UUID \
          is a good choice): 1 to 255 printable ASCII characters, not starting or ending with a space (HTTP \
          trims those). Required.", min_length = 1, max_length = 255,
          pattern = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = CREATED, description = "Charged, or (with `Idempotent-Replayed: true`) the key's stored answer",
         body = ChargeBody,
         headers(("Idempotent-Replayed" = String, description = "`true` when this is the stored answer of an \
                   earlier request with the same key"))),
        BadRequest, Unauthorized, PaymentRequired, Forbidden, IdempotencyConflict, Conflict, PayloadTooLarge,
        UnsupportedMediaType, Unavailable,
    ),
)]
#[post("/credits/charges")]
pub(super) async fn create_charge(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<CreditsCharge>,
    req: HttpRequest,
    body: web::Json<ChargeRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChargeRequest { unit, quantity } = body.into_inner();
    let mut input = ChargeInput::new(unit, quantity);
    if let Some(key) = req.headers().get(IDEMPOTENCY_KEY) {
        // A value that is not visible ASCII is refused by the domain's parse like any other bad key.
        input = input.idempotency_key(key.to_str().unwrap_or("\u{7f}"));
    }
    let receipt = latchkey
        .charge(&principal, input)
        .await
        .map_err(charge_error)?;
    let mut response = HttpResponse::Created();
    if receipt.replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, HeaderValue::from_static("true")));
    }
    Ok(response.json(ChargeBody::from(receipt.charge)))
}

/// Refund a charge.
///
/// Gives the charged credits back, once; the answer is the refund's ledger entry. Needs a login session, or a
/// personal token or API key with `credits:charge`.
#[utoipa::path(
    operation_id = "refund_charge",
    tag = "credits",
    params(("id" = String, Path, description = "Charge id, `chg_…`")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = CREATED, description = "Refunded", body = LedgerEntryBody),
        Unauthorized, Forbidden, NotFound, Conflict, Unavailable,
    ),
)]
#[post("/credits/charges/{id}/refund")]
pub(super) async fn refund_charge(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<CreditsCharge>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let entry = latchkey.refund(&principal, &id).await?;
    Ok(HttpResponse::Created().json(LedgerEntryBody::from(entry)))
}

/// List the credits ledger.
///
/// Every change of the balance: the welcome credits, charges (negative), refunds and operators' grants, newest
/// first, `limit` at a time (1 to 100, default 20); pass `next_cursor` as `cursor` for the next page. The balance
/// always equals the sum of the entries. Needs a login session, or a personal token or API key with
/// `credits:read`.
#[utoipa::path(
    operation_id = "list_ledger",
    tag = "credits",
    params(LedgerQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = OK, description = "A page of entries", body = LedgerBody),
        BadRequest, Unauthorized, Forbidden, Unavailable,
    ),
)]
#[get("/credits/ledger")]
pub(super) async fn list_ledger(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<CreditsRead>,
    query: web::Query<LedgerQuery>,
) -> Result<HttpResponse, ApiError> {
    let LedgerQuery { limit, cursor } = query.into_inner();
    let (limit, cursor) =
        super::page_query(limit, cursor, latchkey_domain::service::LEDGER_PAGE_MAX)?;
    let page = latchkey
        .ledger(&principal, limit, cursor.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(LedgerBody::from(page)))
}
