//! The caller's own account: editing the profile, changing the email address, deleting the account.

use actix_web::{delete, patch, post, web, HttpResponse};
use latchkey_domain::service::ProfileUpdate;
use latchkey_domain::Latchkey;
use serde_json::{Map, Value};

use crate::auth::{Authenticated, ProfileWrite, SessionOnly};
use crate::dto::{
    ChangeEmailRequest, DeleteAccountRequest, MessageBody, UpdateProfileRequest, UserBody,
};
use crate::error::ApiError;
use crate::openapi::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, TooManyAttempts, Unauthorized, Unavailable,
    UnavailableOrOverloaded, UnsupportedMediaType,
};

/// Update the caller's profile.
///
/// Send only the fields to change: `name` (or `full_name`), `username`, `phone` (E.164) and `metadata` (a JSON
/// object, replaced whole; `{}` empties it); `null` clears `name`, `username` or `phone`. Any other field is
/// refused with 400 naming it: the email address changes through `POST /auth/change-email`, the password through
/// `POST /auth/change-password`, and the server's own fields (`id`, `credits`, `is_verified`, …) not at all.
/// `validation_error` lists every rejected field at once.
#[utoipa::path(
    operation_id = "update_me",
    tag = "account",
    request_body = UpdateProfileRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = OK, description = "The account as changed", body = UserBody),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, Unavailable,
    ),
)]
#[patch("/auth/me")]
pub(super) async fn update_me(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<ProfileWrite>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let update = profile_update(body.into_inner())?;
    let user = latchkey.update_profile(&principal, update).await?;
    Ok(HttpResponse::Ok().json(UserBody::from(user)))
}

/// Longest field name echoed back in an error; a client sending longer keys learns no more from the whole key.
const MAX_ECHOED_FIELD: usize = 64;

/// The profile change a `PATCH /auth/me` body asks for, every field checked by name, so an error names the field
/// it is about (serde's own message would name only the first, and not say why).
fn profile_update(body: Map<String, Value>) -> Result<ProfileUpdate, ApiError> {
    let mut update = ProfileUpdate::new();
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut name_given = false;
    for (field, value) in body {
        let text = |value: Value| match value {
            Value::Null => Ok(None),
            Value::String(text) => Ok(Some(text)),
            _ => Err("must be a string or null".to_owned()),
        };
        let outcome = match field.as_str() {
            "name" | "full_name" if name_given => {
                Err("give name or full_name, not both".to_owned())
            }
            "name" | "full_name" => {
                name_given = true;
                text(value).map(|name| update = std::mem::take(&mut update).name(name))
            }
            "username" => {
                text(value).map(|name| update = std::mem::take(&mut update).username(name))
            }
            "phone" => text(value).map(|phone| update = std::mem::take(&mut update).phone(phone)),
            "metadata" => match value {
                Value::Object(object) => {
                    update = std::mem::take(&mut update).metadata(object);
                    Ok(())
                }
                _ => Err("must be a JSON object".to_owned()),
            },
            "email" => Err("cannot be changed here: use POST /auth/change-email".to_owned()),
            "password" => Err("cannot be changed here: use POST /auth/change-password".to_owned()),
            "id" | "credits" | "is_verified" | "created_at" | "updated_at" => {
                Err("is set by the server and cannot be changed".to_owned())
            }
            _ => Err("is not a profile field".to_owned()),
        };
        if let Err(message) = outcome {
            errors.push((field.chars().take(MAX_ECHOED_FIELD).collect(), message));
        }
    }
    if errors.is_empty() {
        return Ok(update);
    }
    // The values of the fields that are profile fields are checked too, so one answer names everything to fix.
    if let Err(invalid) = update.check() {
        errors.extend(
            crate::error::profile_fields(&invalid)
                .into_iter()
                .map(|(field, message)| (field.to_owned(), message)),
        );
    }
    Err(ApiError::validation(errors))
}

/// Change the email address.
///
/// Needs the account's password. Sends a link and a 6-digit code to the new address and a notice to the current
/// one; the address changes only when the new one is verified (the link's page `/verify-email?token=…`, or
/// `POST /auth/verify-email` with its token, or with the new address and the code), and then every other session is
/// revoked. A newer request replaces a pending one. Wrong passwords count towards the same limit as password
/// changes.
#[utoipa::path(
    operation_id = "change_email",
    tag = "account",
    request_body = ChangeEmailRequest,
    security(("bearer" = [])),
    responses(
        (status = ACCEPTED, description = "Verification sent to the new address", body = MessageBody),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType,
        TooManyAttempts, UnavailableOrOverloaded,
    ),
)]
#[post("/auth/change-email")]
pub(super) async fn change_email(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    body: web::Json<ChangeEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangeEmailRequest {
        new_email,
        password,
    } = body.into_inner();
    latchkey
        .request_email_change(&principal, &new_email, password)
        .await?;
    Ok(HttpResponse::Accepted().json(MessageBody {
        message: "Check the new address for a link and a code: the change takes effect once it is verified",
    }))
}

/// Delete the account.
///
/// Needs the account's password. Every session, refresh token, personal token and API key ends at once, and the
/// account's personal data is removed (see the security guide for what is kept); the address may register again.
#[utoipa::path(
    operation_id = "delete_me",
    tag = "account",
    request_body = DeleteAccountRequest,
    security(("bearer" = [])),
    responses(
        (status = NO_CONTENT, description = "Deleted"),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType,
        TooManyAttempts, UnavailableOrOverloaded,
    ),
)]
#[delete("/auth/me")]
pub(super) async fn delete_me(
    latchkey: web::Data<Latchkey>,
    Authenticated(principal): Authenticated<SessionOnly>,
    body: web::Json<DeleteAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    latchkey
        .delete_account(&principal, body.into_inner().password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
