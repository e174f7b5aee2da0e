//! Email verification and password reset.

use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::header;
use actix_web::{post, web, FromRequest, HttpRequest, HttpResponse};
use latchkey_domain::service::ResendTarget;
use latchkey_domain::Latchkey;

use crate::auth::{Authenticated, ProfileRead, API_KEY_HEADER};
use crate::dto::{
    ForgotPasswordRequest, MessageBody, ResendVerificationRequest, ResetPasswordRequest,
    VerifyEmailQuery, VerifyEmailRequest,
};
use crate::error::ApiError;
use crate::extract::{client_info, Client, OptionalJson};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, PayloadTooLarge, TooManyAttempts, Unauthorized, Unavailable,
    UnavailableOrOverloaded, UnsupportedMediaType,
};

/// The answer to every resend request, whatever was (or was not) sent.
pub(crate) const RESEND_MESSAGE: &str =
    "If the account exists and is not verified yet, a new verification email is on its way.";

/// The answer to every forgot-password request, whatever the address.
pub(crate) const FORGOT_MESSAGE: &str =
    "If that email is registered, you'll receive a reset link shortly.";

/// Verify an email address.
///
/// Either with the `token` of the verification link (`?token=…`, no body), or with the address and the 6-digit
/// code of the email (`{"email", "code"}`; `activation_code` is accepted for `code`). A wrong, spent or expired
/// link answers 400 `invalid_token`; a wrong, spent, expired or burnt code (5 wrong tries) 400 `invalid_code`,
/// alike whether or not the address has an account.
///
/// The same link or code confirms an email change (`POST /auth/change-email`): with the new address and its code,
/// or its link, the account moves to the new address; 409 `email_taken` if another account took it meanwhile.
#[utoipa::path(
    operation_id = "verify_email",
    tag = "auth",
    params(VerifyEmailQuery),
    request_body(content = Option<VerifyEmailRequest>, content_type = "application/json"),
    responses(
        (status = OK, description = "The address is verified", body = MessageBody),
        BadRequest, Conflict, PayloadTooLarge, TooManyAttempts, Unavailable,
    ),
)]
#[post("/auth/verify-email")]
pub(super) async fn verify_email(
    latchkey: web::Data<Latchkey>,
    query: web::Query<VerifyEmailQuery>,
    body: OptionalJson<VerifyEmailRequest>,
    Client(client): Client,
) -> Result<HttpResponse, ApiError> {
    match (query.into_inner().token, body.0) {
        (Some(token), _) => latchkey.verify_email_link(&token, &client).await?,
        (
            None,
            VerifyEmailRequest {
                email: Some(email),
                code: Some(code),
            },
        ) => latchkey.verify_email_code(&email, &code, &client).await?,
        (None, VerifyEmailRequest { email, code }) => {
            let mut missing = Vec::new();
            if email.is_none() {
                missing.push(("email", "is required without a token".to_owned()));
            }
            if code.is_none() {
                missing.push(("code", "is required without a token".to_owned()));
            }
            return Err(ApiError::validation(missing));
        }
    };
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Email verified",
    }))
}

/// Send a new verification email.
///
/// For the caller's account with a bearer token (or a personal token or API key with `profile:read`), or for
/// `{"email"}` without one. Always the same 202, whether the
/// account exists, is verified already, or had an email less than a minute ago (then nothing is sent); a new email
/// voids the previous link and code.
#[utoipa::path(
    operation_id = "resend_verification",
    tag = "auth",
    request_body(content = Option<ResendVerificationRequest>, content_type = "application/json"),
    security((), ("bearer" = []), ("api_key" = [])),
    responses(
        (status = ACCEPTED, description = "Accepted; an email is sent if one is due", body = MessageBody),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, TooManyAttempts, Unavailable,
    ),
)]
#[post("/auth/resend-verification")]
pub(super) async fn resend_verification(
    latchkey: web::Data<Latchkey>,
    req: HttpRequest,
    body: OptionalJson<ResendVerificationRequest>,
) -> Result<HttpResponse, ApiError> {
    // A credential, when sent, must be valid: a client that meant to name its own account gets told.
    let headers = req.headers();
    if headers.contains_key(header::AUTHORIZATION) || headers.contains_key(API_KEY_HEADER) {
        let Authenticated(principal) = Authenticated::<ProfileRead>::extract(&req).await?;
        latchkey
            .resend_verification(ResendTarget::Caller(&principal), &client_info(&req))
            .await?;
    } else {
        let email = body.0.email.ok_or_else(|| {
            ApiError::validation([("email", "is required without a bearer token".to_owned())])
        })?;
        latchkey
            .admit_resend_verification(&client_info(&req))
            .await?;
        send_verification_later(&latchkey, email).await;
    }
    Ok(HttpResponse::Accepted().json(MessageBody {
        message: RESEND_MESSAGE,
    }))
}

/// Ask for a password reset link.
///
/// Always the same 202, whatever the address: the link is emailed only to a registered address, and the email
/// is queued, never awaited, so neither the answer nor its timing tells which addresses have accounts. The link
/// works once, for 15 minutes; a newer request voids it.
#[utoipa::path(
    operation_id = "forgot_password",
    tag = "auth",
    request_body = ForgotPasswordRequest,
    responses(
        (status = ACCEPTED, description = "Accepted", body = MessageBody),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, TooManyAttempts, Unavailable,
    ),
)]
#[post("/auth/forgot-password")]
pub(super) async fn forgot_password(
    latchkey: web::Data<Latchkey>,
    body: web::Json<ForgotPasswordRequest>,
    Client(client): Client,
) -> Result<HttpResponse, ApiError> {
    latchkey.admit_forgot_password(&client).await?;
    send_reset_link_later(&latchkey, body.into_inner().email).await;
    Ok(HttpResponse::Accepted().json(MessageBody {
        message: FORGOT_MESSAGE,
    }))
}

/// Emails to an address being issued after their answer (reset links, verification resends), at most
/// [`MAX_LATE_ISSUES`] at a time in this process.
static LATE_ISSUES: AtomicUsize = AtomicUsize::new(0);

/// Beyond this many issuances in flight, the next request issues its email before answering: its timing may then
/// tell (only under such a flood, which the per-address limits already slow), but the tasks cannot pile up without
/// bound behind the connection pool.
const MAX_LATE_ISSUES: usize = 64;

/// Looks the address up and queues its reset email after the answer has gone (see [`issue_later`]).
pub(crate) async fn send_reset_link_later(latchkey: &web::Data<Latchkey>, email: String) {
    let latchkey = latchkey.clone().into_inner();
    issue_later(async move {
        if let Err(error) = latchkey.send_reset_link(&email).await {
            tracing::warn!(%error, "a password reset link could not be issued");
        }
    })
    .await;
}

/// Looks the address up and queues a new verification email after the answer has gone (see [`issue_later`]).
pub(crate) async fn send_verification_later(latchkey: &web::Data<Latchkey>, email: String) {
    let latchkey = latchkey.clone().into_inner();
    issue_later(async move {
        if let Err(error) = latchkey.send_verification_to(&email).await {
            tracing::warn!(%error, "a verification email could not be issued");
        }
    })
    .await;
}

/// Runs `issue` after the answer has gone: a known address costs more database work than an unknown one, and an
/// answer that waited for it would time which addresses have accounts. A failure is logged; the client was only
/// ever told "if that email is registered". An email still in flight when the server stops is lost, as a request
/// that never arrived would be: the user asks again.
async fn issue_later(issue: impl std::future::Future<Output = ()> + 'static) {
    if LATE_ISSUES.fetch_add(1, Ordering::SeqCst) >= MAX_LATE_ISSUES {
        LATE_ISSUES.fetch_sub(1, Ordering::SeqCst);
        issue.await;
        return;
    }
    actix_web::rt::spawn(async move {
        issue.await;
        LATE_ISSUES.fetch_sub(1, Ordering::SeqCst);
    });
}

/// Set a new password with a reset link's token.
///
/// The password policy applies (400 `validation_error`, and the token is not spent). On success every session and
/// refresh token of the account is revoked, the address counts as verified, and the token is spent: 400
/// `invalid_token` for a wrong, spent or expired one.
#[utoipa::path(
    operation_id = "reset_password",
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = OK, description = "The password is changed", body = MessageBody),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, UnavailableOrOverloaded,
    ),
)]
#[post("/auth/reset-password")]
pub(super) async fn reset_password(
    latchkey: web::Data<Latchkey>,
    body: web::Json<ResetPasswordRequest>,
    Client(client): Client,
) -> Result<HttpResponse, ApiError> {
    let ResetPasswordRequest {
        token,
        new_password,
    } = body.into_inner();
    latchkey
        .reset_password(&token, new_password, &client)
        .await?;
    Ok(HttpResponse::Ok().json(MessageBody {
        message: "Password updated successfully. You can now log in.",
    }))
}
