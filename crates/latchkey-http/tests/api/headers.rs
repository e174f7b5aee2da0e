//! The security headers every response carries, and CORS for the configured origins only.

use actix_web::http::header::{self, ContentType};
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use latchkey_http::CorsOrigins;
use serde_json::json;

use crate::support::{
    access_token, api, bearer, spawn, spawn_wrapped, Reply, TestApp, Wrapping, PASSWORD,
};

/// A request of each kind of response: success with a token, success without, the envelope from a handler, from
/// an extractor, from the fallback (404, 405), from the middleware (415), the document and a page.
async fn every_kind_of_response(app: &TestApp) -> Vec<(&'static str, Reply)> {
    let registered = app.register("jane@example.com", None).await;
    let token = access_token(&registered);
    vec![
        (
            "login",
            app.post_json(
                "/auth/login",
                json!({"username": "jane@example.com", "password": PASSWORD}),
            )
            .await,
        ),
        ("me", app.get_with("/auth/me", &token).await),
        ("invalid token", app.get_with("/auth/me", "garbage").await),
        (
            "malformed JSON",
            app.send(
                TestRequest::post()
                    .uri(&api("/auth/login"))
                    .insert_header(ContentType::json())
                    .set_payload("{"),
            )
            .await,
        ),
        (
            "unknown path",
            app.send(TestRequest::get().uri("/nope")).await,
        ),
        (
            "wrong method",
            app.send(TestRequest::delete().uri(&api("/auth/login")))
                .await,
        ),
        (
            "gzip body",
            app.send(
                TestRequest::post()
                    .uri(&api("/auth/login"))
                    .insert_header((header::CONTENT_ENCODING, "gzip"))
                    .set_payload("x"),
            )
            .await,
        ),
        (
            "document",
            app.send(TestRequest::get().uri(&api("/openapi.json")))
                .await,
        ),
        ("health", app.send(TestRequest::get().uri("/healthz")).await),
        (
            "page",
            app.send(TestRequest::get().uri("/reset-password?token=x"))
                .await,
        ),
        (
            "credentials with a secret",
            app.send(
                TestRequest::post()
                    .uri(&api("/auth/keys"))
                    .insert_header(bearer(&token))
                    .set_json(json!({"name": "ci"})),
            )
            .await,
        ),
    ]
}

#[actix_web::test]
async fn every_response_is_no_store_and_nosniff_and_without_hsts_over_http() {
    let app = spawn().await;
    for (what, reply) in every_kind_of_response(&app).await {
        assert_eq!(
            reply.header(header::CACHE_CONTROL),
            Some("no-store"),
            "{what}"
        );
        assert_eq!(
            reply.header(header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            reply.header(header::STRICT_TRANSPORT_SECURITY),
            None,
            "{what}"
        );
        assert_eq!(
            reply.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            None,
            "{what}"
        );
    }
    // A static asset keeps the caching its handler chose.
    let stylesheet = app
        .send(TestRequest::get().uri("/assets/latchkey.css"))
        .await;
    assert_eq!(
        stylesheet.header(header::CACHE_CONTROL),
        Some("max-age=3600")
    );
    assert_eq!(
        stylesheet.header(header::X_CONTENT_TYPE_OPTIONS),
        Some("nosniff")
    );
}

#[actix_web::test]
async fn over_https_every_response_carries_hsts() {
    let app = spawn_wrapped(Wrapping {
        https: true,
        ..Wrapping::default()
    })
    .await;
    for (what, reply) in every_kind_of_response(&app).await {
        assert_eq!(
            reply.header(header::STRICT_TRANSPORT_SECURITY),
            Some("max-age=31536000"),
            "{what}"
        );
        assert_eq!(
            reply.header(header::CACHE_CONTROL),
            Some("no-store"),
            "{what}"
        );
    }
}

fn preflight(origin: &str) -> TestRequest {
    TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri(&api("/auth/me"))
        .insert_header((header::ORIGIN, origin))
        .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "GET"))
        .insert_header((header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization"))
}

#[actix_web::test]
async fn cors_is_off_by_default() {
    let app = spawn().await;
    let reply = app.send(preflight("https://app.example.com")).await;
    assert_eq!(reply.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
    let reply = app
        .send(
            TestRequest::get()
                .uri("/healthz")
                .insert_header((header::ORIGIN, "https://app.example.com")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), None);
}

#[actix_web::test]
async fn cors_admits_the_configured_origins_only() {
    let app = spawn_wrapped(Wrapping {
        cors: CorsOrigins::parse(&["https://app.example.com"]).unwrap(),
        ..Wrapping::default()
    })
    .await;
    let allowed = app.send(preflight("https://app.example.com")).await;
    assert!(allowed.status.is_success(), "{:?}", allowed);
    assert_eq!(
        allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("https://app.example.com")
    );
    let methods = allowed
        .header(header::ACCESS_CONTROL_ALLOW_METHODS)
        .unwrap();
    assert!(methods.contains("GET"), "{methods}");
    assert_eq!(
        allowed.header(header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        None,
        "no credentials mode: the API takes no cookies"
    );

    let token = access_token(&app.register("jane@example.com", None).await);
    let me = app
        .send(
            TestRequest::get()
                .uri(&api("/auth/me"))
                .insert_header(bearer(&token))
                .insert_header((header::ORIGIN, "https://app.example.com")),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(
        me.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("https://app.example.com")
    );
    assert_eq!(me.header(header::CACHE_CONTROL), Some("no-store"));

    for origin in [
        "https://evil.example",
        "https://app.example.com.evil.example",
    ] {
        let refused = app.send(preflight(origin)).await;
        assert_eq!(
            refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            None,
            "{origin}"
        );
        // Answered (a same-origin request carries no Origin to check), but without the header a browser needs to
        // hand the answer to another site's page.
        let refused = app
            .send(
                TestRequest::get()
                    .uri(&api("/auth/me"))
                    .insert_header(bearer(&token))
                    .insert_header((header::ORIGIN, origin)),
            )
            .await;
        assert_eq!(
            refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
            None,
            "{origin}"
        );
    }
}

/// HEAD is answered wherever GET is, with GET's status (RFC 9110 §9.3.2; load balancers probe this way), and is
/// refused with 405 where only other methods are served, naming the method sent.
#[actix_web::test]
async fn head_is_answered_wherever_get_is() {
    let app = spawn().await;
    let health = app
        .send(TestRequest::default().method(Method::HEAD).uri("/healthz"))
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let me = app
        .send(
            TestRequest::default()
                .method(Method::HEAD)
                .uri("/api/v1/auth/me"),
        )
        .await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "as a GET without a token"
    );
    let login = app
        .send(
            TestRequest::default()
                .method(Method::HEAD)
                .uri("/api/v1/auth/login"),
        )
        .await;
    login.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(login.header(header::ALLOW), Some("POST"));
    assert_eq!(login.json()["detail"], "Method HEAD is not allowed here");
}
