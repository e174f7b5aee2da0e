//! Black-box scenarios over HTTP, each on a fresh SQLite file and a fresh PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use awc::http::StatusCode;
use latchkey_tests::{tokens, Backend, Body, TestApp};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    let app = super::TestApp::spawn(super::Backend::Sqlite).await.expect("SQLite always runs");
                    super::$scenario(&app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    let Some(app) = super::TestApp::spawn(super::Backend::Postgres).await else { return };
                    super::$scenario(&app).await;
                }
            )+
        }
    };
}

on_every_backend!(
    walkthrough_register_login_me_refresh_logout,
    login_by_username_with_the_oauth2_form,
    wrong_password_and_unknown_account_answer_alike,
    refresh_replay_revokes_the_session,
    change_password_revokes_other_sessions,
    sessions_can_be_listed_and_revoked,
    duplicate_registration_is_a_conflict,
    every_error_is_the_json_envelope,
    instances_sharing_a_database_accept_each_others_tokens,
    health_and_readiness,
    personal_tokens_and_api_keys_end_to_end,
    failed_logins_are_limited_across_instances,
    x_forwarded_for_counts_only_from_trusted_proxies,
    security_events_are_listed_for_the_account,
    compressed_bodies_are_refused_unread,
    profile_updates_and_account_deletion,
    a_disabled_account_is_locked_out_until_enabled,
);

/// A gzip body is refused with 415 before it is read, so it is never inflated; `identity` is no compression.
async fn compressed_bodies_are_refused_unread(app: &TestApp) {
    let registration =
        br#"{"email":"jane@example.com","password":"correct horse battery"}"#.to_vec();
    // `registration` compressed with gzip.
    let gzip = vec![
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0x4a, 0xcd, 0x4d,
        0xcc, 0xcc, 0x51, 0xb2, 0x52, 0xca, 0x4a, 0xcc, 0x4b, 0x75, 0x48, 0xad, 0x48, 0xcc, 0x2d,
        0xc8, 0x49, 0xd5, 0x4b, 0xce, 0xcf, 0x55, 0xd2, 0x51, 0x2a, 0x48, 0x2c, 0x2e, 0x2e, 0xcf,
        0x2f, 0x4a, 0x01, 0xca, 0x26, 0xe7, 0x17, 0x15, 0xa5, 0x26, 0x97, 0x28, 0x64, 0xe4, 0x17,
        0x15, 0xa7, 0x2a, 0x24, 0x25, 0x96, 0x94, 0xa4, 0x16, 0x55, 0x2a, 0xd5, 0x02, 0x00, 0x43,
        0xab, 0xcb, 0x5f, 0x3f, 0x00, 0x00, 0x00,
    ];
    for encoding in ["gzip", "br", "deflate, identity"] {
        let reply = app
            .request_with_headers(
                "POST",
                "/auth/register",
                &[("Content-Encoding", encoding)],
                Some(Body::Raw("application/json", gzip.clone())),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{encoding}: {}",
            reply.text
        );
        assert_eq!(reply.body["code"], "unsupported_content_encoding");
        assert_eq!(reply.headers.get("accept-encoding").unwrap(), "identity");
    }
    // Nothing was registered: the same address is still free.
    let identity = app
        .request_with_headers(
            "POST",
            "/auth/register",
            &[("Content-Encoding", "identity")],
            Some(Body::Raw("application/json", registration)),
        )
        .await;
    assert_eq!(identity.status, StatusCode::CREATED, "{}", identity.text);
}

async fn walkthrough_register_login_me_refresh_logout(app: &TestApp) {
    let registered = app
        .post_json(
            "/auth/register",
            None,
            json!({"email": "Jane@Example.com", "password": "correct horse battery", "name": "Jane"}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let user = &registered.body["user"];
    assert!(user["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(user["email"], "Jane@Example.com");
    assert_eq!(user["credits"], 1000);
    assert_eq!(user["is_verified"], false);
    assert_eq!(registered.body["token"]["token_type"], "bearer");

    let (access, refresh) = app.login("jane@example.com", "correct horse battery").await;
    let me = app.get("/auth/me", Some(&access)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], user["id"]);
    assert_eq!(me.body["metadata"], json!({}));

    let credits = app.get("/auth/credits", Some(&access)).await;
    assert_eq!(
        credits.body,
        json!({"credits": 1000, "credits_per_second_video": 10, "credits_per_photo": 100})
    );

    let refreshed = app
        .post_json("/auth/refresh", None, json!({"refreshToken": refresh}))
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    let (new_access, new_refresh) = tokens(&refreshed.body);
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        app.get("/auth/me", Some(&new_access)).await.status,
        StatusCode::OK
    );

    let logout = app
        .post_json("/auth/logout", Some(&new_access), json!({}))
        .await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(logout.body, json!({"message": "Successfully logged out"}));
    // Every token of the session is refused at once: both access tokens and the refresh token.
    for token in [&access, &new_access] {
        let refused = app.get("/auth/me", Some(token)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["detail"], "Could not validate credentials");
    }
    let refused = app
        .post_json("/auth/refresh", None, json!({"refresh_token": new_refresh}))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["code"], "invalid_refresh_token");
}

async fn login_by_username_with_the_oauth2_form(app: &TestApp) {
    let reply = app
        .post_json(
            "/auth/register",
            None,
            json!({"email": "bob@example.com", "password": "bob's password", "username": "Bob_99"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let form = app
        .request(
            "POST",
            "/auth/login",
            None,
            Some(Body::Form(vec![
                ("grant_type", "password"),
                ("username", "bob_99"),
                ("password", "bob's password"),
            ])),
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_eq!(form.body["token_type"], "bearer");
    assert_eq!(form.body["user"]["username"], "Bob_99");
    assert!(form.body["expires_in"].as_i64().unwrap() > 0);
    assert!(form.body["refresh_expires_in"].as_i64().unwrap() > 0);

    let by_email_field = app
        .post_json(
            "/auth/login",
            None,
            json!({"email": "BOB@example.com", "password": "bob's password"}),
        )
        .await;
    assert_eq!(by_email_field.status, StatusCode::OK);
}

async fn wrong_password_and_unknown_account_answer_alike(app: &TestApp) {
    app.register("carol@example.com", "carol's password").await;
    let wrong = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "carol@example.com", "password": "nope nope"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "nobody@example.com", "password": "nope nope"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.www_authenticate, unknown.www_authenticate);
    // The envelope, and RFC 6749's members beside it (login is an OAuth2 token endpoint).
    assert_eq!(
        wrong.body,
        json!({"detail": "Invalid credentials", "code": "invalid_credentials",
               "error": "invalid_grant", "error_description": "Invalid credentials"})
    );
    assert!(wrong.www_authenticate.unwrap().starts_with("Bearer"));
}

async fn refresh_replay_revokes_the_session(app: &TestApp) {
    app.register("dave@example.com", "dave's password").await;
    let (_, first) = app.login("dave@example.com", "dave's password").await;
    let rotated = app
        .post_json("/auth/refresh", None, json!({"refresh_token": first}))
        .await;
    let (access, second) = tokens(&rotated.body);

    // A retry within the grace window (the client lost the response) gets the same pair.
    let retried = app
        .post_json("/auth/refresh", None, json!({"refresh_token": first}))
        .await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(tokens(&retried.body), (access.clone(), second.clone()));

    // Once the successor is used, the parent is a replay: the whole session goes.
    let third = app
        .post_json("/auth/refresh", None, json!({"refresh_token": second}))
        .await;
    assert_eq!(third.status, StatusCode::OK);
    let (third_access, third_refresh) = tokens(&third.body);
    let replay = app
        .post_json("/auth/refresh", None, json!({"refresh_token": first}))
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/auth/me", Some(&third_access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let after = app
        .post_json(
            "/auth/refresh",
            None,
            json!({"refresh_token": third_refresh}),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

async fn change_password_revokes_other_sessions(app: &TestApp) {
    app.register("erin@example.com", "erin's password").await;
    let (laptop, _) = app.login("erin@example.com", "erin's password").await;
    let (phone, phone_refresh) = app.login("erin@example.com", "erin's password").await;

    let wrong = app
        .post_json(
            "/auth/change-password",
            Some(&laptop),
            json!({"current_password": "not it at all", "new_password": "a new password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.body["code"], "invalid_current_password");

    let changed = app
        .post_json(
            "/auth/change-password",
            Some(&laptop),
            json!({"current_password": "erin's password", "new_password": "a new password"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(
        app.get("/auth/me", Some(&laptop)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/auth/me", Some(&phone)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refresh = app
        .post_json(
            "/auth/refresh",
            None,
            json!({"refresh_token": phone_refresh}),
        )
        .await;
    assert_eq!(refresh.status, StatusCode::UNAUTHORIZED);
    let old = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "erin@example.com", "password": "erin's password"}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    app.login("erin@example.com", "a new password").await;
}

async fn sessions_can_be_listed_and_revoked(app: &TestApp) {
    app.register("fay@example.com", "fay's password").await;
    let (first, _) = app.login("fay@example.com", "fay's password").await;
    let (second, _) = app.login("fay@example.com", "fay's password").await;
    let listed = app.get("/auth/sessions", Some(&first)).await;
    assert_eq!(listed.status, StatusCode::OK);
    // Registration started a session too.
    let sessions = listed.body.as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let current_of = |reply: &latchkey_tests::Reply| {
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first_id = current_of(&listed);
    let second_id = current_of(&app.get("/auth/sessions", Some(&second)).await);
    // The registration's session: neither of the two logins.
    let other = sessions
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .find(|id| *id != first_id && *id != second_id)
        .unwrap();
    let revoked = app
        .request(
            "DELETE",
            &format!("/auth/sessions/{other}"),
            Some(&first),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let again = app
        .request(
            "DELETE",
            &format!("/auth/sessions/{other}"),
            Some(&first),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.body["code"], "not_found");
    assert!(app
        .get("/auth/sessions", Some(&second))
        .await
        .status
        .is_success());

    let all = app
        .post_json("/auth/logout", Some(&first), json!({"all": true}))
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        app.get("/auth/me", Some(&second)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn duplicate_registration_is_a_conflict(app: &TestApp) {
    let first = app
        .post_json(
            "/auth/register",
            None,
            json!({"email": "gus@example.com", "password": "gus password", "username": "gus"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let email = app.register("GUS@example.com", "another password").await;
    assert_eq!(email.status, StatusCode::CONFLICT);
    assert_eq!(email.body["code"], "email_taken");
    let username = app
        .post_json(
            "/auth/register",
            None,
            json!({"email": "gus2@example.com", "password": "gus password", "username": "GUS"}),
        )
        .await;
    assert_eq!(username.status, StatusCode::CONFLICT);
    assert_eq!(username.body["code"], "username_taken");
    let invalid = app
        .post_json(
            "/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short"}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = invalid.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password"]);
}

async fn every_error_is_the_json_envelope(app: &TestApp) {
    let cases = [
        app.get("/api/v1/nowhere", None).await,
        app.request("PUT", "/auth/login", None, None).await,
        app.request(
            "POST",
            "/auth/register",
            None,
            Some(Body::Raw("application/json", b"{not json".to_vec())),
        )
        .await,
        app.post_json("/auth/register", None, json!({"email": 5, "password": []}))
            .await,
        app.post_json("/auth/register", None, json!({"email": "x@example.com"}))
            .await,
        app.request(
            "POST",
            "/auth/register",
            None,
            Some(Body::Raw("text/plain", b"hello".to_vec())),
        )
        .await,
        app.request(
            "POST",
            "/auth/register",
            None,
            Some(Body::Raw("application/json", vec![b' '; 1024 * 1024])),
        )
        .await,
        app.get("/auth/me", None).await,
        app.get("/auth/me", Some("not-a-jwt")).await,
    ];
    let expected = [
        (404, "not_found"),
        (405, "method_not_allowed"),
        (400, "invalid_request"),
        (400, "invalid_request"),
        (400, "invalid_request"),
        (415, "unsupported_media_type"),
        (413, "payload_too_large"),
        (401, "not_authenticated"),
        (401, "invalid_token"),
    ];
    for (reply, (status, code)) in cases.iter().zip(expected) {
        assert_eq!(reply.status.as_u16(), status, "{}", reply.body);
        assert_eq!(reply.body["code"], code);
        assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    }
    assert_eq!(cases[7].www_authenticate.as_deref(), Some("Bearer"));
    assert_eq!(
        cases[8].www_authenticate.as_deref(),
        Some("Bearer error=\"invalid_token\"")
    );
}

async fn instances_sharing_a_database_accept_each_others_tokens(app: &TestApp) {
    app.register("hal@example.com", "hal's password").await;
    let (access, refresh) = app.login("hal@example.com", "hal's password").await;
    // On SQLite the second instance reads the generated secret the first one wrote: tokens survive a restart.
    let other = app.another_instance().await;
    assert_eq!(
        other.get("/auth/me", Some(&access)).await.status,
        StatusCode::OK
    );
    let rotated = other
        .post_json("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let (new_access, _) = tokens(&rotated.body);
    // A logout on one instance is honoured by the other at once.
    assert_eq!(
        app.post_json("/auth/logout", Some(&new_access), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        other.get("/auth/me", Some(&new_access)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn health_and_readiness(app: &TestApp) {
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body["status"], "ready");
    // Probes that use HEAD get GET's answer without its body (read raw: an HTTP client would not read one anyway);
    // Prometheus finds the requests counted.
    for path in ["/healthz", "/readyz"] {
        let answer = app
            .raw_exchange(format!(
                "HEAD {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            ))
            .await;
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "HEAD {path}: {answer}");
        let (_, after_headers) = answer.split_once("\r\n\r\n").expect("a whole head");
        assert!(
            after_headers.is_empty(),
            "HEAD {path} sent a body: {after_headers:?}"
        );
    }
    let metrics = app.get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.text.contains(
            r#"latchkey_http_requests_total{method="HEAD",route="/healthz",status="200"} 1"#
        ),
        "{}",
        metrics.text
    );
}

async fn personal_tokens_and_api_keys_end_to_end(app: &TestApp) {
    let registered = app
        .register("jane@example.com", "correct horse battery")
        .await;
    let (session, _) = tokens(&registered.body["token"]);
    let expires_at = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let token = app
        .post_json(
            "/auth/tokens",
            Some(&session),
            json!({"name": "laptop", "expires_at": expires_at}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
    let pat = token.body["token"].as_str().unwrap().to_owned();
    let key = app
        .post_json(
            "/auth/keys",
            Some(&session),
            json!({"name": "worker", "scopes": ["credits:read"]}),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
    let (key_id, api_key) = (
        key.body["id"].as_str().unwrap().to_owned(),
        key.body["api_key"].as_str().unwrap().to_owned(),
    );

    // Both authenticate, within their scopes, on this instance and on another sharing the database.
    let other = app.another_instance().await;
    for instance in [app, &other] {
        let me = instance.get("/auth/me", Some(&pat)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        let credits = instance.get_with_api_key("/auth/credits", &api_key).await;
        assert_eq!(credits.status, StatusCode::OK, "{}", credits.body);
        let me = instance.get_with_api_key("/auth/me", &api_key).await;
        assert_eq!(me.status, StatusCode::FORBIDDEN, "{}", me.body);
        assert_eq!(me.body["code"], "insufficient_scope");
    }
    // A personal token cannot make another.
    let refused = app
        .post_json("/auth/keys", Some(&pat), json!({"name": "nested"}))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["code"], "session_required");

    // Rotating the key refuses the old secret at once, everywhere.
    let rotated = app
        .post_json(
            &format!("/auth/keys/{key_id}/rotate"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    let new_key = rotated.body["api_key"].as_str().unwrap().to_owned();
    assert_eq!(
        other
            .get_with_api_key("/auth/credits", &api_key)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other
            .get_with_api_key("/auth/credits", &new_key)
            .await
            .status,
        StatusCode::OK
    );

    // Logging out every session leaves them alive; revoking ends them.
    let logout = app
        .post_json("/auth/logout", Some(&session), json!({"all": true}))
        .await;
    assert_eq!(logout.status, StatusCode::OK);
    assert_eq!(app.get("/auth/me", Some(&pat)).await.status, StatusCode::OK);
    let (session, _) = app.login("jane@example.com", "correct horse battery").await;
    // The use is recorded without the request waiting for the write: poll for it, with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let listed = app.get("/auth/keys", Some(&session)).await;
        assert_eq!(listed.body.as_array().unwrap().len(), 1);
        if listed.body[0]["last_used_at"].is_string() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "use never recorded: {}",
            listed.body
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let revoked = app
        .request(
            "DELETE",
            &format!("/auth/keys/{key_id}"),
            Some(&session),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        other
            .get_with_api_key("/auth/credits", &new_key)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// Ten failed logins for one account, spread over two instances sharing the database, spend its limit on both: the
/// eleventh, even with the right password, gets 429 with `Retry-After`, and an unknown account answers the same. The
/// owner still logs in from the address it registered from. (Both instances trust the test's loopback as a proxy,
/// so `X-Forwarded-For` plays the clients' addresses.)
async fn failed_logins_are_limited_across_instances(app: &TestApp) {
    let trust_loopback = |settings: &mut latchkey_server::Settings| {
        settings.server.trusted_proxies = vec!["127.0.0.1".into()];
    };
    let first = app.another_instance_with(trust_loopback).await;
    let second = app.another_instance_with(trust_loopback).await;
    let from = |n: u8| format!("203.0.113.{n}");
    let login = |email: &str, password: &str| json!({"email": email, "password": password});
    let home = "192.0.2.1";
    let registered = first
        .post_json_with_header(
            "/auth/register",
            ("X-Forwarded-For", home),
            login("jane@example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(registered.status, StatusCode::CREATED);
    for attempt in 0..10u8 {
        let instance = if attempt % 2 == 0 { &first } else { &second };
        for email in ["jane@example.com", "nobody@example.com"] {
            let reply = instance
                .post_json_with_header(
                    "/auth/login",
                    ("X-Forwarded-For", &from(attempt)),
                    login(email, "wrong password!"),
                )
                .await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        }
    }
    for (instance, email) in [
        (&first, "jane@example.com"),
        (&second, "nobody@example.com"),
    ] {
        let reply = instance
            .post_json_with_header(
                "/auth/login",
                ("X-Forwarded-For", &from(99)),
                login(email, "correct horse battery"),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            reply.body
        );
        assert_eq!(reply.body["code"], "too_many_attempts");
        let seconds: u64 = reply
            .retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!((1..=90).contains(&seconds), "{seconds}");
    }
    let at_home = second
        .post_json_with_header(
            "/auth/login",
            ("X-Forwarded-For", home),
            login("jane@example.com", "correct horse battery"),
        )
        .await;
    assert_eq!(
        at_home.status,
        StatusCode::OK,
        "the owner is not locked out"
    );
    // The OAuth2 token endpoint shares the limit and says so in RFC 6749 terms (this peer, 127.0.0.1, is a new
    // address for the account on an instance that does not trust it as a proxy).
    let reply = app
        .request(
            "POST",
            "/oauth/token",
            None,
            Some(Body::Form(vec![
                ("grant_type", "password"),
                ("username", "jane@example.com"),
                ("password", "correct horse battery"),
            ])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["error"], "temporarily_unavailable");
    assert!(reply.retry_after.is_some());
}

/// `X-Forwarded-For` names the client only when the peer is a trusted proxy; otherwise every request from this
/// peer counts as one address, whatever the header says.
async fn x_forwarded_for_counts_only_from_trusted_proxies(app: &TestApp) {
    let limited = |settings: &mut latchkey_server::Settings| {
        settings.throttle.login_per_address = "3/15m".into();
        settings.throttle.login_per_account = "off".into();
    };
    let direct = app.another_instance_with(limited).await;
    let behind_proxy = app
        .another_instance_with(|settings| {
            limited(settings);
            settings.server.trusted_proxies = vec!["127.0.0.0/8".into()];
        })
        .await;
    async fn fail(instance: &TestApp, forwarded: &str) -> StatusCode {
        instance
            .post_json_with_header(
                "/auth/login",
                ("X-Forwarded-For", forwarded),
                json!({"email": "nobody@example.com", "password": "wrong password!"}),
            )
            .await
            .status
    }
    for n in 0..3 {
        let status = fail(&behind_proxy, "6.6.6.6, 198.51.100.1").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    assert_eq!(
        fail(&behind_proxy, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another forwarded client, or the same one forging a different left-most entry, is counted apart.
    assert_eq!(
        fail(&behind_proxy, "198.51.100.2").await,
        StatusCode::UNAUTHORIZED
    );
    // Without trusted proxies the header changes nothing: the peer (127.0.0.1) is the client.
    for n in 0..3 {
        let status = fail(&direct, &format!("198.51.100.{}", 10 + n)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    assert_eq!(
        fail(&direct, "198.51.100.99").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The account's security events over HTTP: newest first, with the client's address, paged by cursor; a bad cursor
/// is a 400 and a personal token may not read them.
async fn security_events_are_listed_for_the_account(app: &TestApp) {
    app.register("jane@example.com", "correct horse battery")
        .await;
    let wrong = app
        .post_json(
            "/auth/login",
            None,
            json!({"email": "jane@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let (access, _) = app.login("jane@example.com", "correct horse battery").await;
    let all = app.get("/auth/events?limit=100", Some(&access)).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let kinds: Vec<(&str, &str)> = all.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("login", "success"),
            ("login", "failure"),
            ("registered", "success")
        ]
    );
    assert_eq!(all.body["events"][0]["ip"], "127.0.0.1");
    assert_eq!(all.body["next_cursor"], Value::Null);

    let first = app.get("/auth/events?limit=2", Some(&access)).await;
    let cursor = first.body["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("a next page: {} {}", first.status, first.body));
    let rest = app
        .get(
            &format!("/auth/events?limit=2&cursor={cursor}"),
            Some(&access),
        )
        .await;
    assert_eq!(rest.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(rest.body["events"][0]["kind"], "registered");

    let empty = app.get("/auth/events?cursor=", Some(&access)).await;
    assert_eq!(
        empty.body["events"].as_array().unwrap().len(),
        3,
        "the first page"
    );
    let bad = app.get("/auth/events?cursor=nope", Some(&access)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let too_many = app.get("/auth/events?limit=1000", Some(&access)).await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);

    let created = app
        .post_json(
            "/auth/tokens",
            Some(&access),
            json!({"name": "ci", "expires_at": (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let pat = created.body["token"].as_str().unwrap();
    let refused = app.get("/auth/events", Some(pat)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["code"], "session_required");
}

/// The server wraps the security headers and CORS as configured: HSTS only with an `https` public URL, CORS only
/// for the listed origins.
#[actix_web::test]
async fn security_headers_and_cors_follow_the_settings() {
    let plain = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let reply = plain
        .request_with_headers(
            "GET",
            "/healthz",
            &[("Origin", "https://app.example.com")],
            None,
        )
        .await;
    assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(
        reply.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert!(reply.headers.get("strict-transport-security").is_none());
    assert!(reply.headers.get("access-control-allow-origin").is_none());

    let configured = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.server.public_url = Some("https://auth.example.com".into());
        settings.server.cors_allowed_origins = vec!["https://app.example.com".into()];
    })
    .await
    .unwrap();
    let reply = configured
        .request_with_headers(
            "GET",
            "/healthz",
            &[("Origin", "https://app.example.com")],
            None,
        )
        .await;
    assert_eq!(
        reply.headers.get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
    assert_eq!(
        reply.headers.get("access-control-allow-origin").unwrap(),
        "https://app.example.com"
    );
    let other = configured
        .request_with_headers(
            "GET",
            "/healthz",
            &[("Origin", "https://evil.example")],
            None,
        )
        .await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

/// `PATCH /auth/me` changes what it names and refuses server-owned fields; `DELETE /auth/me` ends every credential
/// at once and frees the address.
async fn profile_updates_and_account_deletion(app: &TestApp) {
    let registered = app
        .post_json(
            "/auth/register",
            None,
            json!({"email": "jane@example.com", "password": PASSWORD, "first_name": "Jane", "last_name": "Doe"}),
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    assert_eq!(registered.body["user"]["name"], "Jane Doe");
    let (session, refresh) = tokens(&registered.body["token"]);
    let patched = app
        .request(
            "PATCH",
            "/auth/me",
            Some(&session),
            Some(Body::Json(json!({
                "full_name": "Jane Q. Doe",
                "phone": "+44 20 7946 0958",
                "metadata": {"experience_years": 5, "skills": ["rust", "sql"]},
            }))),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["name"], "Jane Q. Doe");
    assert_eq!(patched.body["phone"], "+442079460958");
    assert_eq!(patched.body["metadata"]["skills"][1], "sql");
    assert_eq!(app.get("/auth/me", Some(&session)).await.body, patched.body);
    let refused = app
        .request(
            "PATCH",
            "/auth/me",
            Some(&session),
            Some(Body::Json(
                json!({"email": "x@example.com", "credits": 1e9, "name": null}),
            )),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["credits", "email"]);
    assert_eq!(
        app.get("/auth/me", Some(&session)).await.body["name"],
        "Jane Q. Doe",
        "nothing changed"
    );

    let expires_at = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let key = app
        .post_json(
            "/auth/keys",
            Some(&session),
            json!({"name": "worker", "expires_at": expires_at}),
        )
        .await;
    let api_key = key.body["api_key"].as_str().unwrap().to_owned();
    let wrong = app
        .request(
            "DELETE",
            "/auth/me",
            Some(&session),
            Some(Body::Json(json!({"password": "not the password"}))),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong.body["code"], "invalid_password");
    let deleted = app
        .request(
            "DELETE",
            "/auth/me",
            Some(&session),
            Some(Body::Json(json!({"password": PASSWORD}))),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(
        app.get("/auth/me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_with_api_key("/auth/me", &api_key).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app
        .post_json("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    let again = app.register("Jane@Example.com", PASSWORD).await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "the address is free again: {}",
        again.body
    );
}

/// An operator disables an account (here through the service on the same database, as `latchkey users disable`
/// does): its tokens stop working at once, the right password gets 403 `account_disabled`, a wrong one still 401;
/// enabling lets it log in again but brings back nothing that was revoked.
async fn a_disabled_account_is_locked_out_until_enabled(app: &TestApp) {
    let registered = app.register("jane@example.com", PASSWORD).await;
    let (session, refresh) = tokens(&registered.body["token"]);
    let operator = latchkey_server::build_service(&app.settings).await.unwrap();
    let account = operator
        .find_account("jane@example.com")
        .await
        .unwrap()
        .unwrap();
    operator
        .disable_account(&account.id, Some("abuse report"))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        app.get("/auth/me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app
        .post_json("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    let login = |password: &'static str| {
        app.post_json(
            "/auth/login",
            None,
            json!({"email": "jane@example.com", "password": password}),
        )
    };
    let disabled = login(PASSWORD).await;
    assert_eq!(disabled.status, StatusCode::FORBIDDEN, "{}", disabled.body);
    assert_eq!(disabled.body["code"], "account_disabled");
    let wrong = login("not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body["code"], "invalid_credentials");

    operator.enable_account(&account.id).await.unwrap().unwrap();
    assert_eq!(login(PASSWORD).await.status, StatusCode::OK);
    assert_eq!(
        app.get("/auth/me", Some(&session)).await.status,
        StatusCode::UNAUTHORIZED,
        "still revoked"
    );
}
