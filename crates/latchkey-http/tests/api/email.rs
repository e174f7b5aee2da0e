//! Email verification, resend, forgot and reset password over HTTP, and the two pages.

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::TimeDelta;
use latchkey_domain::{Delivered, Policies, VerificationPolicy};
use serde_json::json;

use crate::support::{
    access_token, api, bearer, spawn, spawn_with_policies, Reply, TestApp, PASSWORD,
};

#[actix_web::test]
async fn the_link_verifies_once_and_me_shows_it() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    assert_eq!(
        registered["message"],
        "Registration successful! Check your email to verify your account."
    );
    let token = access_token(&registered);
    let (link_token, _) = app.verification_to("jane@example.com").await;
    assert_eq!(
        app.get_with("/auth/me", &token).await.json()["is_verified"],
        false
    );

    let uri = api(&format!("/auth/verify-email?token={link_token}"));
    let verified = app.send(TestRequest::post().uri(&uri)).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    assert_eq!(verified.json(), json!({"message": "Email verified"}));
    assert_eq!(
        app.get_with("/auth/me", &token).await.json()["is_verified"],
        true
    );

    let again = app.send(TestRequest::post().uri(&uri)).await;
    again.assert_error(StatusCode::BAD_REQUEST, "invalid_token");
    let unknown = app
        .send(TestRequest::post().uri(&api("/auth/verify-email?token=lkv_nope")))
        .await;
    assert_eq!(unknown.json(), again.json());
}

#[actix_web::test]
async fn the_code_verifies_by_either_name_and_burns_after_five_wrong_tries() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    app.register("joe@example.com", None).await;
    let (_, jane_code) = app.verification_to("jane@example.com").await;
    let (_, joe_code) = app.verification_to("joe@example.com").await;

    let wrong = if joe_code == "000000" {
        "000001"
    } else {
        "000000"
    };
    let mut answers = Vec::new();
    for _ in 0..5 {
        let reply = app
            .post_json(
                "/auth/verify-email",
                json!({"email": "joe@example.com", "code": wrong}),
            )
            .await;
        answers.push(reply.assert_error(StatusCode::BAD_REQUEST, "invalid_code"));
    }
    let burnt = app
        .post_json(
            "/auth/verify-email",
            json!({"email": "joe@example.com", "activation_code": joe_code}),
        )
        .await;
    assert_eq!(
        burnt.assert_error(StatusCode::BAD_REQUEST, "invalid_code"),
        answers[0]
    );
    let unknown = app
        .post_json(
            "/auth/verify-email",
            json!({"email": "nobody@example.com", "code": "123456"}),
        )
        .await;
    assert_eq!(
        unknown.assert_error(StatusCode::BAD_REQUEST, "invalid_code"),
        answers[0]
    );

    let ok = app
        .post_json(
            "/auth/verify-email",
            json!({"email": "JANE@example.com", "activation_code": jane_code}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);

    let neither = app
        .post_json("/auth/verify-email", json!({"email": "jane@example.com"}))
        .await;
    let body = neither.assert_error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(body["errors"][0]["field"], "code");
    app.send(TestRequest::post().uri(&api("/auth/verify-email")))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "validation_error");
}

#[actix_web::test]
async fn resend_answers_alike_and_sends_at_most_once_a_minute() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let token = access_token(&registered);
    app.verification_to("jane@example.com").await;
    let sent = || app.mailer.sent().len();
    assert_eq!(sent(), 1);

    let by_address = app
        .post_json(
            "/auth/resend-verification",
            json!({"email": "jane@example.com"}),
        )
        .await;
    assert_eq!(by_address.status, StatusCode::ACCEPTED);
    let unknown = app
        .post_json(
            "/auth/resend-verification",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.json()),
        (StatusCode::ACCEPTED, by_address.json())
    );
    app.verification_to("jane@example.com").await;
    assert_eq!(sent(), 1, "within the minute nothing is sent");

    app.advance(TimeDelta::minutes(1));
    let by_token = app
        .post_with("/auth/resend-verification", &token, json!(null))
        .await;
    assert_eq!(
        (by_token.status, by_token.json()),
        (StatusCode::ACCEPTED, by_address.json())
    );
    app.verification_to("jane@example.com").await;
    assert_eq!(sent(), 2);

    app.send(TestRequest::post().uri(&api("/auth/resend-verification")))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "validation_error");
    let bad_token = app
        .send(
            TestRequest::post()
                .uri(&api("/auth/resend-verification"))
                .insert_header(bearer("garbage")),
        )
        .await;
    bad_token.assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
}

/// As forgot-password's: the answer to a resend by address does not wait for the address's lookup and the email's
/// queueing (an unverified account's costs a write an unknown address does not), so its timing tells nothing.
#[actix_web::test]
async fn resend_by_address_answers_before_the_email_is_issued() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    app.settle_and_forget_mail().await;
    app.advance(TimeDelta::minutes(1));
    assert_answered_before_queueing(&app, "/auth/resend-verification").await;
    app.verification_to("jane@example.com").await;
    assert_eq!(app.mailer.sent().len(), 2, "then it is sent");
}

/// The answer to forgot-password does not wait for the address's lookup and the email's queueing, so its timing
/// cannot tell a known address from an unknown one: when the 202 arrives, nothing has been issued yet.
#[actix_web::test]
async fn forgot_password_answers_before_the_link_is_issued() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    app.settle_and_forget_mail().await;
    assert_answered_before_queueing(&app, "/auth/forgot-password").await;
    app.reset_token_to("jane@example.com").await;
}

/// Posts jane's address to `path` and checks the 202 came while nothing was queued yet.
async fn assert_answered_before_queueing(app: &TestApp, path: &str) {
    let reply = app
        .post_json(path, json!({"email": "jane@example.com"}))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(
        app.delivery.deliver_next().await.unwrap(),
        Delivered::Idle,
        "nothing queued when the answer left"
    );
}

#[actix_web::test]
async fn forgot_and_reset_password() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let old_token = access_token(&registered);
    let known = app
        .post_json(
            "/auth/forgot-password",
            json!({"email": "jane@example.com"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/auth/forgot-password",
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(
        known.json(),
        json!({"message": "If that email is registered, you'll receive a reset link shortly."})
    );
    assert_eq!(
        (unknown.status, unknown.json()),
        (known.status, known.json())
    );
    let reset_token = app.reset_token_to("jane@example.com").await;

    let short = app
        .post_json(
            "/auth/reset-password",
            json!({"token": reset_token, "new_password": "short"}),
        )
        .await;
    let body = short.assert_error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(body["errors"][0]["field"], "new_password");
    let reset = app
        .post_json(
            "/auth/reset-password",
            json!({"token": reset_token, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{:?}", reset.body);
    assert_eq!(
        reset.json()["message"],
        "Password updated successfully. You can now log in."
    );

    app.get_with("/auth/me", &old_token)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    app.post_json(
        "/auth/login",
        json!({"username": "jane@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let login = app
        .post_json(
            "/auth/login",
            json!({"username": "jane@example.com", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.json()["user"]["is_verified"], true);

    let again = app
        .post_json(
            "/auth/reset-password",
            json!({"token": reset_token, "new_password": "another passphrase"}),
        )
        .await;
    again.assert_error(StatusCode::BAD_REQUEST, "invalid_token");
}

#[actix_web::test]
async fn when_verification_is_required_login_answers_403_only_with_the_right_password() {
    let mut policies = Policies::default();
    policies.verification = VerificationPolicy::default().with_required_for_login(true);
    let app = spawn_with_policies(policies).await;
    let registered = app.register("jane@example.com", None).await;
    assert_eq!(registered["token"], json!(null));
    app.post_json(
        "/auth/login",
        json!({"username": "jane@example.com", "password": "wrong one!"}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.post_json(
        "/auth/login",
        json!({"username": "jane@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "email_not_verified");
    let (_, code) = app.verification_to("jane@example.com").await;
    app.post_json(
        "/auth/verify-email",
        json!({"email": "jane@example.com", "code": code}),
    )
    .await;
    app.login("jane@example.com").await;
}

fn assert_page_headers(reply: &Reply) {
    assert_eq!(
        reply.header(header::CONTENT_TYPE),
        Some("text/html; charset=utf-8")
    );
    let policy = reply.header(header::CONTENT_SECURITY_POLICY).unwrap();
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(policy.contains("form-action 'self'"), "{policy}");
    assert!(
        !policy.contains("script-src"),
        "no script may run: {policy}"
    );
    assert_eq!(reply.header(header::REFERRER_POLICY), Some("no-referrer"));
    let html = std::str::from_utf8(&reply.body).unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("//"), "an absolute URL in {html}");
}

fn html(reply: &Reply) -> &str {
    std::str::from_utf8(&reply.body).unwrap()
}

#[actix_web::test]
async fn the_verification_page_verifies_only_when_its_button_is_pressed() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let (token, _) = app.verification_to("jane@example.com").await;

    // A mail scanner opening the link twice spends nothing.
    for _ in 0..2 {
        let page = app
            .send(TestRequest::get().uri(&format!("/verify-email?token={token}")))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert_page_headers(&page);
        assert!(html(&page).contains(&format!("name=\"token\" value=\"{token}\"")));
        assert!(html(&page).contains("Verify my email"));
    }
    let me = app.get_with("/auth/me", &access_token(&registered)).await;
    assert_eq!(me.json()["is_verified"], false);

    let pressed = app
        .send(
            TestRequest::post()
                .uri("/verify-email")
                .insert_header(ContentType::form_url_encoded())
                .set_payload(format!("token={token}")),
        )
        .await;
    assert_eq!(pressed.status, StatusCode::OK);
    assert_page_headers(&pressed);
    assert!(html(&pressed).contains("Your email address is verified"));
    let me = app.get_with("/auth/me", &access_token(&registered)).await;
    assert_eq!(me.json()["is_verified"], true);

    // Pressed again: expired or used, and an offer to send a new link.
    let again = app
        .send(
            TestRequest::post()
                .uri("/verify-email")
                .insert_header(ContentType::form_url_encoded())
                .set_payload(format!("token={token}")),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(html(&again).contains("expired or was already used"));
    assert!(html(&again).contains("action=\"verify-email/resend\""));
    assert!(html(&again).contains("<label for=\"email\">"));

    // Markup in a token is escaped.
    let hostile = app
        .send(TestRequest::get().uri("/verify-email?token=%22%3E%3Cscript%3E"))
        .await;
    assert!(!html(&hostile).contains("<script>"));
}

#[actix_web::test]
async fn the_reset_page_sets_a_new_password() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    app.post_json(
        "/auth/forgot-password",
        json!({"email": "jane@example.com"}),
    )
    .await;
    let token = app.reset_token_to("jane@example.com").await;
    let page = app
        .send(TestRequest::get().uri(&format!("/reset-password?token={token}")))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_page_headers(&page);
    for label in [
        "<label for=\"new_password\">",
        "<label for=\"confirm_password\">",
    ] {
        assert!(html(&page).contains(label), "{}", html(&page));
    }
    let post = |new: &str, confirm: &str| {
        TestRequest::post()
            .uri("/reset-password")
            .insert_header(ContentType::form_url_encoded())
            .set_payload(format!(
                "token={token}&new_password={new}&confirm_password={confirm}"
            ))
    };
    let differ = app.send(post("one+passphrase", "another+passphrase")).await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(html(&differ).contains("The two passwords differ."));
    let short = app.send(post("short", "short")).await;
    assert!(html(&short).contains("must be at least 8 characters"));
    let done = app.send(post("a+new+passphrase", "a+new+passphrase")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", html(&done));
    assert!(html(&done).contains("Your password is changed"));
    app.post_json(
        "/auth/login",
        json!({"username": "jane@example.com", "password": "a new passphrase"}),
    )
    .await;
    let used = app.send(post("a+new+passphrase", "a+new+passphrase")).await;
    assert!(html(&used).contains("expired or was already used"));
    let css = app
        .send(TestRequest::get().uri("/assets/latchkey.css"))
        .await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(
        css.header(header::CONTENT_TYPE),
        Some("text/css; charset=utf-8")
    );
}

#[actix_web::test]
async fn the_document_states_this_servers_email_settings() {
    let mut policies = Policies::default();
    policies.verification = VerificationPolicy::default()
        .with_required_for_login(true)
        .with_code_ttl(TimeDelta::minutes(10))
        .unwrap();
    let app = spawn_with_policies(policies).await;
    let document = app
        .send(TestRequest::get().uri("/api/v1/openapi.json"))
        .await
        .json();
    let description = |path: &str| {
        document["paths"][path]["post"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        description("/api/v1/auth/verify-email").contains("codes for 10 minutes and 5 wrong tries")
    );
    assert!(description("/api/v1/auth/login").contains("a verified address is required to log in"));
    assert!(description("/api/v1/auth/forgot-password").contains("reset links work for 15 minutes"));
}
