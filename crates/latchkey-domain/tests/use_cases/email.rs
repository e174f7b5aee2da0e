//! Verification by link and by code, resend, forgot and reset password, and the delivery of their emails.

use std::sync::Arc;

use chrono::TimeDelta;
use latchkey_domain::service::{CreateCredentialInput, LoginError, ResendTarget};
use latchkey_domain::{
    AuthError, ChangeEmailError, ChangePasswordError, CredentialError, CredentialKind,
    DeleteAccountError, Delivered, EmailContent, PasswordError, Policies, ResetPasswordError,
    SessionPrincipal, VerificationPolicy, VerifyEmailError,
};

use crate::support::{change, client, credentials, TestApp, PASSWORD};

/// The link's token and the code of the newest verification email to `address`.
async fn verification_to(app: &TestApp, address: &str) -> (String, String) {
    match app.last_email_to(address).await {
        Some(EmailContent::Verification { link, code, .. }) => {
            let (base, token) = link.expose().split_once("?token=").unwrap();
            assert_eq!(base, "http://127.0.0.1:8080/verify-email");
            (token.to_owned(), code.expose().to_owned())
        }
        other => panic!("expected a verification email, got {other:?}"),
    }
}

/// The token of the newest reset email to `address`.
async fn reset_token_to(app: &TestApp, address: &str) -> String {
    match app.last_email_to(address).await {
        Some(EmailContent::PasswordReset { link, valid_for }) => {
            assert_eq!(valid_for, TimeDelta::minutes(15));
            let (base, token) = link.expose().split_once("?token=").unwrap();
            assert_eq!(base, "http://127.0.0.1:8080/reset-password");
            token.to_owned()
        }
        other => panic!("expected a reset email, got {other:?}"),
    }
}

#[tokio::test]
async fn registration_sends_one_email_whose_link_verifies_once() {
    let app = TestApp::new();
    let outcome = app.register("Jane@Example.com", None).await;
    let sent = app.deliver().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "Jane@Example.com");
    let (token, code) = verification_to(&app, "jane@example.com").await;
    assert!(token.starts_with("lkv_"));
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );

    let principal = app.principal(outcome.tokens.as_ref().unwrap()).await;
    assert!(!app.svc.current_user(&principal).await.unwrap().is_verified);
    assert_eq!(
        app.svc.verify_email_link(&token, &client()).await.unwrap(),
        outcome.user.id
    );
    assert!(app.svc.current_user(&principal).await.unwrap().is_verified);
    assert!(matches!(
        app.svc.verify_email_link(&token, &client()).await,
        Err(VerifyEmailError::InvalidToken)
    ));
    assert!(matches!(
        app.svc
            .verify_email_code("jane@example.com", &code, &client())
            .await,
        Err(VerifyEmailError::InvalidCode)
    ));
}

#[tokio::test]
async fn a_code_verifies_and_burns_after_five_wrong_tries() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    app.register("joe@example.com", None).await;
    let (_, jane_code) = verification_to(&app, "jane@example.com").await;
    let (_, joe_code) = verification_to(&app, "joe@example.com").await;
    let wrong = if joe_code == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..VerificationPolicy::DEFAULT_MAX_ATTEMPTS {
        assert!(matches!(
            app.svc
                .verify_email_code("joe@example.com", wrong, &client())
                .await,
            Err(VerifyEmailError::InvalidCode)
        ));
    }
    assert!(
        matches!(
            app.svc
                .verify_email_code("joe@example.com", &joe_code, &client())
                .await,
            Err(VerifyEmailError::InvalidCode)
        ),
        "burnt"
    );
    // Jane's code is untouched by Joe's tries, and the address may be typed in any case.
    app.svc
        .verify_email_code(" JANE@example.com", &jane_code, &client())
        .await
        .unwrap();
    // Malformed codes, unknown addresses: the same answer.
    for (email, code) in [
        ("nobody@example.com", "123456"),
        ("jane@example.com", "12345"),
        ("not an address", "123456"),
    ] {
        assert!(matches!(
            app.svc.verify_email_code(email, code, &client()).await,
            Err(VerifyEmailError::InvalidCode)
        ));
    }
}

#[tokio::test]
async fn links_live_24_hours_and_codes_15_minutes() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    let (token, code) = verification_to(&app, "jane@example.com").await;
    app.advance(TimeDelta::minutes(15));
    assert!(matches!(
        app.svc
            .verify_email_code("jane@example.com", &code, &client())
            .await,
        Err(VerifyEmailError::InvalidCode)
    ));
    app.advance(TimeDelta::hours(23) + TimeDelta::minutes(44));
    app.svc.verify_email_link(&token, &client()).await.unwrap();

    app.register("joe@example.com", None).await;
    let (token, _) = verification_to(&app, "joe@example.com").await;
    app.advance(TimeDelta::hours(24));
    assert!(matches!(
        app.svc.verify_email_link(&token, &client()).await,
        Err(VerifyEmailError::InvalidToken)
    ));
}

#[tokio::test]
async fn resend_sends_at_most_once_a_minute_and_voids_the_older_email() {
    let app = TestApp::new();
    let outcome = app.register("jane@example.com", None).await;
    let (old_token, old_code) = verification_to(&app, "jane@example.com").await;
    app.svc
        .resend_verification(ResendTarget::Address("jane@example.com"), &client())
        .await
        .unwrap();
    assert_eq!(
        app.deliver().await.len(),
        1,
        "within the minute: nothing sent"
    );

    app.advance(TimeDelta::minutes(1));
    let principal = app.principal(outcome.tokens.as_ref().unwrap()).await;
    app.svc
        .resend_verification(ResendTarget::Caller(&principal), &client())
        .await
        .unwrap();
    assert_eq!(app.deliver().await.len(), 2);
    let (token, code) = verification_to(&app, "jane@example.com").await;
    assert_ne!(token, old_token);
    assert!(app
        .svc
        .verify_email_link(&old_token, &client())
        .await
        .is_err());
    if old_code != code {
        assert!(app
            .svc
            .verify_email_code("jane@example.com", &old_code, &client())
            .await
            .is_err());
    }
    app.svc
        .verify_email_code("jane@example.com", &code, &client())
        .await
        .unwrap();

    // Verified, unknown and malformed addresses: the same Ok, and nothing sent.
    app.advance(TimeDelta::minutes(5));
    for address in ["jane@example.com", "nobody@example.com", "nonsense"] {
        app.svc
            .resend_verification(ResendTarget::Address(address), &client())
            .await
            .unwrap();
    }
    assert_eq!(app.deliver().await.len(), 2);
}

#[tokio::test]
async fn when_verification_is_required_login_waits_for_it_but_only_after_the_password() {
    let mut policies = Policies::default();
    policies.verification = VerificationPolicy::default().with_required_for_login(true);
    let app = TestApp::with_policies(policies);
    let outcome = app.register("jane@example.com", None).await;
    assert!(outcome.tokens.is_none(), "no session before verification");
    assert!(matches!(
        app.svc
            .login(credentials("jane@example.com", "wrong password"), client())
            .await,
        Err(LoginError::InvalidCredentials)
    ));
    assert!(matches!(
        app.svc
            .login(credentials("jane@example.com", PASSWORD), client())
            .await,
        Err(LoginError::EmailNotVerified)
    ));
    let (_, code) = verification_to(&app, "jane@example.com").await;
    app.svc
        .verify_email_code("jane@example.com", &code, &client())
        .await
        .unwrap();
    assert!(app.login("jane@example.com").await.user.is_verified);
}

#[tokio::test]
async fn forgot_password_answers_alike_and_mails_only_known_addresses() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    let before = app.deliver().await.len();
    for address in ["nobody@example.com", "not an address", "JANE@example.com"] {
        app.svc.forgot_password(address, &client()).await.unwrap();
    }
    let sent = app.deliver().await;
    assert_eq!(sent.len(), before + 1);
    assert_eq!(sent.last().unwrap().to, "jane@example.com");
    assert_eq!(app.hasher.hashes(), 1, "only the registration hashed");
}

/// Look-alike addresses never reach another's account: a Kelvin sign is refused, a full-width or dotless-i
/// spelling is a mailbox of its own, while NFD and ASCII case are the same mailbox (docs/security.md).
#[tokio::test]
async fn look_alike_addresses_find_no_other_account() {
    use latchkey_domain::service::RegisterError;

    let app = TestApp::new();
    let kate = app.register("kate@example.com", None).await;
    let jose = app.register("Jos\u{E9}@B\u{FC}cher.example", None).await;
    let before = app.deliver().await.len();
    for look_alike in [
        "\u{212A}ate@example.com",
        "\u{FF4B}ate@example.com",
        "k\u{131}te@example.com",
    ] {
        app.svc
            .forgot_password(look_alike, &client())
            .await
            .unwrap();
        let error = app
            .svc
            .login(credentials(look_alike, PASSWORD), client())
            .await
            .unwrap_err();
        assert!(
            matches!(error, LoginError::InvalidCredentials),
            "{look_alike:?}: {error:?}"
        );
    }
    assert_eq!(
        app.deliver().await.len(),
        before,
        "no reset mailed for a look-alike"
    );

    let kelvin = app
        .svc
        .register(
            crate::support::input("\u{212A}ate@example.com", PASSWORD, None),
            client(),
        )
        .await
        .unwrap_err();
    assert!(matches!(kelvin, RegisterError::Invalid(_)), "{kelvin:?}");
    let full_width = app.register("\u{FF4B}ate@example.com", None).await;
    assert_ne!(full_width.user.id, kate.user.id);

    // The same mailbox in NFD, with the domain in punycode and capitals: jose's account, mailed at his spelling.
    let same = "jose\u{301}@XN--BCHER-KVA.example";
    assert_eq!(app.login(same).await.user.id, jose.user.id);
    let taken = app
        .svc
        .register(crate::support::input(same, PASSWORD, None), client())
        .await
        .unwrap_err();
    assert!(matches!(taken, RegisterError::EmailTaken), "{taken:?}");
    app.svc.forgot_password(same, &client()).await.unwrap();
    let sent = app.deliver().await;
    assert_eq!(sent.last().unwrap().to, "Jos\u{E9}@B\u{FC}cher.example");
}

#[tokio::test]
async fn reset_sets_the_password_verifies_and_ends_every_session() {
    let app = TestApp::new();
    let registered = app.register("jane@example.com", None).await;
    let other = app.login("jane@example.com").await;
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let token = reset_token_to(&app, "jane@example.com").await;

    // The policy applies, and a refused password spends nothing.
    let short = app
        .svc
        .reset_password(&token, "short".into(), &client())
        .await;
    assert!(matches!(
        short,
        Err(ResetPasswordError::InvalidNewPassword(
            PasswordError::TooShort { min: 8 }
        ))
    ));
    for (bad, expected) in [
        ("letmein1", PasswordError::Common),
        ("Jane@Example.com", PasswordError::MatchesAccount),
    ] {
        let refused = app.svc.reset_password(&token, bad.into(), &client()).await;
        assert!(
            matches!(&refused, Err(ResetPasswordError::InvalidNewPassword(e)) if *e == expected),
            "{bad}: {refused:?}"
        );
    }
    let hashes = app.hasher.hashes();
    assert!(matches!(
        app.svc
            .reset_password("lkpw_wrong", "a new passphrase".into(), &client())
            .await,
        Err(ResetPasswordError::InvalidToken)
    ));
    assert_eq!(app.hasher.hashes(), hashes, "a bad token costs no hash");

    app.svc
        .reset_password(&token, "a new passphrase".into(), &client())
        .await
        .unwrap();
    for tokens in [registered.tokens.as_ref().unwrap(), &other.tokens] {
        assert!(matches!(
            app.svc.authenticate(tokens.access_token.expose()).await,
            Err(AuthError::InvalidToken)
        ));
        assert!(app
            .svc
            .refresh(tokens.refresh_token.expose(), &client())
            .await
            .is_err());
    }
    assert!(app
        .svc
        .login(credentials("jane@example.com", PASSWORD), client())
        .await
        .is_err());
    let login = app
        .svc
        .login(
            credentials("jane@example.com", "a new passphrase"),
            client(),
        )
        .await
        .unwrap();
    assert!(login.user.is_verified, "the reset proved the mailbox");
    assert!(matches!(
        app.svc
            .reset_password(&token, "another passphrase".into(), &client())
            .await,
        Err(ResetPasswordError::InvalidToken)
    ));
}

#[tokio::test]
async fn reset_links_expire_after_15_minutes_and_a_newer_one_voids_the_older() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let first = reset_token_to(&app, "jane@example.com").await;
    app.advance(TimeDelta::minutes(1));
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let second = reset_token_to(&app, "jane@example.com").await;
    assert_ne!(first, second);
    assert!(matches!(
        app.svc
            .reset_password(&first, "a new passphrase".into(), &client())
            .await,
        Err(ResetPasswordError::InvalidToken)
    ));
    app.advance(TimeDelta::minutes(15));
    assert!(matches!(
        app.svc
            .reset_password(&second, "a new passphrase".into(), &client())
            .await,
        Err(ResetPasswordError::InvalidToken)
    ));
}

#[tokio::test]
async fn an_unverified_squatter_loses_access_when_the_owner_resets() {
    let app = TestApp::new();
    // Someone registers with Jane's address, which they do not control.
    let squatter = app.register("jane@example.com", None).await;
    let squatter_tokens = squatter.tokens.unwrap();
    // Jane, who reads the mailbox, resets the password.
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let token = reset_token_to(&app, "jane@example.com").await;
    app.svc
        .reset_password(&token, "janes own passphrase".into(), &client())
        .await
        .unwrap();
    assert!(app
        .svc
        .authenticate(squatter_tokens.access_token.expose())
        .await
        .is_err());
    assert!(app
        .svc
        .refresh(squatter_tokens.refresh_token.expose(), &client())
        .await
        .is_err());
    assert!(app
        .svc
        .login(credentials("jane@example.com", PASSWORD), client())
        .await
        .is_err());
}

#[tokio::test]
async fn twenty_parallel_resets_with_one_token_admit_exactly_one() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let token = reset_token_to(&app, "jane@example.com").await;
    let svc = Arc::new(app.svc);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let (svc, token) = (svc.clone(), token.clone());
        tasks.spawn(async move {
            svc.reset_password(&token, format!("passphrase number {n}"), &client())
                .await
        });
    }
    let mut succeeded = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.unwrap() {
            Ok(_) => succeeded += 1,
            Err(ResetPasswordError::InvalidToken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(succeeded, 1);
}

#[tokio::test]
async fn delivery_retries_with_backoff_and_gives_up_after_its_tries() {
    let app = TestApp::new();
    assert_eq!(app.delivery.deliver_next().await.unwrap(), Delivered::Idle);
    app.register("jane@example.com", None).await;
    app.mailer.fail_next(2);
    assert_eq!(
        app.delivery.deliver_next().await.unwrap(),
        Delivered::Retrying
    );
    assert_eq!(
        app.delivery.deliver_next().await.unwrap(),
        Delivered::Idle,
        "not due for 30 s"
    );
    app.advance(TimeDelta::seconds(30));
    assert_eq!(
        app.delivery.deliver_next().await.unwrap(),
        Delivered::Retrying
    );
    app.advance(TimeDelta::seconds(59));
    assert_eq!(
        app.delivery.deliver_next().await.unwrap(),
        Delivered::Idle,
        "then 60 s"
    );
    app.advance(TimeDelta::seconds(1));
    assert_eq!(app.delivery.deliver_next().await.unwrap(), Delivered::Sent);
    assert_eq!(app.mailer.sent().len(), 1);

    // A message that keeps failing is given up after eight tries.
    app.register("joe@example.com", None).await;
    app.mailer.fail_next(100);
    let mut outcomes = Vec::new();
    for _ in 0..8 {
        outcomes.push(app.delivery.deliver_next().await.unwrap());
        app.advance(TimeDelta::hours(1));
    }
    assert_eq!(outcomes[..7], [Delivered::Retrying; 7]);
    assert_eq!(outcomes[7], Delivered::GaveUp);
    app.advance(TimeDelta::days(1));
    assert_eq!(app.delivery.deliver_next().await.unwrap(), Delivered::Idle);

    // A refusal for good is not retried.
    app.mailer.fail_next(0);
    app.mailer.reject_all(true);
    app.register("ann@example.com", None).await;
    assert_eq!(
        app.delivery.deliver_next().await.unwrap(),
        Delivered::GaveUp
    );
    app.advance(TimeDelta::days(1));
    assert_eq!(app.delivery.deliver_next().await.unwrap(), Delivered::Idle);
}

#[tokio::test]
async fn sent_emails_are_purged_once_their_retention_has_passed() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    assert_eq!(
        app.deliver().await.len(),
        1,
        "the verification email was sent"
    );
    let retention = latchkey_domain::DeliveryPolicy::FINISHED_RETENTION;

    app.advance(retention - TimeDelta::minutes(1));
    assert_eq!(
        app.delivery.purge_finished().await.unwrap(),
        0,
        "kept for its retention"
    );
    // An email queued now is not finished, so it is never purged, however old.
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    app.advance(TimeDelta::minutes(2));
    assert_eq!(
        app.delivery.purge_finished().await.unwrap(),
        1,
        "then deleted"
    );
    assert_eq!(app.delivery.purge_finished().await.unwrap(), 0);
    app.advance(retention * 4);
    assert_eq!(
        app.delivery.purge_finished().await.unwrap(),
        0,
        "the unsent email stays"
    );
    assert_eq!(app.deliver().await.len(), 2, "and is still delivered");
}

/// The password the owner sets by reset in the tests below, while an intruder who knew the old one is mid-request.
const OWNERS_PASSWORD: &str = "the owner's new passphrase";

/// Jane registers; her session, authenticated now, is what an intruder who knows her password holds.
async fn the_intruders_session(app: &TestApp) -> SessionPrincipal {
    let tokens = app.register("jane@example.com", None).await.tokens.unwrap();
    app.session(&tokens).await
}

/// Jane, the owner, resets her password to [`OWNERS_PASSWORD`] by email.
async fn the_owner_resets(app: &TestApp) {
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let token = reset_token_to(app, "jane@example.com").await;
    app.svc
        .reset_password(&token, OWNERS_PASSWORD.into(), &client())
        .await
        .unwrap();
}

/// Runs `request` (made with jane's session, authenticated before) while the owner resets jane's password during
/// the request's password check, and returns what the request answered.
async fn with_a_reset_during_its_password_check<T>(
    app: &TestApp,
    request: impl std::future::Future<Output = T>,
) -> T {
    let release = app.hasher.hold_next_verify();
    let verifies = app.hasher.verifies();
    let (outcome, ()) = tokio::join!(request, async {
        assert_eq!(
            app.hasher.verifies(),
            verifies + 1,
            "the request is checking the password"
        );
        the_owner_resets(app).await;
        release.send(()).unwrap();
    });
    outcome
}

/// After the reset, only the owner's password logs in.
async fn assert_the_owner_holds_the_account(app: &TestApp, intruders_password: &str) {
    app.svc
        .login(credentials("jane@example.com", OWNERS_PASSWORD), client())
        .await
        .unwrap();
    let error = app
        .svc
        .login(
            credentials("jane@example.com", intruders_password),
            client(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
}

#[tokio::test]
async fn a_reset_wins_over_a_password_change_checking_the_old_password_meanwhile() {
    let app = TestApp::new();
    let intruder = the_intruders_session(&app).await;
    let changed = with_a_reset_during_its_password_check(
        &app,
        app.svc
            .change_password(&intruder, change(PASSWORD, "the intruder's passphrase")),
    )
    .await;
    assert!(
        matches!(changed, Err(ChangePasswordError::AccountGone)),
        "{changed:?}"
    );
    assert_the_owner_holds_the_account(&app, "the intruder's passphrase").await;
}

#[tokio::test]
async fn a_reset_wins_over_an_email_change_checking_the_password_meanwhile() {
    let app = TestApp::new();
    let intruder = the_intruders_session(&app).await;
    let requested = with_a_reset_during_its_password_check(
        &app,
        app.svc
            .request_email_change(&intruder, "intruder@example.org", PASSWORD.to_owned()),
    )
    .await;
    assert!(
        matches!(requested, Err(ChangeEmailError::AccountGone)),
        "{requested:?}"
    );
    assert!(
        app.last_email_to("intruder@example.org").await.is_none(),
        "no confirmation sent"
    );
    assert_the_owner_holds_the_account(&app, PASSWORD).await;
}

#[tokio::test]
async fn a_session_authenticated_before_a_reset_creates_no_credential_after_it() {
    let app = TestApp::new();
    let intruder = the_intruders_session(&app).await;
    the_owner_resets(&app).await;
    for kind in [CredentialKind::PersonalToken, CredentialKind::ApiKey] {
        let input = CreateCredentialInput::new("kept access")
            .expires_at(app.clock_now() + TimeDelta::days(30));
        let created = app.svc.create_credential(&intruder, kind, input).await;
        assert!(
            matches!(created, Err(CredentialError::SessionEnded)),
            "{kind:?}: {created:?}"
        );
    }
}

#[tokio::test]
async fn a_reset_wins_over_a_deletion_checking_the_password_meanwhile() {
    let app = TestApp::new();
    let intruder = the_intruders_session(&app).await;
    let deleted = with_a_reset_during_its_password_check(
        &app,
        app.svc.delete_account(&intruder, PASSWORD.to_owned()),
    )
    .await;
    assert!(
        matches!(deleted, Err(DeleteAccountError::AccountGone)),
        "{deleted:?}"
    );
    assert_the_owner_holds_the_account(&app, PASSWORD).await;
}
