//! The SMTP mailer against a real SMTP server (the test sink) on a free local port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use latchkey_domain::ports::{MailError, Mailer};
use latchkey_domain::{ClaimedEmail, EmailContent, EmailId, PlainSecret};
use latchkey_smtp::test_support::SmtpSink;
use latchkey_smtp::{LogMailer, SmtpMailer};

const DEADLINE: Duration = Duration::from_secs(10);

fn verification_email(to: &str) -> ClaimedEmail {
    let link = format!(
        "http://127.0.0.1:8080/verify-email?token=lkv_{}",
        "A-b_c".repeat(10)
    );
    ClaimedEmail::new(
        EmailId::from_random("test1"),
        to.to_owned(),
        EmailContent::Verification {
            link: PlainSecret::new(link),
            code: PlainSecret::new("012345"),
            link_valid_for: TimeDelta::hours(24),
            code_valid_for: TimeDelta::minutes(15),
        },
        1,
        Utc::now(),
    )
}

#[tokio::test]
async fn an_email_arrives_with_a_text_and_an_html_part() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = SmtpMailer::new(&sink.url(), "Latchkey <no-reply@example.com>").unwrap();
    mailer
        .send(&verification_email("Jane@Example.com"))
        .await
        .unwrap();
    let email = sink.wait_for("jane@example.com", 0, DEADLINE).await;
    assert_eq!(email.from, "no-reply@example.com");
    assert_eq!(
        email.header("Subject").as_deref(),
        Some("Confirm your email address")
    );
    assert!(email
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    let link = email.link("/verify-email").unwrap();
    assert_eq!(
        link,
        format!(
            "http://127.0.0.1:8080/verify-email?token=lkv_{}",
            "A-b_c".repeat(10)
        )
    );
    assert_eq!(email.code().as_deref(), Some("012345"));
    let html = email.part("text/html").unwrap();
    assert!(
        html.contains("012345")
            && html.contains("href=\"http://127.0.0.1:8080/verify-email?token=")
    );
}

#[tokio::test]
async fn temporary_and_permanent_refusals_are_told_apart() {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = SmtpMailer::new(&sink.url(), "no-reply@example.com").unwrap();
    sink.refuse_with(Some("451 4.3.0 try again later"));
    assert!(matches!(
        mailer.send(&verification_email("jane@example.com")).await,
        Err(MailError::Unavailable(_))
    ));
    sink.refuse_with(Some("550 5.7.1 not here"));
    assert!(matches!(
        mailer.send(&verification_email("jane@example.com")).await,
        Err(MailError::Rejected(_))
    ));
    sink.refuse_with(None);
    mailer
        .send(&verification_email("jane@example.com"))
        .await
        .unwrap();
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_worth_a_retry() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer =
        SmtpMailer::new(&format!("smtp://127.0.0.1:{port}"), "no-reply@example.com").unwrap();
    assert!(matches!(
        mailer.send(&verification_email("jane@example.com")).await,
        Err(MailError::Unavailable(_))
    ));
}

#[tokio::test]
async fn the_log_transport_accepts_everything() {
    LogMailer::new()
        .send(&verification_email("jane@example.com"))
        .await
        .unwrap();
}
