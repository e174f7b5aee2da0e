//! The two pages a person reaches from an email: `GET /verify-email?token=…` and `GET /reset-password?token=…`.
//!
//! Server-rendered HTML with plain forms and no script at all: the verification page verifies only when its button
//! is pressed (a POST), so mail scanners that open links do not spend them. The pages load nothing but this
//! server's stylesheet, under a `Content-Security-Policy` that allows nothing else (no script, no frame, forms only
//! to this origin), and send `Referrer-Policy: no-referrer` so the token in the URL reaches no other site. The
//! request log never writes query strings or bodies, so the token reaches no log line either.
//!
//! Each handler parses the form, calls one use case, and renders the outcome.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpResponse};
use latchkey_domain::{EmailRequestError, Latchkey, ResetPasswordError, VerifyEmailError};
use serde::Deserialize;

use crate::extract::Client;
use crate::routes::Router;

/// Every page route (kept out of the API document: they are for people, not clients).
pub(crate) fn register(router: &mut Router<'_>) {
    router
        .undocumented(Method::GET, "/verify-email", verify_page)
        .undocumented(Method::POST, "/verify-email", verify)
        .undocumented(Method::POST, "/verify-email/resend", resend)
        .undocumented(Method::GET, "/reset-password", reset_page)
        .undocumented(Method::POST, "/reset-password", reset)
        .undocumented(Method::POST, "/reset-password/request", request_reset)
        .undocumented(Method::GET, STYLESHEET_PATH, stylesheet);
}

/// Where the pages' one stylesheet is served.
const STYLESHEET_PATH: &str = "/assets/latchkey.css";

/// Nothing but this origin's stylesheet; no script, no frames; forms post to this origin only.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLESHEET: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;\
color:#1d1d1f;line-height:1.5}h1{font-size:1.5rem}label{display:block;margin:1rem 0 .25rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}button{margin-top:1.25rem;padding:.6rem 1.2rem;\
font-size:1rem;cursor:pointer}.error{color:#b00020}.ok{color:#146c2e}";

/// A `?token=` query.
#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The verification page's form.
#[derive(Deserialize)]
struct VerifyForm {
    token: String,
}

/// A form naming an address.
#[derive(Deserialize)]
struct EmailForm {
    email: String,
}

/// The reset page's form.
#[derive(Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
    confirm_password: String,
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A whole page with the security headers. `body` is trusted HTML (its dynamic parts escaped by the caller).
fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    // Relative stylesheet URL, so the pages also work behind a proxy that adds a path prefix.
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"assets/latchkey.css\">\n</head>\n\
         <body>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .body(html)
}

/// The page for a store that did not answer.
fn unavailable() -> HttpResponse {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<p class=\"error\" role=\"alert\">The service is busy right now. Please try again in a moment.</p>",
    )
}

/// What a page answers for a request of an address that asked too often, or when the store failed.
fn refused(error: EmailRequestError) -> HttpResponse {
    match error {
        EmailRequestError::TooManyAttempts(throttled) => {
            let seconds = throttled.retry_after.num_seconds().max(1);
            let mut response = page(
                StatusCode::TOO_MANY_REQUESTS,
                "Please wait",
                &format!(
                    "<p class=\"error\" role=\"alert\">Too many requests from your network. Please try again in \
                     {seconds} seconds.</p>"
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            response
        }
        _ => unavailable(),
    }
}

const RESEND_FORM: &str = "<form method=\"post\" action=\"verify-email/resend\">\n\
     <label for=\"email\">Your email address</label>\n\
     <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\n\
     <button type=\"submit\">Send me a new link</button>\n</form>";

const REQUEST_RESET_FORM: &str = "<form method=\"post\" action=\"reset-password/request\">\n\
     <label for=\"email\">Your email address</label>\n\
     <input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"email\" required>\n\
     <button type=\"submit\">Send me a new link</button>\n</form>";

/// `GET /verify-email?token=…`: a button that verifies; opening the page spends nothing.
async fn verify_page(query: web::Query<TokenQuery>) -> HttpResponse {
    match query.into_inner().token.filter(|token| !token.is_empty()) {
        Some(token) => page(
            StatusCode::OK,
            "Verify your email address",
            &format!(
                "<p>Press the button to confirm this is your email address.</p>\n\
                 <form method=\"post\" action=\"verify-email\">\n\
                 <input type=\"hidden\" name=\"token\" value=\"{}\">\n\
                 <button type=\"submit\">Verify my email</button>\n</form>",
                escape(&token)
            ),
        ),
        None => page(
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
            &format!(
                "<p class=\"error\" role=\"alert\">Open the link from the email exactly as it is, or ask for a new \
                 one.</p>\n{RESEND_FORM}"
            ),
        ),
    }
}

/// `POST /verify-email`: the button.
async fn verify(
    latchkey: web::Data<Latchkey>,
    form: web::Form<VerifyForm>,
    Client(client): Client,
) -> HttpResponse {
    match latchkey.verify_email_link(&form.token, &client).await {
        Ok(_) => page(
            StatusCode::OK,
            "Email verified",
            "<p class=\"ok\" role=\"status\">Your email address is verified. You can close this page.</p>",
        ),
        Err(VerifyEmailError::InvalidToken) => page(
            StatusCode::BAD_REQUEST,
            "This link has expired",
            &format!(
                "<p class=\"error\" role=\"alert\">This verification link has expired or was already used. \
                 Enter your address and we will send a new one.</p>\n{RESEND_FORM}"
            ),
        ),
        Err(VerifyEmailError::EmailTaken) => page(
            StatusCode::CONFLICT,
            "This address is taken",
            "<p class=\"error\" role=\"alert\">Another account has registered this address since the change was \
             asked for, so your account keeps its current address.</p>",
        ),
        Err(_) => unavailable(),
    }
}

/// `POST /verify-email/resend`: the same answer whatever the address.
async fn resend(
    latchkey: web::Data<Latchkey>,
    form: web::Form<EmailForm>,
    Client(client): Client,
) -> HttpResponse {
    match latchkey.admit_resend_verification(&client).await {
        Ok(()) => {
            crate::routes::send_verification_later(&latchkey, form.into_inner().email).await;
            page(
                StatusCode::OK,
                "Check your email",
                &format!("<p role=\"status\">{}</p>", crate::routes::RESEND_MESSAGE),
            )
        }
        Err(error) => refused(error),
    }
}

fn reset_form(token: &str, error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |message| {
        format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            escape(message)
        )
    });
    format!(
        "{error}<form method=\"post\" action=\"reset-password\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{}\">\n\
         <label for=\"new_password\">New password</label>\n\
         <input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" required>\n\
         <label for=\"confirm_password\">New password, again</label>\n\
         <input id=\"confirm_password\" name=\"confirm_password\" type=\"password\" autocomplete=\"new-password\" \
         required>\n\
         <button type=\"submit\">Set my new password</button>\n</form>",
        escape(token)
    )
}

/// `GET /reset-password?token=…`: the new-password form.
async fn reset_page(query: web::Query<TokenQuery>) -> HttpResponse {
    match query.into_inner().token.filter(|token| !token.is_empty()) {
        Some(token) => page(StatusCode::OK, "Choose a new password", &reset_form(&token, None)),
        None => page(
            StatusCode::BAD_REQUEST,
            "This link is incomplete",
            &format!(
                "<p class=\"error\" role=\"alert\">Open the link from the email exactly as it is, or ask for a new \
                 one.</p>\n{REQUEST_RESET_FORM}"
            ),
        ),
    }
}

/// `POST /reset-password`: the form.
async fn reset(
    latchkey: web::Data<Latchkey>,
    form: web::Form<ResetForm>,
    Client(client): Client,
) -> HttpResponse {
    let ResetForm {
        token,
        new_password,
        confirm_password,
    } = form.into_inner();
    if new_password != confirm_password {
        let body = reset_form(&token, Some("The two passwords differ."));
        return page(StatusCode::BAD_REQUEST, "Choose a new password", &body);
    }
    match latchkey.reset_password(&token, new_password, &client).await {
        Ok(_) => page(
            StatusCode::OK,
            "Password changed",
            "<p class=\"ok\" role=\"status\">Your password is changed and every session is signed out. You can \
             now log in with the new password.</p>",
        ),
        Err(ResetPasswordError::InvalidNewPassword(error)) => {
            let body = reset_form(&token, Some(&format!("The new password {error}.")));
            page(StatusCode::BAD_REQUEST, "Choose a new password", &body)
        }
        Err(ResetPasswordError::Unavailable(error)) => {
            let mut response = unavailable();
            // A full hashing queue: tell the browser when to come back, as the API does.
            if let Some(retry_after) = error.retry_after() {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            response
        }
        Err(ResetPasswordError::InvalidToken) => page(
            StatusCode::BAD_REQUEST,
            "This link has expired",
            &format!(
                "<p class=\"error\" role=\"alert\">This reset link has expired or was already used. Enter your \
                 address and we will send a new one.</p>\n{REQUEST_RESET_FORM}"
            ),
        ),
        Err(_) => unavailable(),
    }
}

/// `POST /reset-password/request`: the same answer whatever the address.
async fn request_reset(
    latchkey: web::Data<Latchkey>,
    form: web::Form<EmailForm>,
    Client(client): Client,
) -> HttpResponse {
    let admitted = latchkey.admit_forgot_password(&client).await;
    if admitted.is_ok() {
        crate::routes::send_reset_link_later(&latchkey, form.into_inner().email).await;
    }
    match admitted {
        Ok(()) => page(
            StatusCode::OK,
            "Check your email",
            &format!("<p role=\"status\">{}</p>", crate::routes::FORGOT_MESSAGE),
        ),
        Err(error) => refused(error),
    }
}

/// The pages' stylesheet.
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=3600"),
        ))
        .body(STYLESHEET)
}
