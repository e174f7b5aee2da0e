use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::support::{access_token, api, bearer, keys, spawn, TestApp};

/// A month after the test clock's start.
const NEXT_MONTH: &str = "2026-02-01T00:00:00Z";

async fn signed_in() -> (TestApp, String) {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let token = access_token(&registered);
    (app, token)
}

fn with_key(request: TestRequest, key: &str) -> TestRequest {
    request.insert_header(("X-API-Key", key.to_owned()))
}

#[actix_web::test]
async fn a_personal_token_is_shown_once_listed_without_its_secret_and_works_as_a_bearer_token() {
    let (app, session) = signed_in().await;
    let created = app
        .post_with(
            "/auth/tokens",
            &session,
            json!({"name": "CI", "expires_at": NEXT_MONTH, "scopes": ["profile:read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.header(header::CACHE_CONTROL), Some("no-store"));
    let body = created.json();
    assert_eq!(
        keys(&body),
        ["created_at", "expires_at", "id", "name", "scopes", "token"]
    );
    assert!(body["id"].as_str().unwrap().starts_with("pat_"));
    assert_eq!(body["scopes"], json!(["profile:read"]));
    assert_eq!(body["expires_at"], NEXT_MONTH);
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("lk_pat_"));

    let listed = app.get_with("/auth/tokens", &session).await.json();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        keys(&listed[0]),
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "prefix",
            "scopes"
        ]
    );
    let prefix = listed[0]["prefix"].as_str().unwrap();
    assert!(token.starts_with(prefix) && prefix.len() < token.len());
    assert!(!listed[0].to_string().contains(&token));

    let me = app.get_with("/auth/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.json()["email"], "jane@example.com");
    // Its scopes hold: no credits:read.
    let credits = app.get_with("/auth/credits", &token).await;
    let body = credits.assert_error(StatusCode::FORBIDDEN, "insufficient_scope");
    assert!(body["detail"].as_str().unwrap().contains("credits:read"));
    assert_eq!(
        credits.header(header::WWW_AUTHENTICATE),
        Some("Bearer error=\"insufficient_scope\"")
    );
    let listed = app.get_with("/auth/tokens", &session).await.json();
    assert!(
        listed[0]["last_used_at"].is_string(),
        "the use was recorded"
    );
}

#[actix_web::test]
async fn an_api_key_works_in_x_api_key_and_never_manages_credentials() {
    let (app, session) = signed_in().await;
    let created = app
        .post_with("/auth/keys", &session, json!({"name": "billing"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let body = created.json();
    assert_eq!(
        keys(&body),
        [
            "api_key",
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "scopes"
        ]
    );
    assert_eq!(body["scopes"], json!(["profile:read", "credits:read"]));
    assert_eq!(body["expires_at"], Value::Null);
    assert_eq!(body["last_used_at"], Value::Null);
    let key = body["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_live_"));

    for path in ["/auth/me", "/auth/credits"] {
        let reply = app
            .send(with_key(TestRequest::get().uri(&api(path)), &key))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {:?}", reply.body);
    }
    for (method, path) in [
        ("GET", "/auth/keys"),
        ("POST", "/auth/keys"),
        ("GET", "/auth/tokens"),
        ("GET", "/auth/sessions"),
        ("POST", "/auth/logout"),
    ] {
        let request = TestRequest::default()
            .method(method.parse().unwrap())
            .uri(&api(path));
        let request = if method == "POST" {
            request.set_json(json!({"name": "x"}))
        } else {
            request
        };
        app.send(with_key(request, &key))
            .await
            .assert_error(StatusCode::FORBIDDEN, "session_required");
    }
}

#[actix_web::test]
async fn unusable_keys_and_tokens_are_one_401() {
    let (app, session) = signed_in().await;
    let key = app
        .post_with("/auth/keys", &session, json!({"name": "k"}))
        .await
        .json()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let truncated = &key[..key.len() - 2];
    for bad in [truncated, "sk_live_nonsense", "lk_pat_nonsense"] {
        app.send(with_key(TestRequest::get().uri(&api("/auth/me")), bad))
            .await
            .assert_unauthorized(
                "invalid_token",
                "Could not validate credentials",
                "Bearer error=\"invalid_token\"",
            );
        app.get_with("/auth/me", bad).await.assert_unauthorized(
            "invalid_token",
            "Could not validate credentials",
            "Bearer error=\"invalid_token\"",
        );
    }
    // The secret never comes back in an error.
    let reply = app
        .send(with_key(
            TestRequest::get().uri(&api("/auth/me")),
            truncated,
        ))
        .await;
    assert!(!String::from_utf8_lossy(&reply.body).contains(truncated));
}

#[actix_web::test]
async fn an_expired_personal_token_is_token_expired() {
    let (app, session) = signed_in().await;
    let token = app
        .post_with(
            "/auth/tokens",
            &session,
            json!({"name": "short", "expires_at": "2026-01-02T00:00:00Z"}),
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.advance(TimeDelta::days(2));
    app.get_with("/auth/me", &token).await.assert_unauthorized(
        "token_expired",
        "Token has expired",
        "Bearer error=\"invalid_token\"",
    );
}

#[actix_web::test]
async fn rotation_and_revocation() {
    let (app, session) = signed_in().await;
    let created = app
        .post_with("/auth/keys", &session, json!({"name": "k"}))
        .await
        .json();
    let (id, old) = (
        created["id"].as_str().unwrap().to_owned(),
        created["api_key"].as_str().unwrap().to_owned(),
    );
    let rotated = app
        .post_with(&format!("/auth/keys/{id}/rotate"), &session, json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{:?}", rotated.body);
    let rotated = rotated.json();
    assert_eq!(rotated["id"], id);
    let new = rotated["api_key"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let me = |key: String| {
        let app = &app;
        async move {
            app.send(with_key(TestRequest::get().uri(&api("/auth/me")), &key))
                .await
                .status
        }
    };
    assert_eq!(me(old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(new.clone()).await, StatusCode::OK);

    let delete = |path: String| {
        let (app, session) = (&app, session.clone());
        async move {
            app.send(
                TestRequest::delete()
                    .uri(&api(&path))
                    .insert_header(bearer(&session)),
            )
            .await
        }
    };
    let gone = delete(format!("/auth/keys/{id}")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(me(new).await, StatusCode::UNAUTHORIZED);
    let again = delete(format!("/auth/keys/{id}")).await;
    let body = again.assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(body["detail"], "API key not found");
    delete("/auth/tokens/pat_unknown".into())
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    // A key id is not a token id.
    delete(format!("/auth/tokens/{id}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn bad_input_is_a_clear_400() {
    let (app, session) = signed_in().await;
    for (path, body, field) in [
        (
            "/auth/tokens",
            json!({"name": "", "expires_at": NEXT_MONTH}),
            "name",
        ),
        (
            "/auth/tokens",
            json!({"name": "x".repeat(101), "expires_at": NEXT_MONTH}),
            "name",
        ),
        (
            "/auth/tokens",
            json!({"name": "old", "expires_at": "2025-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            "/auth/tokens",
            json!({"name": "far", "expires_at": "2030-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            "/auth/keys",
            json!({"name": "none", "scopes": []}),
            "scopes",
        ),
    ] {
        let reply = app.post_with(path, &session, body.clone()).await;
        let error = reply.assert_error(StatusCode::BAD_REQUEST, "validation_error");
        assert_eq!(error["errors"][0]["field"], field, "{body}");
    }
    for body in [
        json!({"name": "no expiry"}),
        json!({"name": "bad date", "expires_at": "next tuesday"}),
        json!({"name": "bad scope", "expires_at": NEXT_MONTH, "scopes": ["admin"]}),
        json!({"name": "extra", "expires_at": NEXT_MONTH, "owner": "someone"}),
    ] {
        app.post_with("/auth/tokens", &session, body.clone())
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
}
