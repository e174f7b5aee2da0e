//! `GET /metrics`: what Prometheus scrapes.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use latchkey_http::{HttpConfig, Metrics};

use crate::support::{spawn, spawn_with};

async fn scrape(app: &crate::support::TestApp) -> String {
    let reply = app.send(TestRequest::get().uri("/metrics")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header(actix_web::http::header::CONTENT_TYPE)
            .is_some_and(|value| value.starts_with("application/openmetrics-text")),
        "{:?}",
        reply.header(actix_web::http::header::CONTENT_TYPE)
    );
    String::from_utf8(reply.body.to_vec()).unwrap()
}

#[actix_web::test]
async fn requests_are_counted_by_route_pattern_and_status() {
    let app = spawn_with(HttpConfig {
        metrics: Some(Arc::new(Metrics::new())),
        ..HttpConfig::default()
    })
    .await;
    for _ in 0..2 {
        app.send(TestRequest::get().uri("/healthz")).await;
    }
    let unauthenticated = app
        .send(TestRequest::delete().uri("/api/v1/auth/keys/key_0123"))
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    app.send(TestRequest::get().uri("/no/such/path/4711")).await;

    let text = scrape(&app).await;
    assert!(
        text.contains(
            r#"latchkey_http_requests_total{method="GET",route="/healthz",status="200"} 2"#
        ),
        "{text}"
    );
    // The pattern, not the id in the path; the unknown path under one label, not its own.
    assert!(
        text.contains(r#"{method="DELETE",route="/api/v1/auth/keys/{id}",status="401"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains("key_0123") && !text.contains("4711"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"latchkey_http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#
        ),
        "{text}"
    );
}

#[actix_web::test]
async fn without_metrics_the_endpoint_is_not_found() {
    let app = spawn().await;
    let reply = app.send(TestRequest::get().uri("/metrics")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.json()["code"], "not_found");
}
