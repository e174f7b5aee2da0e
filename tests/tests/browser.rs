//! The verification and reset pages in real headless Chromium, opened from the links of emails delivered over
//! SMTP, on SQLite and on PostgreSQL. Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them);
//! skipped without them, except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use awc::http::StatusCode;
use latchkey_tests::browser::Browser;
use latchkey_tests::{tokens, Backend, TestApp};

const PASSWORD: &str = "correct horse battery";

#[actix_web::test]
async fn sqlite_pages_in_a_browser() {
    pages_in_a_browser(Backend::Sqlite).await;
}

#[actix_web::test]
async fn postgres_pages_in_a_browser() {
    pages_in_a_browser(Backend::Postgres).await;
}

async fn pages_in_a_browser(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::launch().await else {
        return;
    };
    let registered = app.register("jane@example.com", PASSWORD).await;
    let (access, _) = tokens(&registered.body["token"]);

    // Verification: open the emailed link, see a button (nothing spent yet), press it, see the address verified.
    let link = app
        .email_to("jane@example.com", 0)
        .await
        .link("/verify-email")
        .unwrap();
    browser.open(&link).await;
    assert!(browser
        .main_text()
        .await
        .contains("Verify your email address"));
    // The stylesheet loaded under the page's Content-Security-Policy.
    assert_eq!(
        browser.css(&browser.find("body").await, "max-width").await,
        "448px"
    );
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.body["is_verified"],
        false
    );
    let button = browser.find("button[type=submit]").await;
    assert_eq!(browser.text(&button).await, "Verify my email");
    browser.click(&button).await;
    let shown = browser.main_text().await;
    assert!(shown.contains("Your email address is verified"), "{shown}");
    assert!(
        !browser.url().await.contains("token"),
        "the token left the address bar"
    );
    assert_eq!(
        app.get("/auth/me", Some(&access)).await.body["is_verified"],
        true
    );

    // The same link again: expired or used, with an offer to resend.
    browser.open(&link).await;
    browser
        .click(&browser.find("button[type=submit]").await)
        .await;
    let shown = browser.main_text().await;
    assert!(shown.contains("expired or was already used"), "{shown}");
    let email_field = browser.field_labelled("Your email address").await;
    browser.type_into(&email_field, "jane@example.com").await;
    browser
        .click(&browser.find("button[type=submit]").await)
        .await;
    assert!(browser
        .main_text()
        .await
        .contains("a new verification email is on its way"));

    // Reset: ask for a link, open it, type a new password twice, and log in with it.
    let forgot = app
        .post_json(
            "/auth/forgot-password",
            None,
            serde_json::json!({"email": "jane@example.com"}),
        )
        .await;
    assert_eq!(forgot.status, StatusCode::ACCEPTED);
    let link = app
        .email_to("jane@example.com", 1)
        .await
        .link("/reset-password")
        .unwrap();
    browser.open(&link).await;
    assert!(browser.main_text().await.contains("Choose a new password"));
    let new = browser.field_labelled("New password").await;
    let again = browser.field_labelled("New password, again").await;
    browser
        .type_into(&new, "a passphrase from the browser")
        .await;
    browser
        .type_into(&again, "a passphrase from the browser")
        .await;
    browser
        .click(&browser.find("button[type=submit]").await)
        .await;
    let shown = browser.main_text().await;
    assert!(shown.contains("Your password is changed"), "{shown}");
    if let Ok(path) = std::env::var("LATCHKEY_SCREENSHOT") {
        std::fs::write(path, browser.screenshot().await).unwrap();
    }

    assert_eq!(
        app.get("/auth/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
    app.login("jane@example.com", "a passphrase from the browser")
        .await;
}
