use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::support::{access_token, refresh_token, spawn, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[actix_web::test]
async fn me_returns_the_user() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", Some("jane")).await;
    let reply = app.get_with("/auth/me", &access_token(&registered)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), registered["user"]);
}

#[actix_web::test]
async fn credits_shows_balance_and_prices() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    let reply = app.get_with("/auth/credits", &token).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({"credits": 1000, "credits_per_photo": 100, "credits_per_second_video": 10})
    );
}

#[actix_web::test]
async fn change_password_keeps_this_session_and_ends_the_others() {
    let app = spawn().await;
    let caller = app.register("jane@example.com", None).await;
    let other = app.login("jane@example.com").await;

    let reply = app
        .post_with(
            "/auth/change-password",
            &access_token(&caller),
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let body = reply.json();
    assert_eq!(crate::support::keys(&body), ["message"]);

    assert_eq!(
        app.get_with("/auth/me", &access_token(&caller))
            .await
            .status,
        StatusCode::OK
    );
    let refreshed = app
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": refresh_token(&caller)}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    app.get_with("/auth/me", &access_token(&other))
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
            json!({"username": "jane@example.com", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

#[actix_web::test]
async fn change_password_with_a_wrong_current_password_is_400() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    let body = app
        .post_with(
            "/auth/change-password",
            &token,
            json!({"current_password": "not it at all", "new_password": NEW_PASSWORD}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_current_password");
    assert_eq!(body["detail"], "Current password is incorrect");
    app.login("jane@example.com").await;
}

#[actix_web::test]
async fn change_password_with_a_short_new_password_is_a_validation_error() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    let body = app
        .post_with(
            "/auth/change-password",
            &token,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(
        body["errors"],
        json!([{"field": "new_password", "message": "must be at least 8 characters"}])
    );
}

#[actix_web::test]
async fn account_endpoints_need_a_token() {
    let app = spawn().await;
    for request in [
        TestRequest::get().uri("/api/v1/auth/me"),
        TestRequest::get().uri("/api/v1/auth/credits"),
        TestRequest::post()
            .uri("/api/v1/auth/change-password")
            .set_json(json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD})),
    ] {
        app.send(request).await.assert_unauthorized(
            "not_authenticated",
            "Not authenticated",
            "Bearer",
        );
    }
}

#[actix_web::test]
async fn health_and_readiness() {
    let app = spawn().await;
    let reply = app.send(TestRequest::get().uri("/healthz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ok"}));
    let reply = app.send(TestRequest::get().uri("/readyz")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ready"}));
}
