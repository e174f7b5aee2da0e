use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::Value;

use crate::support::{access_token, api, bearer, keys, spawn};

#[actix_web::test]
async fn sessions_list_marks_the_current_session() {
    let app = spawn().await;
    let phone = app.register("jane@example.com", None).await;
    let laptop = app
        .send(
            TestRequest::post()
                .uri(&api("/auth/login"))
                .insert_header(("User-Agent", "Laptop/2.0"))
                .peer_addr("198.51.100.4:50000".parse().unwrap())
                .set_form([
                    ("username", "jane@example.com"),
                    ("password", crate::support::PASSWORD),
                ]),
        )
        .await
        .json();

    let reply = app.get_with("/auth/sessions", &access_token(&laptop)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let sessions = reply.json();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for session in sessions {
        assert_eq!(
            keys(session),
            [
                "created_at",
                "current",
                "expires_at",
                "id",
                "ip",
                "last_used_at",
                "user_agent"
            ]
        );
        assert!(session["id"].as_str().unwrap().starts_with("ses_"));
    }
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "Laptop/2.0");
    assert_eq!(current[0]["ip"], "198.51.100.4");

    // Seen from the other session, the other one is current.
    let from_phone = app
        .get_with("/auth/sessions", &access_token(&phone))
        .await
        .json();
    let current_from_phone: Vec<&Value> = from_phone
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(current_from_phone.len(), 1);
    assert_ne!(current_from_phone[0]["id"], current[0]["id"]);
}

#[actix_web::test]
async fn deleting_a_session_is_204_and_its_token_is_refused() {
    let app = spawn().await;
    let phone = app.register("jane@example.com", None).await;
    let laptop = app.login("jane@example.com").await;
    let sessions = app
        .get_with("/auth/sessions", &access_token(&laptop))
        .await
        .json();
    let phone_session = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let delete = || {
        TestRequest::delete()
            .uri(&api(&format!("/auth/sessions/{phone_session}")))
            .insert_header(bearer(&access_token(&laptop)))
    };
    let reply = app.send(delete()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());

    app.get_with("/auth/me", &access_token(&phone))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_token");
    let remaining = app
        .get_with("/auth/sessions", &access_token(&laptop))
        .await
        .json();
    assert_eq!(remaining.as_array().unwrap().len(), 1);

    // Gone now: a second delete is 404.
    app.send(delete())
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[actix_web::test]
async fn deleting_another_users_session_is_404() {
    let app = spawn().await;
    let jane = app.register("jane@example.com", None).await;
    let joe = app.register("joe@example.com", None).await;
    let joe_sessions = app
        .get_with("/auth/sessions", &access_token(&joe))
        .await
        .json();
    let joe_session = joe_sessions[0]["id"].as_str().unwrap();

    app.send(
        TestRequest::delete()
            .uri(&api(&format!("/auth/sessions/{joe_session}")))
            .insert_header(bearer(&access_token(&jane))),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        app.get_with("/auth/me", &access_token(&joe)).await.status,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn a_malformed_session_id_is_404() {
    let app = spawn().await;
    let token = access_token(&app.register("jane@example.com", None).await);
    for id in ["not-a-session", "usr_0000000001", "ses_", "ses_a%2Fb"] {
        app.send(
            TestRequest::delete()
                .uri(&api(&format!("/auth/sessions/{id}")))
                .insert_header(bearer(&token)),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    }
}

#[actix_web::test]
async fn sessions_need_a_token() {
    let app = spawn().await;
    app.send(TestRequest::get().uri(&api("/auth/sessions")))
        .await
        .assert_unauthorized("not_authenticated", "Not authenticated", "Bearer");
    app.send(TestRequest::delete().uri(&api("/auth/sessions/ses_abc")))
        .await
        .assert_unauthorized("not_authenticated", "Not authenticated", "Bearer");
}
