//! Credits end to end over HTTP, each scenario on a fresh SQLite file and a fresh PostgreSQL database: charges that
//! never overdraw under concurrency, one charge per idempotency key, refunds, the ledger, welcome credits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use awc::http::StatusCode;
use futures_util::future::join_all;
use latchkey_tests::{Backend, Body, Reply, TestApp};
use serde_json::{json, Value};

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
    a_thousand_concurrent_charges_leave_exactly_what_the_balance_allowed,
    twenty_concurrent_requests_with_one_key_charge_once_and_answer_alike,
    charges_refunds_and_the_ledger_end_to_end,
);

const CHARGES: &str = "/api/v1/credits/charges";

async fn signed_in(app: &TestApp) -> String {
    let registered = app
        .register("jane@example.com", "correct horse battery")
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    registered.body["token"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn charge(app: &TestApp, token: &str, key: impl AsRef<str>, body: Value) -> Reply {
    let bearer = format!("Bearer {token}");
    app.request_with_headers(
        "POST",
        CHARGES,
        &[
            ("Authorization", &bearer),
            ("Idempotency-Key", key.as_ref()),
        ],
        Some(Body::Json(body)),
    )
    .await
}

async fn ledger(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app
        .get("/api/v1/credits/ledger?limit=100", Some(token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["entries"].as_array().unwrap().clone()
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    app.get("/auth/credits", Some(token)).await.body["credits"]
        .as_i64()
        .unwrap()
}

/// 1000 welcome credits, 10 per second of video: room for exactly 100 of 1000 concurrent charges.
async fn a_thousand_concurrent_charges_leave_exactly_what_the_balance_allowed(app: &TestApp) {
    let token = signed_in(app).await;
    let video = json!({"unit": "second_video", "quantity": 1});
    let replies =
        join_all((0..1000).map(|n| charge(app, &token, format!("k{n}"), video.clone()))).await;
    let mut charged = 0;
    for reply in &replies {
        match reply.status {
            StatusCode::CREATED => charged += 1,
            StatusCode::PAYMENT_REQUIRED => assert_eq!(reply.body["code"], "insufficient_credits"),
            other => panic!("unexpected {other}: {}", reply.body),
        }
    }
    assert_eq!(charged, 100);
    assert_eq!(balance(app, &token).await, 0);
    let mut entries = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(
                &format!("/api/v1/credits/ledger?limit=100&cursor={cursor}"),
                Some(&token),
            )
            .await
            .body;
        entries.extend(page["entries"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(entries.len(), 101);
    assert_eq!(
        entries
            .iter()
            .map(|e| e["amount"].as_i64().unwrap())
            .sum::<i64>(),
        0,
        "balance == sum(ledger)"
    );
    assert_eq!(entries.last().unwrap()["kind"], "welcome");
}

async fn twenty_concurrent_requests_with_one_key_charge_once_and_answer_alike(app: &TestApp) {
    let token = signed_in(app).await;
    let photo = json!({"unit": "photo", "quantity": 3});
    let replies =
        join_all((0..20).map(|_| charge(app, &token, "the-same-key", photo.clone()))).await;
    for reply in &replies {
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert_eq!(
            reply.text, replies[0].text,
            "every answer is the one charge"
        );
    }
    let replayed = replies
        .iter()
        .filter(|reply| {
            reply
                .headers
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true")
        })
        .count();
    assert_eq!(replayed, 19);
    assert_eq!(balance(app, &token).await, 700);
    assert_eq!(ledger(app, &token).await.len(), 2);
    // Another instance on the same database knows the key too.
    let other = app.another_instance().await;
    let again = charge(&other, &token, "the-same-key", photo).await;
    assert_eq!(again.text, replies[0].text);
}

async fn charges_refunds_and_the_ledger_end_to_end(app: &TestApp) {
    let token = signed_in(app).await;
    let made = charge(
        app,
        &token,
        "order-1",
        json!({"unit": "photo", "quantity": 2}),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.body["id"].as_str().unwrap();
    let other_body = charge(
        app,
        &token,
        "order-1",
        json!({"unit": "photo", "quantity": 1}),
    )
    .await;
    assert_eq!(
        other_body.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other_body.body
    );
    let too_much = charge(
        app,
        &token,
        "order-2",
        json!({"unit": "photo", "quantity": 9}),
    )
    .await;
    assert_eq!(too_much.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(
        (
            too_much.body["credits"].as_i64(),
            too_much.body["required"].as_i64()
        ),
        (Some(800), Some(900))
    );
    let missing = app
        .post_json(
            CHARGES,
            Some(&token),
            json!({"unit": "photo", "quantity": 1}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["code"], "idempotency_key_required");

    let refund = app
        .post_json(&format!("{CHARGES}/{id}/refund"), Some(&token), json!({}))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.body);
    let again = app
        .post_json(&format!("{CHARGES}/{id}/refund"), Some(&token), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["code"], "charge_already_refunded");

    let entries = ledger(app, &token).await;
    let kinds: Vec<_> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["refund", "charge", "welcome"]);
    assert_eq!(entries[0]["charge_id"], id);
    assert_eq!(balance(app, &token).await, 1000);
    let events = app.get("/auth/events", Some(&token)).await.body;
    assert!(events["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "charge_refunded" && e["subject"] == id));
}

#[actix_web::test]
async fn welcome_credits_wait_for_the_first_verification_when_configured() {
    let app = TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.credits.welcome_on = latchkey_server::settings::WelcomeOnSetting::Verification;
    })
    .await
    .unwrap();
    let token = signed_in(&app).await;
    assert_eq!(balance(&app, &token).await, 0);
    assert!(ledger(&app, &token).await.is_empty());
    let code = app.email_to("jane@example.com", 0).await.code().unwrap();
    let verify = |code: String| {
        app.post_json(
            "/auth/verify-email",
            None,
            json!({"email": "jane@example.com", "code": code}),
        )
    };
    assert_eq!(verify(code.clone()).await.status, StatusCode::OK);
    assert_eq!(balance(&app, &token).await, 1000);
    assert_eq!(
        verify(code).await.status,
        StatusCode::BAD_REQUEST,
        "a code verifies once"
    );
    let entries = ledger(&app, &token).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "welcome");
}
