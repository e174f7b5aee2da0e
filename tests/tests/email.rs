//! Email flows end to end: the real application on SQLite and PostgreSQL, its emails delivered over real SMTP to
//! a sink on a free port, whose links and codes the tests follow. No test sleeps for delivery: each waits for the
//! email with a deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use awc::http::StatusCode;
use latchkey_domain::ports::Clock;
use latchkey_domain::{Delivered, DeliveryPolicy, OutboxDelivery};
use latchkey_memory::ManualClock;
use latchkey_smtp::SmtpMailer;
use latchkey_tests::{tokens, Backend, Body, TestApp};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

macro_rules! on_every_backend {
    ($($scenario:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    super::$scenario(super::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $scenario() {
                    super::$scenario(super::Backend::Postgres).await;
                }
            )+
        }
    };
}

on_every_backend!(
    verification_by_link_through_smtp,
    verification_by_code_burns_across_instances,
    forgot_and_reset_through_smtp,
    twenty_parallel_resets_admit_exactly_one,
    an_unverified_squatter_loses_access_to_the_owners_reset,
    required_verification_blocks_login_until_verified,
    an_smtp_outage_fails_no_request_and_loses_no_email,
    an_email_change_through_smtp,
);

/// The token of a link in the text of an email.
fn token_of(link: &str) -> String {
    link.split_once("?token=").unwrap().1.to_owned()
}

async fn verification_by_link_through_smtp(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let registered = app.register("Jane@Example.com", PASSWORD).await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let (access, _) = tokens(&registered.body["token"]);

    let email = app.email_to("jane@example.com", 0).await;
    assert_eq!(email.from, "no-reply@latchkey.test");
    assert_eq!(email.to, ["Jane@Example.com"]);
    let link = email.link("/verify-email").expect("a verification link");
    // Built from the configured public URL (here, by default, the address actually bound).
    assert!(
        link.starts_with(&format!("{}/verify-email?token=lkv_", app.address)),
        "{link}"
    );
    let token = token_of(&link);
    assert!(token.len() >= 26, "{token}");
    assert!(email.code().is_some());
    assert!(email
        .part("text/html")
        .unwrap()
        .contains("Confirm my email address"));

    // The page the link opens shows a button and spends nothing.
    let page = app.get(&link.replacen(&app.address, "", 1), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Verify my email"));
    assert_eq!(page.referrer_policy.as_deref(), Some("no-referrer"));
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.body["is_verified"],
        false
    );

    let verified = app
        .request(
            "POST",
            &format!("/auth/verify-email?token={token}"),
            None,
            None,
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.body["is_verified"],
        true
    );
    let again = app
        .request(
            "POST",
            &format!("/auth/verify-email?token={token}"),
            None,
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body["code"], "invalid_token");
}

async fn verification_by_code_burns_across_instances(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let other = app.another_instance().await;
    app.register("jane@example.com", PASSWORD).await;
    let code = app.email_to("jane@example.com", 0).await.code().unwrap();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    // Five wrong tries, spread over two instances: the count lives in the database.
    for n in 0..5 {
        let instance = if n % 2 == 0 { &app } else { &other };
        let reply = instance
            .post_json(
                "/auth/verify-email",
                None,
                json!({"email": "jane@example.com", "code": wrong}),
            )
            .await;
        assert_eq!(reply.body["code"], "invalid_code");
    }
    let burnt = other
        .post_json(
            "/auth/verify-email",
            None,
            json!({"email": "jane@example.com", "activation_code": code}),
        )
        .await;
    assert_eq!(
        (burnt.status, &burnt.body["code"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_code"))
    );

    // Another account's code, tried on the other instance, works.
    app.register("joe@example.com", PASSWORD).await;
    let code = app.email_to("joe@example.com", 0).await.code().unwrap();
    let ok = other
        .post_json(
            "/auth/verify-email",
            None,
            json!({"email": "JOE@example.com", "activation_code": code}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let resend = app
        .post_json(
            "/auth/resend-verification",
            None,
            json!({"email": "joe@example.com"}),
        )
        .await;
    assert_eq!(resend.status, StatusCode::ACCEPTED);
}

async fn forgot_and_reset_through_smtp(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("jane@example.com", PASSWORD).await;
    let (access, refresh) = app.login("jane@example.com", PASSWORD).await;
    let expires_at = (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339();
    let pat = app
        .post_json(
            "/auth/tokens",
            Some(&access),
            json!({"name": "ci", "expires_at": expires_at}),
        )
        .await;
    assert_eq!(pat.status, StatusCode::CREATED, "{}", pat.body);
    let pat = pat.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/auth/me", Some(&pat)).await.status, StatusCode::OK);
    let known = app
        .post_json(
            "/auth/forgot-password",
            None,
            json!({"email": "jane@example.com"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/auth/forgot-password",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));

    let email = app.email_to("jane@example.com", 1).await;
    assert_eq!(
        email.header("Subject").as_deref(),
        Some("Reset your password")
    );
    let link = email.link("/reset-password").unwrap();
    let token = token_of(&link);
    assert!(token.len() >= 48, "{token}");
    assert!(token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let reset = app
        .post_json(
            "/auth/reset-password",
            None,
            json!({"token": token, "new_password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app
        .post_json("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    let (access, _) = app
        .login("jane@example.com", "a brand new passphrase")
        .await;
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.body["is_verified"],
        true
    );
    assert!(app
        .smtp
        .received()
        .iter()
        .all(|e| !e.to.iter().any(|to| to.contains("nobody"))));
}

async fn twenty_parallel_resets_admit_exactly_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("jane@example.com", PASSWORD).await;
    app.post_json(
        "/auth/forgot-password",
        None,
        json!({"email": "jane@example.com"}),
    )
    .await;
    let token = token_of(
        &app.email_to("jane@example.com", 1)
            .await
            .link("/reset-password")
            .unwrap(),
    );
    let attempts = (0..20).map(|n| {
        let body = json!({"token": token, "new_password": format!("parallel passphrase {n}")});
        let app = &app;
        async move {
            app.post_json("/auth/reset-password", None, body)
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((ok, refused), (1, 19), "{statuses:?}");
}

async fn an_unverified_squatter_loses_access_to_the_owners_reset(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Someone registers with Jane's address, which they do not control, and keeps a session.
    let squatter = app
        .register("jane@example.com", "the squatters password")
        .await;
    let (access, refresh) = tokens(&squatter.body["token"]);
    // Jane, who reads the mailbox, resets the password through the link she receives.
    app.post_json(
        "/auth/forgot-password",
        None,
        json!({"email": "jane@example.com"}),
    )
    .await;
    let token = token_of(
        &app.email_to("jane@example.com", 1)
            .await
            .link("/reset-password")
            .unwrap(),
    );
    let page = app
        .get(&format!("/reset-password?token={token}"), None)
        .await;
    assert!(page.text.contains("<label for=\"new_password\">"));
    let done = app
        .request(
            "POST",
            "/reset-password",
            None,
            Some(Body::Form(vec![
                ("token", &token),
                ("new_password", "janes own passphrase"),
                ("confirm_password", "janes own passphrase"),
            ])),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app
        .post_json("/auth/refresh", None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    let old = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "jane@example.com", "password": "the squatters password"}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    app.login("jane@example.com", "janes own passphrase").await;
}

async fn required_verification_blocks_login_until_verified(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |settings| {
        settings.verification.required_for_login = true;
    })
    .await
    else {
        return;
    };
    let registered = app.register("jane@example.com", PASSWORD).await;
    assert_eq!(registered.status, StatusCode::CREATED);
    assert_eq!(registered.body["token"], json!(null));
    let wrong = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "jane@example.com", "password": "not it at all"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unverified = app
        .post_json(
            "/auth/login",
            None,
            json!({"username": "jane@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(unverified.status, StatusCode::FORBIDDEN);
    assert_eq!(unverified.body["code"], "email_not_verified");
    let code = app.email_to("jane@example.com", 0).await.code().unwrap();
    let verified = app
        .post_json(
            "/auth/verify-email",
            None,
            json!({"email": "jane@example.com", "code": code}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK);
    app.login("jane@example.com", PASSWORD).await;
}

/// With the SMTP server refusing every message, requests still succeed and the email stays in the outbox; once
/// the server accepts again, a delivery step (driven here with a clock past the retry time, on the same database
/// and SMTP server) delivers it.
async fn an_smtp_outage_fails_no_request_and_loses_no_email(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.smtp
        .refuse_with(Some("421 4.3.2 service not available"));
    let registered = app.register("jane@example.com", PASSWORD).await;
    assert_eq!(registered.status, StatusCode::CREATED);
    let forgot = app
        .post_json(
            "/auth/forgot-password",
            None,
            json!({"email": "jane@example.com"}),
        )
        .await;
    assert_eq!(forgot.status, StatusCode::ACCEPTED);
    assert!(app.smtp.received().is_empty());

    app.smtp.refuse_with(None);
    let outbox = outbox_of(&app).await;
    let clock = Arc::new(ManualClock::new(
        chrono::Utc::now() + chrono::TimeDelta::hours(2),
    ));
    let mailer = Arc::new(SmtpMailer::new(&app.smtp.url(), "no-reply@latchkey.test").unwrap());
    let delivery = OutboxDelivery::new(outbox, mailer, clock.clone(), DeliveryPolicy::default());
    let mut sent = 0;
    while sent < 2 {
        match delivery.deliver_next().await.unwrap() {
            Delivered::Sent => sent += 1,
            Delivered::Idle => {
                // The app's own worker may hold one it is retrying; its lease ends within minutes.
                clock.advance(chrono::TimeDelta::minutes(10));
                assert!(
                    clock.now() < chrono::Utc::now() + chrono::TimeDelta::days(1),
                    "never delivered"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let verification = app.email_to("jane@example.com", 0).await;
    let reset = app.email_to("jane@example.com", 1).await;
    let subjects = [
        verification.header("Subject").unwrap(),
        reset.header("Subject").unwrap(),
    ];
    assert!(
        subjects.contains(&"Confirm your email address".to_owned()),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"Reset your password".to_owned()),
        "{subjects:?}"
    );
}

/// The outbox of the app's database, opened beside the app as a second instance would.
async fn outbox_of(app: &TestApp) -> Arc<dyn latchkey_domain::ports::Outbox> {
    let url = app.database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = latchkey_diesel::sqlite::SqliteStore::open(std::path::Path::new(path), 2)
            .await
            .unwrap();
        Arc::new(store)
    } else {
        Arc::new(latchkey_diesel::pg::PgStore::connect(url, 2).await.unwrap())
    }
}

/// An email change: the old address hears of it at once, the new one gets a link (and a code); following the link
/// moves the account, revokes its other sessions, and the old address no longer logs in.
async fn an_email_change_through_smtp(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let registered = app.register("jane@example.com", PASSWORD).await;
    let (asking, _) = tokens(&registered.body["token"]);
    let (other, _) = app.login("jane@example.com", PASSWORD).await;
    let _welcome = app.email_to("jane@example.com", 0).await;
    let bob = app.register("bob@example.com", PASSWORD).await;
    assert_eq!(bob.status, StatusCode::CREATED);

    let change = |new_email: &'static str, password: &'static str| {
        app.post_json(
            "/auth/change-email",
            Some(&asking),
            json!({"new_email": new_email, "password": password}),
        )
    };
    let taken = change("BOB@example.com", PASSWORD).await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    let wrong = change("jane@example.org", "not the password").await;
    assert_eq!(wrong.body["code"], "invalid_password");
    let accepted = change("Jane@Example.org", PASSWORD).await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);

    let notice = app.email_to("jane@example.com", 1).await;
    let text = notice.part("text/plain").unwrap();
    assert!(text.contains("J***@Example.org"), "masked as typed: {text}");
    assert!(
        notice.link("/verify-email").is_none(),
        "the old address gets no link"
    );
    let confirmation = app.email_to("jane@example.org", 0).await;
    assert_eq!(confirmation.to, ["Jane@Example.org"]);
    assert!(confirmation.code().is_some());
    let link = confirmation
        .link("/verify-email")
        .expect("a confirmation link");
    let token = token_of(&link);
    assert!(token.starts_with("lke_"), "{token}");
    assert_eq!(
        app.get("/auth/me", Some(&asking)).await.body["email"],
        "jane@example.com",
        "nothing changes before the new address is verified"
    );

    let confirmed = app
        .request(
            "POST",
            &format!("/auth/verify-email?token={token}"),
            None,
            None,
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let me = app.get("/auth/me", Some(&asking)).await;
    assert_eq!(me.body["email"], "Jane@Example.org");
    assert_eq!(me.body["is_verified"], true);
    assert_eq!(
        app.get("/auth/me", Some(&other)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let old = app
        .post_json(
            "/auth/login",
            None,
            json!({"email": "jane@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    app.login("jane@example.org", PASSWORD).await;
}
