use actix_web::http::{header, StatusCode};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::support::{access_token, api, bearer, keys, spawn, Reply, TestApp};

async fn signed_in() -> (TestApp, String) {
    let app = spawn().await;
    let registered = app.register("jane@example.com", None).await;
    let token = access_token(&registered);
    (app, token)
}

async fn charge(app: &TestApp, token: &str, key: Option<&str>, body: Value) -> Reply {
    let mut request = TestRequest::post()
        .uri(&api("/credits/charges"))
        .insert_header(bearer(token))
        .set_json(body);
    if let Some(key) = key {
        request = request.insert_header(("Idempotency-Key", key.to_owned()));
    }
    app.send(request).await
}

#[actix_web::test]
async fn a_charge_answers_201_and_its_key_replays_the_same_body() {
    let (app, token) = signed_in().await;
    let first = charge(
        &app,
        &token,
        Some("order-1"),
        json!({"unit": "photo", "quantity": 2}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(
        first.header(header::HeaderName::from_static("idempotent-replayed")),
        None
    );
    let body = first.json();
    assert_eq!(
        keys(&body),
        ["charged", "created_at", "credits", "id", "quantity", "unit"]
    );
    assert_eq!(
        (body["charged"].as_i64(), body["credits"].as_i64()),
        (Some(200), Some(800))
    );
    assert!(body["id"].as_str().unwrap().starts_with("chg_"));

    // Key order and spacing are not part of the request's identity.
    let replay = app
        .send(
            TestRequest::post()
                .uri(&api("/credits/charges"))
                .insert_header(bearer(&token))
                .insert_header(("Idempotency-Key", "order-1"))
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{ \"quantity\" : 2 , \"unit\" : \"photo\" }"),
        )
        .await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(
        replay.header(header::HeaderName::from_static("idempotent-replayed")),
        Some("true")
    );
    assert_eq!(replay.body, first.body, "byte for byte the stored answer");

    let other = charge(
        &app,
        &token,
        Some("order-1"),
        json!({"unit": "photo", "quantity": 3}),
    )
    .await;
    other.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    let credits = app.get_with("/auth/credits", &token).await.json();
    assert_eq!(credits["credits"], 800);
}

#[actix_web::test]
async fn bad_charges_are_400_with_the_envelope_and_store_nothing() {
    let (app, token) = signed_in().await;
    let photo = json!({"unit": "photo", "quantity": 1});
    charge(&app, &token, None, photo.clone())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "idempotency_key_required");
    charge(&app, &token, Some(""), photo.clone())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "idempotency_key_required");
    charge(&app, &token, Some(&"k".repeat(256)), photo.clone())
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    let non_ascii = app
        .send(
            TestRequest::post()
                .uri(&api("/credits/charges"))
                .insert_header(bearer(&token))
                .insert_header((
                    "Idempotency-Key",
                    header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
                ))
                .set_json(photo.clone()),
        )
        .await;
    non_ascii.assert_error(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    for (body, field) in [
        (json!({"unit": "gold", "quantity": 1}), "unit"),
        (json!({"unit": "photo", "quantity": 0}), "quantity"),
        (json!({"unit": "photo", "quantity": -5}), "quantity"),
        (
            json!({"unit": "photo", "quantity": 92_233_720_368_547_758_i64}),
            "quantity",
        ),
    ] {
        let reply = charge(&app, &token, Some("k"), body).await;
        let error = reply.assert_error(StatusCode::BAD_REQUEST, "validation_error");
        assert_eq!(error["errors"][0]["field"], field, "{error}");
    }
    for body in [
        json!({"unit": "photo", "quantity": 1.5}),
        json!({"unit": "photo", "quantity": "1"}),
        json!({"unit": "photo"}),
        json!({"unit": "photo", "quantity": 1, "extra": true}),
    ] {
        charge(&app, &token, Some("k"), body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Nothing was stored under "k": it charges now.
    assert_eq!(
        charge(&app, &token, Some("k"), photo).await.status,
        StatusCode::CREATED
    );
}

#[actix_web::test]
async fn an_insufficient_balance_is_402_with_the_balance_and_the_price() {
    let (app, token) = signed_in().await;
    let reply = charge(
        &app,
        &token,
        Some("big"),
        json!({"unit": "photo", "quantity": 11}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PAYMENT_REQUIRED);
    let body = reply.json();
    assert_eq!(keys(&body), ["code", "credits", "detail", "required"]);
    assert_eq!(body["code"], "insufficient_credits");
    assert_eq!(
        (body["credits"].as_i64(), body["required"].as_i64()),
        (Some(1000), Some(1100))
    );
    assert_eq!(
        app.get_with("/auth/credits", &token).await.json()["credits"],
        1000
    );
}

#[actix_web::test]
async fn a_refund_is_201_once_then_409_and_404_for_unknown_charges() {
    let (app, token) = signed_in().await;
    let made = charge(
        &app,
        &token,
        Some("k"),
        json!({"unit": "second_video", "quantity": 30}),
    )
    .await
    .json();
    let id = made["id"].as_str().unwrap();
    let refund = app
        .post_with(&format!("/credits/charges/{id}/refund"), &token, json!({}))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{:?}", refund.body);
    let entry = refund.json();
    assert_eq!(entry["kind"], "refund");
    assert_eq!(
        (entry["amount"].as_i64(), entry["balance_after"].as_i64()),
        (Some(300), Some(1000))
    );
    assert_eq!(entry["charge_id"], id);
    app.post_with(&format!("/credits/charges/{id}/refund"), &token, json!({}))
        .await
        .assert_error(StatusCode::CONFLICT, "charge_already_refunded");
    app.post_with("/credits/charges/chg_unknown/refund", &token, json!({}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.post_with("/credits/charges/%20/refund", &token, json!({}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn the_ledger_pages_newest_first_with_every_field() {
    let (app, token) = signed_in().await;
    for n in 0..3 {
        charge(
            &app,
            &token,
            Some(&format!("k{n}")),
            json!({"unit": "photo", "quantity": 1}),
        )
        .await;
    }
    let page = app.get_with("/credits/ledger?limit=2", &token).await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.json();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        keys(&entries[0]),
        [
            "amount",
            "balance_after",
            "charge_id",
            "created_at",
            "id",
            "kind",
            "quantity",
            "reason",
            "unit"
        ]
    );
    assert_eq!(
        (
            entries[0]["kind"].as_str(),
            entries[0]["amount"].as_i64(),
            entries[0]["balance_after"].as_i64()
        ),
        (Some("charge"), Some(-100), Some(700))
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_with(&format!("/credits/ledger?limit=2&cursor={cursor}"), &token)
        .await
        .json();
    let rest = rest["entries"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1]["kind"], "welcome");
    assert_eq!(rest[1]["charge_id"], Value::Null);
    assert_eq!(
        app.get_with("/credits/ledger?cursor=", &token).await.status,
        StatusCode::OK
    );
    for query in ["limit=0", "limit=101", "cursor=abc", "cursor=-1", "limit=x"] {
        let reply = app
            .get_with(&format!("/credits/ledger?{query}"), &token)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[actix_web::test]
async fn an_api_key_charges_with_credits_charge_and_reads_with_credits_read() {
    let (app, token) = signed_in().await;
    let key = app
        .post_with(
            "/auth/keys",
            &token,
            json!({"name": "meter", "scopes": ["credits:charge"]}),
        )
        .await
        .json();
    let key = key["api_key"].as_str().unwrap().to_owned();
    let with_key = |request: TestRequest| request.insert_header(("X-API-Key", key.clone()));
    let charged = app
        .send(with_key(
            TestRequest::post()
                .uri(&api("/credits/charges"))
                .insert_header(("Idempotency-Key", "m1"))
                .set_json(json!({"unit": "photo", "quantity": 1})),
        ))
        .await;
    assert_eq!(charged.status, StatusCode::CREATED, "{:?}", charged.body);
    let ledger = app
        .send(with_key(TestRequest::get().uri(&api("/credits/ledger"))))
        .await;
    ledger.assert_error(StatusCode::FORBIDDEN, "insufficient_scope");
    let unauthenticated = app
        .send(
            TestRequest::post()
                .uri(&api("/credits/charges"))
                .set_json(json!({"unit": "photo", "quantity": 1})),
        )
        .await;
    unauthenticated.assert_error(StatusCode::UNAUTHORIZED, "not_authenticated");
}
