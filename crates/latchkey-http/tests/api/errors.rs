use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::TimeDelta;
use serde_json::json;

use crate::support::{access_token, api, bearer, spawn, PASSWORD};

const INVALID_TOKEN_CHALLENGE: &str = "Bearer error=\"invalid_token\"";

#[actix_web::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = spawn().await;
    app.register("jane@example.com", Some("jane")).await;
    let calls = app.hasher.calls();

    let wrong_password = app
        .post_json(
            "/auth/login",
            json!({"username": "jane@example.com", "password": "wrong password"}),
        )
        .await;
    let unknown_user = app
        .post_json(
            "/auth/login",
            json!({"username": "nobody@example.com", "password": "wrong password"}),
        )
        .await;
    let unknown_username = app
        .send(
            TestRequest::post()
                .uri(&api("/auth/login"))
                .set_form([("username", "nobody"), ("password", PASSWORD)]),
        )
        .await;

    wrong_password.assert_unauthorized("invalid_credentials", "Invalid credentials", "Bearer");
    for other in [&unknown_user, &unknown_username] {
        assert_eq!(other.status, wrong_password.status);
        assert_eq!(other.body, wrong_password.body);
        assert_eq!(
            other.header(header::WWW_AUTHENTICATE),
            wrong_password.header(header::WWW_AUTHENTICATE)
        );
    }
    // Each attempt cost one hash, known account or not.
    assert_eq!(app.hasher.calls() - calls, 3);
}

#[actix_web::test]
async fn expired_access_token_says_so() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    app.advance(TimeDelta::minutes(15));
    app.get_with("/auth/me", &token).await.assert_unauthorized(
        "token_expired",
        "Token has expired",
        INVALID_TOKEN_CHALLENGE,
    );
}

#[actix_web::test]
async fn garbage_token_could_not_be_validated() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    for token in ["garbage", "mat_999", "a.b.c"] {
        app.get_with("/auth/me", token).await.assert_unauthorized(
            "invalid_token",
            "Could not validate credentials",
            INVALID_TOKEN_CHALLENGE,
        );
    }
}

#[actix_web::test]
async fn missing_or_non_bearer_credentials_get_the_plain_challenge() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    for request in [
        TestRequest::get().uri(&api("/auth/me")),
        TestRequest::get()
            .uri(&api("/auth/me"))
            .insert_header((header::AUTHORIZATION, format!("Basic {token}"))),
    ] {
        app.send(request).await.assert_unauthorized(
            "not_authenticated",
            "Not authenticated",
            "Bearer",
        );
    }
    // The scheme is case-insensitive.
    let reply = app
        .send(
            TestRequest::get()
                .uri(&api("/auth/me"))
                .insert_header((header::AUTHORIZATION, format!("bearer {token}"))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = spawn().await;
    for path in ["/auth/register", "/auth/login", "/auth/refresh"] {
        app.send(
            TestRequest::post()
                .uri(&api(path))
                .insert_header(ContentType::json())
                .set_payload("{not json"),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let token = access_token(&app.register("jane@example.com", None).await);
    for path in ["/auth/logout", "/auth/change-password"] {
        app.send(
            TestRequest::post()
                .uri(&api(path))
                .insert_header(bearer(&token))
                .insert_header(ContentType::json())
                .set_payload("{\"all\": tru"),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
}

#[actix_web::test]
async fn wrong_types_and_missing_fields_are_400() {
    let app = spawn().await;
    let cases = [
        ("/auth/register", json!({"email": 5, "password": PASSWORD})),
        ("/auth/register", json!({"email": "jane@example.com"})),
        ("/auth/register", json!(["jane@example.com", PASSWORD])),
        (
            "/auth/login",
            json!({"username": "jane", "password": 12345678}),
        ),
        ("/auth/login", json!({"username": "jane"})),
        ("/auth/refresh", json!({"refresh_token": null})),
        ("/auth/refresh", json!({})),
    ];
    for (path, body) in cases {
        let reply = app.post_json(path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path} {body}");
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(app.hasher.calls(), 0);
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = spawn().await;
    let body = json!({"email": "jane@example.com", "password": PASSWORD}).to_string();
    for path in ["/auth/register", "/auth/login", "/auth/refresh"] {
        app.send(
            TestRequest::post()
                .uri(&api(path))
                .insert_header(ContentType::plaintext())
                .set_payload(body.clone()),
        )
        .await
        .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    // No content type at all.
    app.send(
        TestRequest::post()
            .uri(&api("/auth/register"))
            .set_payload(body),
    )
    .await
    .assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert_eq!(app.hasher.calls(), 0);
}

#[actix_web::test]
async fn malformed_login_form_is_400() {
    let app = spawn().await;
    for form in [
        "username=jane",
        "password=only-a-password-here&password=twice",
        "%%%",
    ] {
        app.send(
            TestRequest::post()
                .uri(&api("/auth/login"))
                .insert_header(ContentType::form_url_encoded())
                .set_payload(form),
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_eq!(app.hasher.calls(), 0);
}

#[actix_web::test]
async fn oversized_bodies_are_413_before_any_hashing() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    let calls = app.hasher.calls();
    let huge = "a".repeat(40 * 1024);

    let requests = [
        TestRequest::post()
            .uri(&api("/auth/register"))
            .set_json(json!({"email": "joe@example.com", "password": huge})),
        TestRequest::post()
            .uri(&api("/auth/login"))
            .set_json(json!({"username": "jane@example.com", "password": huge})),
        TestRequest::post().uri(&api("/auth/login")).set_form([
            ("username", "jane@example.com"),
            ("password", huge.as_str()),
        ]),
        TestRequest::post()
            .uri(&api("/auth/refresh"))
            .set_json(json!({"refresh_token": huge})),
        TestRequest::post()
            .uri(&api("/auth/change-password"))
            .insert_header(bearer(&token))
            .set_json(json!({"current_password": PASSWORD, "new_password": huge})),
        TestRequest::post()
            .uri(&api("/auth/logout"))
            .insert_header(bearer(&token))
            .set_json(json!({"all": true, "padding": huge})),
    ];
    for request in requests {
        app.send(request)
            .await
            .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    }
    assert_eq!(app.hasher.calls(), calls);
    // The logout was refused, so the session lives on.
    assert_eq!(
        app.get_with("/auth/me", &token).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn unknown_routes_are_a_json_404() {
    let app = spawn().await;
    for uri in [
        "/nope",
        "/api/v1/nope",
        "/api/v1/auth/sessions/",
        "/api/v2/auth/login",
    ] {
        let body = app
            .send(TestRequest::get().uri(uri))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(body["detail"], "Not found", "{uri}");
    }
}

#[actix_web::test]
async fn wrong_methods_are_a_json_405() {
    let app = spawn().await;
    let requests = [
        TestRequest::get().uri("/api/v1/auth/login"),
        TestRequest::get().uri("/api/v1/auth/register"),
        TestRequest::put().uri("/api/v1/auth/me"),
        TestRequest::post().uri("/api/v1/auth/sessions"),
        TestRequest::get().uri("/api/v1/auth/sessions/ses_abc"),
        TestRequest::post().uri("/healthz"),
        TestRequest::delete().uri("/readyz"),
    ];
    // HEAD goes with GET (`answer_head`).
    let allowed = [
        "POST",
        "POST",
        "DELETE, GET, HEAD, PATCH",
        "GET, HEAD",
        "DELETE",
        "GET, HEAD",
        "GET, HEAD",
    ];
    for (request, allow) in requests.into_iter().zip(allowed) {
        let reply = app.send(request).await;
        reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(reply.header(header::ALLOW), Some(allow));
    }
}

#[actix_web::test]
async fn login_names_both_media_types_it_accepts() {
    let app = spawn().await;
    let reply = app
        .send(
            TestRequest::post()
                .uri(&api("/auth/login"))
                .insert_header(ContentType::plaintext())
                .set_payload("username=jane&password=x"),
        )
        .await;
    let body = reply.assert_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("application/json") && detail.contains("application/x-www-form-urlencoded")
    );
}

#[actix_web::test]
async fn content_types_are_matched_as_media_types() {
    let app = spawn().await;
    let reply = app
        .send(
            TestRequest::post()
                .uri(&api("/auth/register"))
                .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
                .set_payload(
                    json!({"email": "jane@example.com", "password": PASSWORD}).to_string(),
                ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);

    // Media types are case-insensitive (RFC 9110 §8.3.1), parameters allowed.
    let form = format!(
        "username=jane%40example.com&password={}",
        PASSWORD.replace(' ', "+")
    );
    for content_type in [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-URLEncoded",
    ] {
        let reply = app
            .send(
                TestRequest::post()
                    .uri(&api("/auth/login"))
                    .insert_header((header::CONTENT_TYPE, content_type))
                    .set_payload(form.clone()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{content_type}: {:?}",
            reply.body
        );
    }
}
