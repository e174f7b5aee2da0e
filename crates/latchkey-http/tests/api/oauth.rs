//! The API as OAuth2 clients see it: the token endpoints' forms and RFC 6749 errors (login, refresh and
//! `/oauth/token`), revocation (RFC 7009) and introspection (RFC 7662).

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::TimeDelta;
use serde_json::{json, Value};

use crate::support::{
    access_token, api, bearer, keys, refresh_token, spawn, spawn_introspecting, Reply, TestApp,
    INTROSPECTION_SECRET, PASSWORD,
};

/// What a public OAuth2 client sends as client authentication: its id and an empty secret, as HTTP Basic.
const PUBLIC_CLIENT: &str = "Basic bXktYXBwOg=="; // my-app:

fn form(path: &str, pairs: &[(&str, &str)]) -> TestRequest {
    TestRequest::post().uri(path).set_form(pairs)
}

#[track_caller]
fn assert_not_cached(reply: &Reply) {
    assert_eq!(reply.header(header::CACHE_CONTROL), Some("no-store"));
    assert_eq!(reply.header(header::PRAGMA), Some("no-cache"));
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    let reply = app
        .send(
            form("/oauth/introspect", &[("token", token)])
                .insert_header(bearer(INTROSPECTION_SECRET)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_not_cached(&reply);
    reply.json()
}

// Login and refresh as OAuth2 token endpoints.

#[actix_web::test]
async fn login_takes_the_full_oauth2_password_form_with_public_client_authentication() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let reply = app
        .send(
            form(
                &api("/auth/login"),
                &[
                    ("grant_type", "password"),
                    ("username", "jane@example.com"),
                    ("password", PASSWORD),
                    ("client_id", "my-app"),
                    ("scope", "profile:read anything"),
                ],
            )
            .insert_header((header::AUTHORIZATION, PUBLIC_CLIENT)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_not_cached(&reply);
    let body = reply.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["id"], registered["user"]["id"]);
}

#[actix_web::test]
async fn every_token_response_is_kept_out_of_caches() {
    let app = spawn().await;
    let reply = app
        .post_json(
            "/auth/register",
            json!({"email": "jane@example.com", "password": PASSWORD}),
        )
        .await;
    assert_not_cached(&reply);
    let login = app
        .post_json(
            "/auth/login",
            json!({"email": "jane@example.com", "password": PASSWORD}),
        )
        .await;
    assert_not_cached(&login);
    let refreshed = app
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": refresh_token(&login.json())}),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    assert_not_cached(&refreshed);
}

#[actix_web::test]
async fn a_wrong_password_is_invalid_grant_beside_the_envelope() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    for request in [
        form(
            &api("/auth/login"),
            &[
                ("grant_type", "password"),
                ("username", "jane@example.com"),
                ("password", "wrong password"),
            ],
        ),
        TestRequest::post()
            .uri(&api("/auth/login"))
            .set_json(json!({"email": "nobody@example.com", "password": PASSWORD})),
    ] {
        let reply = app.send(request).await;
        reply.assert_unauthorized("invalid_credentials", "Invalid credentials", "Bearer");
        assert_eq!(
            reply.json(),
            json!({
                "detail": "Invalid credentials",
                "code": "invalid_credentials",
                "error": "invalid_grant",
                "error_description": "Invalid credentials",
            })
        );
    }
}

#[actix_web::test]
async fn another_grant_type_is_unsupported_grant_type() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let refresh = refresh_token(&registered);
    let refused = [
        form(
            &api("/auth/login"),
            &[
                ("grant_type", "client_credentials"),
                ("username", "jane@example.com"),
                ("password", PASSWORD),
            ],
        ),
        form(
            &api("/auth/login"),
            &[
                ("grant_type", "refresh_token"),
                ("username", "jane@example.com"),
                ("password", PASSWORD),
            ],
        ),
        TestRequest::post().uri(&api("/auth/login")).set_json(
            json!({"grant_type": "PASSWORD", "username": "jane@example.com", "password": PASSWORD}),
        ),
        form(
            &api("/auth/refresh"),
            &[("grant_type", "password"), ("refresh_token", &refresh)],
        ),
        form(
            "/oauth/token",
            &[("grant_type", "authorization_code"), ("code", "x")],
        ),
        form(
            "/oauth/token",
            &[("grant_type", ""), ("refresh_token", &refresh)],
        ),
    ];
    for request in refused {
        app.send(request).await.assert_oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported_grant_type",
        );
    }
    // Nothing was spent: the refresh token still works.
    let reply = app
        .send(form(
            &api("/auth/refresh"),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[actix_web::test]
async fn malformed_token_requests_are_invalid_request() {
    let app = spawn().await;
    let huge = "a".repeat(40 * 1024);
    let cases = [
        (
            form(&api("/auth/login"), &[("username", "jane")]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            TestRequest::post()
                .uri(&api("/auth/login"))
                .insert_header(ContentType::json())
                .set_payload("{\"username\": \"\u{e9}\\\"\""),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            // `grant_type` is a string when present; `null` is not taken for absent.
            TestRequest::post()
                .uri(&api("/auth/refresh"))
                .set_json(json!({"grant_type": null, "refresh_token": "lkr_x"})),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            form(&api("/auth/login"), &[("password", PASSWORD)]),
            StatusCode::BAD_REQUEST,
            "validation_error",
        ),
        (
            form(&api("/auth/refresh"), &[("grant_type", "refresh_token")]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            TestRequest::post()
                .uri(&api("/auth/refresh"))
                .insert_header(ContentType::plaintext())
                .set_payload("lkr_x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            form(&api("/auth/refresh"), &[("refresh_token", &huge)]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            form(
                "/oauth/token",
                &[("username", "jane"), ("password", PASSWORD)],
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            form(
                "/oauth/token",
                &[("grant_type", "password"), ("username", "jane")],
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            form(
                "/oauth/token",
                &[("grant_type", "password"), ("password", PASSWORD)],
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            form("/oauth/token", &[("grant_type", "refresh_token")]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            TestRequest::post().uri("/oauth/token").set_json(
                json!({"grant_type": "password", "username": "jane", "password": PASSWORD}),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (request, status, code) in cases {
        app.send(request)
            .await
            .assert_oauth_error(status, code, "invalid_request");
    }
    assert_eq!(app.hasher.calls(), 0);
}

#[actix_web::test]
async fn refresh_takes_the_oauth2_refresh_form() {
    let app = spawn().await;
    let first = refresh_token(&app.register("jane@example.com", None).await);
    let reply = app
        .send(
            form(
                &api("/auth/refresh"),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &first),
                    ("client_id", "my-app"),
                    ("scope", "profile:read"),
                ],
            )
            .insert_header((header::AUTHORIZATION, PUBLIC_CLIENT)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_not_cached(&reply);
    let pair = reply.json();
    assert_ne!(pair["refresh_token"], first.as_str());
    let me = app.get_with("/auth/me", &access_token(&pair)).await;
    assert_eq!(me.status, StatusCode::OK);

    // Without grant_type, and with the seed's spelling, as the JSON body allows.
    let reply = app
        .send(form(
            &api("/auth/refresh"),
            &[("refreshToken", &refresh_token(&pair))],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

#[actix_web::test]
async fn a_bad_refresh_token_is_invalid_grant() {
    let app = spawn().await;
    let reply = app
        .send(form(
            &api("/auth/refresh"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "lkr_nope"),
            ],
        ))
        .await;
    reply.assert_unauthorized(
        "invalid_refresh_token",
        "Invalid or expired refresh token",
        "Bearer error=\"invalid_token\"",
    );
    reply.assert_oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
        "invalid_grant",
    );
}

#[actix_web::test]
async fn other_endpoints_keep_the_plain_envelope() {
    let app = spawn().await;
    app.register("jane@example.com", None).await;
    let conflict = app
        .post_json(
            "/auth/register",
            json!({"email": "jane@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(
        keys(&conflict.assert_error(StatusCode::CONFLICT, "email_taken")),
        ["code", "detail"]
    );
    let unauthenticated = app.get_with("/auth/me", "garbage").await;
    assert_eq!(keys(&unauthenticated.json()), ["code", "detail"]);
    // The OAuth2 endpoints' `Pragma: no-cache` is theirs alone (every response is `no-store` by the middleware).
    assert_eq!(unauthenticated.header(header::PRAGMA), None);
}

// The token endpoint.

#[actix_web::test]
async fn the_token_endpoint_answers_the_password_grant_as_login_does() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", Some("jane")).await;
    let reply = app
        .send(
            form(
                "/oauth/token",
                &[
                    ("grant_type", "password"),
                    ("username", "jane"),
                    ("password", PASSWORD),
                    ("client_id", "my-app"),
                    ("scope", "openid"),
                ],
            )
            .insert_header((header::AUTHORIZATION, PUBLIC_CLIENT)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_not_cached(&reply);
    let token = reply.json();
    let login = app.login("jane").await;
    assert_eq!(keys(&token), keys(&login));
    assert_eq!(token["user"], registered["user"]);

    let wrong = app
        .send(form(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("username", "jane"),
                ("password", "wrong password"),
            ],
        ))
        .await;
    wrong.assert_unauthorized("invalid_credentials", "Invalid credentials", "Bearer");
    wrong.assert_oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "invalid_grant",
    );
}

#[actix_web::test]
async fn the_token_endpoint_answers_the_refresh_grant_as_refresh_does() {
    let app = spawn().await;
    let first = refresh_token(&app.register("jane@example.com", None).await);
    let grant = |token: &str| {
        form(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
    };
    let reply = app.send(grant(&first)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_not_cached(&reply);
    let pair = reply.json();
    assert_eq!(
        keys(&pair),
        [
            "access_token",
            "expires_in",
            "refresh_expires_in",
            "refresh_token",
            "token_type"
        ]
    );

    // A spent token after the grace is reuse: refused, and the session is gone.
    app.advance(TimeDelta::seconds(11));
    app.send(grant(&first)).await.assert_oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
        "invalid_grant",
    );
    let me = app.get_with("/auth/me", &access_token(&pair)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

// Revocation.

#[actix_web::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let other = app.login("jane@example.com").await;
    let reply = app
        .send(
            form(
                "/oauth/revoke",
                &[
                    ("token", &refresh_token(&registered)),
                    ("token_type_hint", "refresh_token"),
                    ("client_id", "my-app"),
                ],
            )
            .insert_header((header::AUTHORIZATION, PUBLIC_CLIENT)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(reply.body.is_empty());

    let me = app.get_with("/auth/me", &access_token(&registered)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let refresh = app
        .post_json(
            "/auth/refresh",
            json!({"refresh_token": refresh_token(&registered)}),
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    let me = app.get_with("/auth/me", &access_token(&other)).await;
    assert_eq!(me.status, StatusCode::OK);
}

#[actix_web::test]
async fn revoking_an_access_token_by_json_ends_its_session() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let reply = app
        .send(TestRequest::post().uri("/oauth/revoke").set_json(
            json!({"token": access_token(&registered), "token_type_hint": "access_token"}),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let me = app.get_with("/auth/me", &access_token(&registered)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn revoking_anything_else_is_the_same_200() {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let refresh = refresh_token(&registered);
    for token in [
        "lkr_unknown",
        "garbage",
        "",
        "lk_pat_unknown",
        "sk_live_unknown",
        &refresh,
        &refresh,
    ] {
        let reply = app
            .send(form(
                "/oauth/revoke",
                &[("token", token), ("token_type_hint", "something_else")],
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{token}: {:?}", reply.body);
        assert!(reply.body.is_empty());
    }
    app.send(form(
        "/oauth/revoke",
        &[("token_type_hint", "refresh_token")],
    ))
    .await
    .assert_oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "invalid_request",
    );
}

// Introspection.

#[actix_web::test]
async fn without_a_secret_introspection_is_not_there() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    for authorization in ["", "Bearer anything-at-all-even-32-bytes-long-xxxxxxxx"] {
        let mut request = form("/oauth/introspect", &[("token", &token)]);
        if !authorization.is_empty() {
            request = request.insert_header((header::AUTHORIZATION, authorization));
        }
        let reply = app.send(request).await;
        let body = reply.assert_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(body, json!({"detail": "Not found", "code": "not_found"}));
    }
}

#[actix_web::test]
async fn introspection_needs_the_secret_and_says_nothing_without_it() {
    let app = spawn_introspecting().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    let wrong = "introspection-secret-of-32-bytes-or-less";
    for authorization in [
        None,
        Some(format!("Bearer {wrong}")),
        Some(format!("Bearer {token}")),
        Some("Basic YmFja2VuZDp3cm9uZw==".to_owned()),
        Some(format!("Token {INTROSPECTION_SECRET}")),
    ] {
        for body in [
            form("/oauth/introspect", &[("token", &token)]),
            // Not even a malformed body is reported before the caller is known.
            TestRequest::post()
                .uri("/oauth/introspect")
                .insert_header(ContentType::json())
                .set_payload("{not json"),
        ] {
            let request = match &authorization {
                Some(value) => body.insert_header((header::AUTHORIZATION, value.as_str())),
                None => body,
            };
            let reply = app.send(request).await;
            let body = reply.assert_oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "invalid_client",
            );
            assert_eq!(
                keys(&body),
                ["code", "detail", "error", "error_description"]
            );
            assert_eq!(
                reply.header(header::WWW_AUTHENTICATE),
                Some("Basic realm=\"latchkey\", Bearer realm=\"latchkey\"")
            );
        }
    }
}

#[actix_web::test]
async fn a_live_access_token_introspects_as_active() {
    let app = spawn_introspecting().await;
    let registered = app.register("jane@example.com", None).await;
    let token = access_token(&registered);
    let body = introspect(&app, &token).await;
    assert_eq!(
        keys(&body),
        ["active", "exp", "iat", "scope", "sub", "token_type"]
    );
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], registered["user"]["id"]);
    assert_eq!(
        body["scope"],
        "profile:read profile:write credits:read credits:charge"
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        15 * 60
    );

    // HTTP Basic with the secret as password, and JSON, do the same.
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("backend:{INTROSPECTION_SECRET}"))
    );
    let reply = app
        .send(
            TestRequest::post()
                .uri("/oauth/introspect")
                .insert_header((header::AUTHORIZATION, basic))
                .set_json(json!({"token": token, "token_type_hint": "access_token"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), body);
}

#[actix_web::test]
async fn introspection_reflects_revocation_at_once() {
    let app = spawn_introspecting().await;
    let registered = app.register("jane@example.com", None).await;
    let token = access_token(&registered);
    assert_eq!(introspect(&app, &token).await["active"], true);
    let logout = app.post_with("/auth/logout", &token, json!({})).await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(introspect(&app, &token).await, json!({"active": false}));
}

#[actix_web::test]
async fn anything_but_a_live_access_token_is_inactive_and_nothing_more() {
    let app = spawn_introspecting().await;
    let registered = app.register("jane@example.com", None).await;
    let expiring = app.login("jane@example.com").await;
    app.advance(TimeDelta::minutes(15));
    for token in [
        refresh_token(&registered),
        access_token(&expiring),
        "garbage".to_owned(),
        String::new(),
        "lk_pat_unknown".to_owned(),
    ] {
        assert_eq!(
            introspect(&app, &token).await,
            json!({"active": false}),
            "{token}"
        );
    }
    let missing = app
        .send(form("/oauth/introspect", &[]).insert_header(bearer(INTROSPECTION_SECRET)))
        .await;
    missing.assert_oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "invalid_request",
    );
}

#[actix_web::test]
async fn a_personal_token_and_an_api_key_introspect_and_revoke_by_their_secret() {
    let app = spawn_introspecting().await;
    let registered = app.register("jane@example.com", None).await;
    let session = access_token(&registered);
    let pat = app
        .post_with(
            "/auth/tokens",
            &session,
            json!({"name": "CI", "expires_at": "2026-02-01T00:00:00Z", "scopes": ["profile:read"]}),
        )
        .await
        .json();
    let key = app
        .post_with(
            "/auth/keys",
            &session,
            json!({"name": "billing", "scopes": ["credits:read"]}),
        )
        .await
        .json();
    let pat_secret = pat["token"].as_str().unwrap();
    let key_secret = key["api_key"].as_str().unwrap();

    let body = introspect(&app, pat_secret).await;
    assert_eq!(
        keys(&body),
        ["active", "exp", "iat", "scope", "sub", "token_type"]
    );
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], registered["user"]["id"]);
    assert_eq!(body["scope"], "profile:read");
    assert_eq!(body["token_type"], "bearer");
    let body = introspect(&app, key_secret).await;
    // An API key without expiry has no `exp`.
    assert_eq!(keys(&body), ["active", "iat", "scope", "sub", "token_type"]);
    assert_eq!(body["scope"], "credits:read");
    assert_eq!(body["token_type"], "api_key");

    for secret in [pat_secret, key_secret] {
        let reply = app.send(form("/oauth/revoke", &[("token", secret)])).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.body.is_empty());
        assert_eq!(introspect(&app, secret).await, json!({"active": false}));
    }
    let me = app.get_with("/auth/me", pat_secret).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let me = app
        .send(
            TestRequest::get()
                .uri(&api("/auth/me"))
                .insert_header(("X-API-Key", key_secret)),
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    // The session that made them is untouched.
    assert_eq!(
        app.get_with("/auth/me", &session).await.status,
        StatusCode::OK
    );
}

// The document.

#[actix_web::test]
async fn the_document_declares_the_oauth2_password_flow_beside_bearer() {
    let app = spawn_introspecting().await;
    let document = app
        .send(TestRequest::get().uri("/api/v1/openapi.json"))
        .await
        .json();
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["oauth2"]["type"], "oauth2");
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/oauth/token"
    );
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["introspection"]["scheme"], "basic");

    let mut protected = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(security) = operation["security"].as_array() else {
                continue;
            };
            let names: Vec<&str> = security
                .iter()
                .flat_map(|requirement| requirement.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            if path == "/oauth/introspect" {
                assert_eq!(names, ["introspection"]);
            } else {
                // Each operation that takes bearer (with or without an API key) also names the password flow.
                assert!(names.contains(&"bearer"), "{method} {path}: {names:?}");
                assert_eq!(names.last(), Some(&"oauth2"), "{method} {path}");
                assert_eq!(names.iter().filter(|n| **n == "oauth2").count(), 1);
                protected += 1;
            }
        }
    }
    assert!(protected >= 6, "{protected}");

    // The grant types each token endpoint takes.
    let schemas = &document["components"]["schemas"];
    let grant_type = |schema: &Value| schema["properties"]["grant_type"]["enum"].clone();
    assert_eq!(
        grant_type(&schemas["LoginRequest"]["allOf"][0]),
        json!(["password"])
    );
    assert_eq!(
        grant_type(&schemas["RefreshRequest"]),
        json!(["refresh_token"])
    );
    assert_eq!(grant_type(&schemas["PasswordGrant"]), json!(["password"]));
    assert_eq!(
        grant_type(&schemas["RefreshTokenGrant"]),
        json!(["refresh_token"])
    );
    let token_body = &document["paths"]["/oauth/token"]["post"]["requestBody"]["content"];
    assert_eq!(
        token_body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["application/x-www-form-urlencoded"]
    );
}
