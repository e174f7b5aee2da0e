//! A full password hashing queue: every operation that hashes answers 503 `overloaded` with `Retry-After`, and the
//! operations that do not hash keep serving.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::support::{access_token, api, spawn, Reply, PASSWORD};

#[track_caller]
fn assert_overloaded(reply: &Reply, what: &str) {
    reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "overloaded");
    // 1.5 s hinted, rounded up to whole seconds.
    assert_eq!(reply.header(header::RETRY_AFTER), Some("2"), "{what}");
}

#[actix_web::test]
async fn every_operation_that_hashes_answers_overloaded_with_retry_after() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    app.post_json(
        "/auth/forgot-password",
        json!({"email": "jane@example.com"}),
    )
    .await;
    let reset_token = app.reset_token_to("jane@example.com").await;
    app.hasher.set_overloaded(true);

    let new_password = "a different horse battery";
    let requests = [
        (
            "register",
            TestRequest::post()
                .uri(&api("/auth/register"))
                .set_json(json!({"email": "joe@example.com", "password": PASSWORD})),
        ),
        (
            "login",
            TestRequest::post()
                .uri(&api("/auth/login"))
                .set_json(json!({"username": "jane@example.com", "password": PASSWORD})),
        ),
        (
            "login of an unknown account",
            TestRequest::post()
                .uri(&api("/auth/login"))
                .set_json(json!({"username": "nobody@example.com", "password": PASSWORD})),
        ),
        (
            "oauth password grant",
            TestRequest::post().uri("/oauth/token").set_form([
                ("grant_type", "password"),
                ("username", "jane@example.com"),
                ("password", PASSWORD),
            ]),
        ),
        (
            "change-password",
            TestRequest::post()
                .uri(&api("/auth/change-password"))
                .insert_header(crate::support::bearer(&token))
                .set_json(json!({"current_password": PASSWORD, "new_password": new_password})),
        ),
        (
            "reset-password",
            TestRequest::post()
                .uri(&api("/auth/reset-password"))
                .set_json(json!({"token": reset_token, "new_password": new_password})),
        ),
    ];
    for (what, request) in requests {
        assert_overloaded(&app.send(request).await, what);
    }

    // The reset page says the same to a browser.
    let page = app
        .send(
            TestRequest::post()
                .uri("/reset-password")
                .insert_header(header::ContentType::form_url_encoded())
                .set_payload(format!(
                    "token={reset_token}&new_password=a+new+passphrase&confirm_password=a+new+passphrase"
                )),
        )
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.header(header::RETRY_AFTER), Some("2"));

    // What does not hash is not refused.
    assert_eq!(
        app.get_with("/auth/me", &token).await.status,
        StatusCode::OK
    );

    // Nothing was changed by the refused requests: the old password still logs in, the reset link still works.
    app.hasher.set_overloaded(false);
    app.login("jane@example.com").await;
    let reply = app
        .post_json(
            "/auth/reset-password",
            json!({"token": reset_token, "new_password": new_password}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}
