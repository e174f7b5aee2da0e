use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{DateTime, TimeDelta};
use serde_json::{json, Value};

use crate::support::{access_token, api, bearer, keys, refresh_token, spawn, PASSWORD};

const USER_KEYS: [&str; 10] = [
    "created_at",
    "credits",
    "email",
    "id",
    "is_verified",
    "metadata",
    "name",
    "phone",
    "updated_at",
    "username",
];
const PAIR_KEYS: [&str; 5] = [
    "access_token",
    "expires_in",
    "refresh_expires_in",
    "refresh_token",
    "token_type",
];

#[track_caller]
fn assert_pair(pair: &Value) {
    assert_eq!(pair["token_type"], "bearer");
    assert_eq!(pair["expires_in"], 15 * 60);
    assert_eq!(pair["refresh_expires_in"], 30 * 24 * 60 * 60);
    assert!(pair["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(pair["refresh_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
}

#[track_caller]
fn assert_rfc3339_utc(value: &Value) {
    let text = value.as_str().unwrap();
    assert!(text.ends_with('Z'), "{text}");
    DateTime::parse_from_rfc3339(text).unwrap();
}

#[actix_web::test]
async fn register_returns_201_with_user_token_and_message() {
    let app = spawn().await;
    let reply = app
        .post_json(
            "/auth/register",
            json!({"email": "Jane@Example.com", "password": PASSWORD, "name": "Jane Doe", "username": "jane"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header(header::CONTENT_TYPE), Some("application/json"));
    let body = reply.json();
    assert_eq!(keys(&body), ["message", "token", "user"]);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    let user = &body["user"];
    assert_eq!(keys(user), USER_KEYS);
    assert!(user["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(user["email"], "Jane@Example.com");
    assert_eq!(user["username"], "jane");
    assert_eq!(user["name"], "Jane Doe");
    assert_eq!(user["phone"], Value::Null);
    assert_eq!(user["metadata"], json!({}));
    assert_eq!(user["credits"], 1000);
    assert_eq!(user["is_verified"], false);
    assert_rfc3339_utc(&user["created_at"]);
    assert_rfc3339_utc(&user["updated_at"]);

    assert_eq!(keys(&body["token"]), PAIR_KEYS);
    assert_pair(&body["token"]);
    // The token works at once.
    let me = app.get_with("/auth/me", &access_token(&body)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json(), body["user"]);
}

#[actix_web::test]
async fn register_without_optional_fields_has_null_username_and_name() {
    let app = spawn().await;
    let body = app.register("jane@example.com", None).await;
    assert_eq!(body["user"]["username"], Value::Null);
    assert_eq!(body["user"]["name"], Value::Null);
}

#[actix_web::test]
async fn register_reports_every_invalid_field() {
    let app = spawn().await;
    let reply = app
        .post_json(
            "/auth/register",
            json!({"email": "nope", "password": "short", "username": "a b"}),
        )
        .await;
    let body = reply.assert_error(StatusCode::BAD_REQUEST, "validation_error");
    let fields: Vec<_> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(keys(e), ["field", "message"]);
            e["field"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(fields, ["email", "password", "username"]);
    assert_eq!(
        body["errors"][1]["message"],
        "must be at least 8 characters"
    );
    assert_eq!(app.hasher.calls(), 0);
}

#[actix_web::test]
async fn register_conflicts_are_409() {
    let app = spawn().await;
    app.register("jane@example.com", Some("jane")).await;
    app.post_json(
        "/auth/register",
        json!({"email": "JANE@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "email_taken");
    app.post_json(
        "/auth/register",
        json!({"email": "joe@example.com", "password": PASSWORD, "username": "JANE"}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "username_taken");
}

#[track_caller]
fn assert_login_body(body: &Value, user_id: &Value) {
    let mut expected: Vec<&str> = PAIR_KEYS.to_vec();
    expected.push("user");
    expected.sort_unstable();
    assert_eq!(keys(body), expected);
    assert_pair(body);
    assert_eq!(keys(&body["user"]), USER_KEYS);
    assert_eq!(&body["user"]["id"], user_id);
}

#[actix_web::test]
async fn login_with_the_oauth2_password_form() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", Some("jane")).await;
    for identifier in ["jane@example.com", "JANE@example.com", "jane"] {
        let reply = app
            .send(
                TestRequest::post()
                    .uri(&api("/auth/login"))
                    .set_form([("username", identifier), ("password", PASSWORD)]),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{identifier}: {:?}",
            reply.body
        );
        let body = reply.json();
        assert_login_body(&body, &registered["user"]["id"]);
        let me = app.get_with("/auth/me", &access_token(&body)).await;
        assert_eq!(me.status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn login_with_json_username_or_email() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", Some("jane")).await;
    let user_id = &registered["user"]["id"];
    for body in [
        json!({"username": "jane", "password": PASSWORD}),
        json!({"username": "jane@example.com", "password": PASSWORD}),
        json!({"email": "Jane@Example.com", "password": PASSWORD}),
    ] {
        let reply = app.post_json("/auth/login", body.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{body}: {:?}", reply.body);
        assert_login_body(&reply.json(), user_id);
    }
}

#[actix_web::test]
async fn login_without_an_identifier_is_a_validation_error() {
    let app = spawn().await;
    let body = app
        .post_json("/auth/login", json!({"password": PASSWORD}))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(body["errors"][0]["field"], "username");
}

#[actix_web::test]
async fn refresh_accepts_both_spellings_and_rotates() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let first = refresh_token(&registered);

    let reply = app
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let second = reply.json();
    assert_eq!(keys(&second), PAIR_KEYS);
    assert_pair(&second);
    assert_ne!(second["refresh_token"], first.as_str());
    let me = app.get_with("/auth/me", &access_token(&second)).await;
    assert_eq!(me.status, StatusCode::OK);

    let reply = app
        .post_json(
            "/auth/refresh",
            json!({"refreshToken": refresh_token(&second)}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_pair(&reply.json());
}

#[actix_web::test]
async fn refresh_retry_within_the_grace_returns_the_same_pair() {
    let app = spawn().await;
    let first = refresh_token(&app.register("jane@example.com", None).await);
    let rotated = app
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await;
    app.advance(TimeDelta::seconds(5));
    let retried = app
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(retried.status, StatusCode::OK);
    let (rotated, retried) = (rotated.json(), retried.json());
    assert_eq!(retried["access_token"], rotated["access_token"]);
    assert_eq!(retried["refresh_token"], rotated["refresh_token"]);
}

#[actix_web::test]
async fn refresh_replay_after_the_grace_is_refused_and_kills_the_session() {
    let app = spawn().await;
    let first = refresh_token(&app.register("jane@example.com", None).await);
    let rotated = app
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await
        .json();
    app.advance(TimeDelta::seconds(11));

    let reply = app
        .post_json("/auth/refresh", json!({"refresh_token": first}))
        .await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    app.post_json(
        "/auth/refresh",
        json!({"refresh_token": refresh_token(&rotated)}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    app.get_with("/auth/me", &access_token(&rotated))
        .await
        .assert_unauthorized(
            "invalid_token",
            "Could not validate credentials",
            "Bearer error=\"invalid_token\"",
        );
}

#[actix_web::test]
async fn refresh_with_an_unknown_token_is_401() {
    let app = spawn().await;
    let reply = app
        .post_json("/auth/refresh", json!({"refresh_token": "lkr_nope"}))
        .await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    assert!(reply
        .header(header::WWW_AUTHENTICATE)
        .is_some_and(|c| c.starts_with("Bearer")));
}

#[actix_web::test]
async fn logout_ends_this_session_only() {
    let app = spawn().await;
    let phone = app.register("jane@example.com", None).await;
    let laptop = app.login("jane@example.com").await;

    let reply = app
        .send(
            TestRequest::post()
                .uri(&api("/auth/logout"))
                .insert_header(bearer(&access_token(&phone))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.json(), json!({"message": "Successfully logged out"}));

    app.get_with("/auth/me", &access_token(&phone))
        .await
        .assert_unauthorized(
            "invalid_token",
            "Could not validate credentials",
            "Bearer error=\"invalid_token\"",
        );
    app.post_json(
        "/auth/refresh",
        json!({"refresh_token": refresh_token(&phone)}),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "invalid_refresh_token");
    let me = app.get_with("/auth/me", &access_token(&laptop)).await;
    assert_eq!(me.status, StatusCode::OK);
}

#[actix_web::test]
async fn logout_all_ends_every_session() {
    let app = spawn().await;
    let phone = app.register("jane@example.com", None).await;
    let laptop = app.login("jane@example.com").await;

    let reply = app
        .post_with("/auth/logout", &access_token(&phone), json!({"all": true}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"message": "Successfully logged out"}));
    for token in [access_token(&phone), access_token(&laptop)] {
        app.get_with("/auth/me", &token)
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
}

#[actix_web::test]
async fn logout_with_false_or_an_empty_json_body_ends_this_session_only() {
    let app = spawn().await;
    let phone = app.register("jane@example.com", None).await;
    let laptop = app.login("jane@example.com").await;
    let tablet = app.login("jane@example.com").await;

    let reply = app
        .post_with("/auth/logout", &access_token(&phone), json!({"all": false}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app
        .post_with("/auth/logout", &access_token(&laptop), json!({}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let me = app.get_with("/auth/me", &access_token(&tablet)).await;
    assert_eq!(me.status, StatusCode::OK);
}

#[actix_web::test]
async fn logout_with_a_bad_body_is_400() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    for body in [json!({"all": "yes"}), json!({"everything": true})] {
        app.post_with("/auth/logout", &token, body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Nothing was logged out.
    assert_eq!(
        app.get_with("/auth/me", &token).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn logout_without_a_token_is_401() {
    let app = spawn().await;
    app.send(TestRequest::post().uri(&api("/auth/logout")))
        .await
        .assert_unauthorized("not_authenticated", "Not authenticated", "Bearer");
}

#[actix_web::test]
async fn common_passwords_and_the_accounts_names_are_refused_naming_the_field() {
    let app = spawn().await;
    for (path, field, body) in [
        (
            "/auth/register",
            "password",
            json!({"email": "jane@example.com", "password": "Password1"}),
        ),
        (
            "/auth/register",
            "password",
            json!({"email": "jane@example.com", "password": "JANE@example.com"}),
        ),
    ] {
        let reply = app.post_json(path, body).await;
        let body = reply.assert_error(StatusCode::BAD_REQUEST, "validation_error");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let token = access_token(&app.register("jane@example.com", Some("janedoe42")).await);
    let reply = app
        .post_with(
            "/auth/change-password",
            &token,
            json!({"current_password": PASSWORD, "new_password": "JaneDoe42"}),
        )
        .await;
    let body = reply.assert_error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(
        body["errors"],
        json!([{"field": "new_password", "message": "must not be your email address or username"}])
    );
    let reply = app
        .post_with(
            "/auth/change-password",
            &token,
            json!({"current_password": PASSWORD, "new_password": "qwertyuiop"}),
        )
        .await;
    let body = reply.assert_error(StatusCode::BAD_REQUEST, "validation_error");
    assert_eq!(
        body["errors"],
        json!([{"field": "new_password", "message":
            "is one of the most common passwords; choose one that is harder to guess"}])
    );
}
