//! Rate limits: what each counts, that they are decided before any hashing, that they answer alike for known and
//! unknown accounts, and that an attacker cannot lock an owner out from an address the owner used before.

use std::sync::Arc;

use chrono::TimeDelta;
use latchkey_domain::ports::{EventLog, EventQuery, SessionRepository};
use latchkey_domain::service::{LatchkeyBuilder, ResendTarget};
use latchkey_domain::{
    ChangeEmailError, ChangePasswordError, ClientInfo, EmailRequestError, EventKind, EventOutcome,
    Latchkey, LoginError, Policies, Rate, RefreshError, RegisterError, SessionPrincipal,
    ThrottlePolicy, TooManyAttempts, UserId, VerifyEmailError,
};
use latchkey_memory::MemoryPorts;

use crate::support::{
    change, client, credentials, input, BrokenSessions, Overload, TestApp, UnsignableTokens,
    PASSWORD,
};

fn from(ip: &str) -> ClientInfo {
    ClientInfo::new(Some("tests/1.0"), Some(ip.to_owned()))
}

fn rate(max: u32, period: TimeDelta) -> Option<Rate> {
    Some(Rate::new(max, period).unwrap())
}

fn with_throttle(configure: impl FnOnce(&mut ThrottlePolicy)) -> TestApp {
    let mut policies = Policies::default();
    configure(&mut policies.throttle);
    TestApp::with_policies(policies)
}

fn retry_after<T: std::fmt::Debug, E: std::fmt::Debug>(
    result: Result<T, E>,
    extract: impl FnOnce(E) -> Option<TooManyAttempts>,
) -> TimeDelta {
    let error = result.expect_err("refused");
    let debug = format!("{error:?}");
    extract(error)
        .unwrap_or_else(|| panic!("expected TooManyAttempts, got {debug}"))
        .retry_after
}

fn login_throttled(error: LoginError) -> Option<TooManyAttempts> {
    match error {
        LoginError::TooManyAttempts(throttled) => Some(throttled),
        _ => None,
    }
}

async fn fail_login(app: &TestApp, identifier: &str, client: ClientInfo) {
    let result = app
        .svc
        .login(credentials(identifier, "wrong password!"), client)
        .await;
    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn ten_failed_logins_lock_the_account_before_any_hashing_and_alike_for_unknown_accounts() {
    let app = TestApp::new();
    app.register("jane@example.com", Some("jane")).await;
    for n in 0..10 {
        fail_login(&app, "jane@example.com", from(&format!("198.51.100.{n}"))).await;
        fail_login(&app, "nobody@example.com", from(&format!("198.51.100.{n}"))).await;
    }
    let (verifies, nothings) = (app.hasher.verifies(), app.hasher.verify_nothings());
    // The right password, from a new address: refused all the same, and alike for the unknown account.
    for identifier in [
        "jane@example.com",
        "JANE@example.com",
        "nobody@example.com",
        // An unknown address is counted under its lookup key, so changing its case buys no fresh count.
        "NoBody@Example.COM",
    ] {
        let wait = retry_after(
            app.svc
                .login(credentials(identifier, PASSWORD), from("203.0.113.1"))
                .await,
            login_throttled,
        );
        assert_eq!(
            wait,
            TimeDelta::seconds(90),
            "{identifier}: one interval of 15 min / 10"
        );
    }
    assert_eq!(
        (app.hasher.verifies(), app.hasher.verify_nothings()),
        (verifies, nothings),
        "refused before hashing"
    );
    // The username is counted apart from the email: a shared count would let a 429 tell which email a public
    // username belongs to.
    app.svc
        .login(credentials("jane", PASSWORD), from("203.0.113.1"))
        .await
        .expect("the username has its own count");
    app.advance(TimeDelta::seconds(90));
    app.svc
        .login(
            credentials("jane@example.com", PASSWORD),
            from("203.0.113.2"),
        )
        .await
        .expect("one attempt is back after an interval");
}

#[tokio::test]
async fn a_password_change_forgets_the_addresses_that_were_exempt() {
    let app = TestApp::new();
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    let thief = from("198.51.100.66");
    app.svc
        .login(credentials("jane@example.com", PASSWORD), thief.clone())
        .await
        .unwrap();
    app.svc
        .change_password(&session, change(PASSWORD, "a brand new password"))
        .await
        .unwrap();
    for n in 0..10 {
        fail_login(&app, "jane@example.com", from(&format!("203.0.113.{n}"))).await;
    }
    assert!(
        matches!(
            app.svc
                .login(
                    credentials("jane@example.com", "a brand new password"),
                    thief
                )
                .await,
            Err(LoginError::TooManyAttempts(_))
        ),
        "the address that logged in with the old password is no longer exempt"
    );
}

#[tokio::test]
async fn successful_logins_count_nothing() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    for _ in 0..30 {
        app.svc
            .login(
                credentials("jane@example.com", PASSWORD),
                from("198.51.100.1"),
            )
            .await
            .unwrap();
    }
    for _ in 0..9 {
        fail_login(&app, "jane@example.com", from("198.51.100.2")).await;
    }
    app.svc
        .login(
            credentials("jane@example.com", PASSWORD),
            from("198.51.100.2"),
        )
        .await
        .expect("nine failures leave room");
}

/// Jane's account on in-memory adapters, with `port` replaced (a failing store, say) and a limit of `max` failed logins
/// per account; registered from another address than the logins below come from.
async fn jane_with_broken(
    max: u32,
    port: impl FnOnce(LatchkeyBuilder) -> LatchkeyBuilder,
) -> (MemoryPorts, Latchkey, UserId) {
    let memory = MemoryPorts::new();
    let mut policies = Policies::default();
    policies.throttle.login_per_account = rate(max, TimeDelta::minutes(15));
    let svc = port(memory.builder().policies(policies)).build().unwrap();
    let registered = svc
        .register(
            input("jane@example.com", PASSWORD, None),
            from("198.51.100.1"),
        )
        .await
        .expect("the account is created without its first session");
    (memory, svc, registered.user.id)
}

/// Jane's login from 198.51.100.7 with `password`.
async fn jane_logs_in(svc: &Latchkey, password: &str) -> Result<(), LoginError> {
    svc.login(
        credentials("jane@example.com", password),
        from("198.51.100.7"),
    )
    .await
    .map(drop)
}

/// Fails unless no stored `login` event claims a success.
async fn assert_no_login_succeeded(memory: &MemoryPorts) {
    let events = memory
        .store
        .list_events(&EventQuery::newest(100).of_kind(EventKind::Login))
        .await
        .unwrap();
    assert!(
        events
            .iter()
            .all(|event| event.outcome != EventOutcome::Success),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_login_whose_session_cannot_be_stored_leaves_no_trace_and_no_count() {
    let (memory, svc, _) =
        jane_with_broken(1, |builder| builder.sessions(Arc::new(BrokenSessions))).await;
    // The session's commit fails, so the right password's attempt is given back on its own: the second login is
    // not refused by the one-attempt limit.
    for _ in 0..2 {
        let result = jane_logs_in(&svc, PASSWORD).await;
        assert!(
            matches!(result, Err(LoginError::Unavailable(_))),
            "{result:?}"
        );
    }
    // Nor was the address remembered with the session it failed to start: from it, the account's limit still holds.
    assert!(matches!(
        jane_logs_in(&svc, "wrong password!").await,
        Err(LoginError::InvalidCredentials)
    ));
    assert!(matches!(
        jane_logs_in(&svc, "wrong password!").await,
        Err(LoginError::TooManyAttempts(_))
    ));
    assert_no_login_succeeded(&memory).await;
}

#[tokio::test]
async fn a_login_that_cannot_sign_its_tokens_stores_nothing_and_gives_its_attempt_back_once() {
    let (memory, svc, jane) = jane_with_broken(2, |builder| {
        builder.access_tokens(Arc::new(UnsignableTokens))
    })
    .await;
    // One failure counted: one attempt of the two left.
    assert!(matches!(
        jane_logs_in(&svc, "wrong password!").await,
        Err(LoginError::InvalidCredentials)
    ));
    let result = jane_logs_in(&svc, PASSWORD).await;
    assert!(
        matches!(result, Err(LoginError::Unavailable(_))),
        "{result:?}"
    );
    // The tokens are signed before anything is stored: the failed login left no session and no success event.
    let now = latchkey_domain::ports::Clock::now(&*memory.clock);
    let sessions = memory.store.list_active(&jane, now).await.unwrap();
    assert!(sessions.is_empty(), "{sessions:?}");
    assert_no_login_succeeded(&memory).await;
    // Its attempt was given back once: given back twice, it would have erased the earlier failure as well, and the
    // third failure below would not be refused.
    assert!(matches!(
        jane_logs_in(&svc, "wrong password!").await,
        Err(LoginError::InvalidCredentials)
    ));
    assert!(matches!(
        jane_logs_in(&svc, "wrong password!").await,
        Err(LoginError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn a_flood_from_elsewhere_cannot_lock_the_owner_out_of_an_address_it_used_before() {
    let app = TestApp::new();
    app.register("jane@example.com", None).await;
    let home = from("192.0.2.50");
    app.svc
        .login(credentials("jane@example.com", PASSWORD), home.clone())
        .await
        .unwrap();
    for n in 0..50 {
        let _ = app
            .svc
            .login(
                credentials("jane@example.com", "guess guess guess"),
                from(&format!("203.0.113.{n}")),
            )
            .await;
    }
    // A new address is refused: the account's limit is spent...
    assert!(matches!(
        app.svc
            .login(
                credentials("jane@example.com", PASSWORD),
                from("198.51.100.77")
            )
            .await,
        Err(LoginError::TooManyAttempts(_))
    ));
    // ...but home is not.
    app.svc
        .login(credentials("jane@example.com", PASSWORD), home.clone())
        .await
        .expect("the owner's known address is exempt from the account's limit");
    // Known addresses stay exempt only for a while.
    app.advance(ThrottlePolicy::DEFAULT_KNOWN_ADDRESS_TTL + TimeDelta::seconds(1));
    for n in 0..10 {
        fail_login(&app, "jane@example.com", from(&format!("203.0.113.{n}"))).await;
    }
    assert!(matches!(
        app.svc
            .login(credentials("jane@example.com", PASSWORD), home)
            .await,
        Err(LoginError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn a_known_address_still_has_its_own_limit() {
    let app = with_throttle(|throttle| {
        throttle.login_per_address = rate(5, TimeDelta::minutes(15));
    });
    app.register("jane@example.com", None).await;
    let home = from("192.0.2.50");
    app.svc
        .login(credentials("jane@example.com", PASSWORD), home.clone())
        .await
        .unwrap();
    for n in 0..5 {
        fail_login(&app, &format!("victim{n}@example.com"), home.clone()).await;
    }
    assert!(matches!(
        app.svc
            .login(credentials("jane@example.com", PASSWORD), home)
            .await,
        Err(LoginError::TooManyAttempts(_))
    ));
    app.svc
        .login(
            credentials("jane@example.com", PASSWORD),
            from("192.0.2.51"),
        )
        .await
        .expect("another address is not limited");
}

#[tokio::test]
async fn registrations_are_counted_per_address_before_hashing() {
    let app = with_throttle(|throttle| {
        throttle.registration_per_address = rate(2, TimeDelta::hours(1));
    });
    app.register("a@example.com", None).await;
    app.register("b@example.com", None).await;
    let hashes = app.hasher.hashes();
    let result = app
        .svc
        .register(input("c@example.com", PASSWORD, None), client())
        .await;
    assert!(
        matches!(result, Err(RegisterError::TooManyAttempts(_))),
        "{result:?}"
    );
    assert_eq!(app.hasher.hashes(), hashes, "refused before hashing");
    app.svc
        .register(input("c@example.com", PASSWORD, None), from("198.51.100.1"))
        .await
        .expect("another address may register");
}

#[tokio::test]
async fn forgot_password_and_resend_are_counted_per_address() {
    let app = with_throttle(|throttle| {
        throttle.forgot_password_per_address = rate(3, TimeDelta::hours(1));
        throttle.resend_verification_per_address = rate(3, TimeDelta::hours(1));
    });
    for address in ["a@example.com", "b@example.com", "c@example.com"] {
        app.svc.forgot_password(address, &client()).await.unwrap();
        app.svc
            .resend_verification(ResendTarget::Address(address), &client())
            .await
            .unwrap();
    }
    assert!(matches!(
        app.svc.forgot_password("d@example.com", &client()).await,
        Err(EmailRequestError::TooManyAttempts(_))
    ));
    assert!(matches!(
        app.svc
            .resend_verification(ResendTarget::Address("d@example.com"), &client())
            .await,
        Err(EmailRequestError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn verification_codes_are_counted_per_address() {
    let app = with_throttle(|throttle| {
        throttle.verify_code_per_address = rate(3, TimeDelta::minutes(15));
    });
    for n in 0..3 {
        let result = app
            .svc
            .verify_email_code(&format!("user{n}@example.com"), "123456", &client())
            .await;
        assert!(
            matches!(result, Err(VerifyEmailError::InvalidCode)),
            "{result:?}"
        );
    }
    assert!(matches!(
        app.svc
            .verify_email_code("user9@example.com", "123456", &client())
            .await,
        Err(VerifyEmailError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn refreshes_are_counted_per_address() {
    let app = with_throttle(|throttle| {
        throttle.refresh_per_address = rate(2, TimeDelta::minutes(1));
    });
    let mut tokens = app.login_fresh("jane@example.com").await;
    for _ in 0..2 {
        tokens = app
            .svc
            .refresh(tokens.refresh_token.expose(), &client())
            .await
            .unwrap();
    }
    assert!(matches!(
        app.svc
            .refresh(tokens.refresh_token.expose(), &client())
            .await,
        Err(RefreshError::TooManyAttempts(_))
    ));
    app.svc
        .refresh(tokens.refresh_token.expose(), &from("198.51.100.1"))
        .await
        .expect("the refused attempt spent nothing");
}

/// A signed-in session of an account whose wrong current passwords are limited to three per 15 minutes.
async fn session_with_three_password_attempts() -> (TestApp, SessionPrincipal) {
    let app = with_throttle(|throttle| {
        throttle.password_change_per_account = rate(3, TimeDelta::minutes(15));
    });
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    (app, session)
}

/// Three wrong current passwords, each refused as wrong.
async fn three_wrong_passwords(app: &TestApp, session: &SessionPrincipal) {
    for _ in 0..3 {
        assert!(matches!(
            app.svc
                .change_password(session, change("not my password", "a brand new password"))
                .await,
            Err(ChangePasswordError::InvalidCurrentPassword)
        ));
    }
}

/// The right current password, refused because the limit is spent.
async fn the_right_password_is_refused_by_the_limit(app: &TestApp, session: &SessionPrincipal) {
    assert!(matches!(
        app.svc
            .change_password(session, change(PASSWORD, "a brand new password"))
            .await,
        Err(ChangePasswordError::TooManyAttempts(_))
    ));
}

#[tokio::test]
async fn wrong_current_passwords_are_counted_per_account_before_hashing() {
    let (app, session) = session_with_three_password_attempts().await;
    three_wrong_passwords(&app, &session).await;
    let verifies = app.hasher.verifies();
    the_right_password_is_refused_by_the_limit(&app, &session).await;
    assert_eq!(app.hasher.verifies(), verifies, "refused before hashing");
}

/// A password confirmation (here of a password change; email changes and deletions share it) that the hashing queue
/// refused checked no password, so it must not count as a wrong one: a user retrying through a login flood would
/// otherwise be locked out of their own account for the window.
#[tokio::test]
async fn a_confirmation_refused_for_a_full_hashing_queue_is_not_a_counted_attempt() {
    let (app, session) = session_with_three_password_attempts().await;
    let refused_as_overloaded = |result: Result<(), ChangePasswordError>| matches!(result, Err(ChangePasswordError::Unavailable(port)) if port.retry_after().is_some());
    let verifies = app.hasher.verifies();
    for overload in [Overload::Full, Overload::FilledMeanwhile] {
        app.hasher.set_overload(overload);
        for _ in 0..5 {
            let result = app
                .svc
                .change_password(&session, change("not my password", "a brand new password"))
                .await;
            assert!(refused_as_overloaded(result), "{overload:?}");
        }
    }
    // Full refused before the hash, filled meanwhile by the hash itself.
    assert_eq!(app.hasher.verifies(), verifies + 5);

    // None of the ten counted: the account still has its three attempts, each hashed in the place it reserved.
    app.hasher.set_overload(Overload::None);
    let spent = app.hasher.places_spent();
    three_wrong_passwords(&app, &session).await;
    assert_eq!(app.hasher.places_spent(), spent + 3);
    the_right_password_is_refused_by_the_limit(&app, &session).await;
}

#[tokio::test]
async fn email_change_requests_are_counted_per_account_with_the_right_password() {
    let app = with_throttle(|throttle| {
        throttle.email_change_per_account = rate(2, TimeDelta::hours(1));
    });
    let tokens = app.login_fresh("jane@example.com").await;
    let session = app.session(&tokens).await;
    // Wrong passwords are the password limit's to count, not this one's.
    for _ in 0..3 {
        assert!(matches!(
            app.svc
                .request_email_change(&session, "new@example.org", "not my password".into())
                .await,
            Err(ChangeEmailError::InvalidPassword)
        ));
    }
    for address in ["one@example.org", "two@example.org"] {
        app.svc
            .request_email_change(&session, address, PASSWORD.into())
            .await
            .unwrap();
    }
    let refused = app
        .svc
        .request_email_change(&session, "three@example.org", PASSWORD.into())
        .await;
    assert!(
        matches!(refused, Err(ChangeEmailError::TooManyAttempts(_))),
        "{refused:?}"
    );
    assert!(
        app.last_email_to("three@example.org").await.is_none(),
        "nothing mailed"
    );
    // Per account: another account's requests are its own.
    let joe = app.login_fresh("joe@example.com").await;
    let joe = app.session(&joe).await;
    app.svc
        .request_email_change(&joe, "three@example.org", PASSWORD.into())
        .await
        .unwrap();
    // One more an hour / 2 later.
    app.advance(TimeDelta::minutes(31));
    app.svc
        .request_email_change(&session, "four@example.org", PASSWORD.into())
        .await
        .unwrap();
}

#[tokio::test]
async fn limits_can_be_turned_off() {
    let app = with_throttle(|throttle| *throttle = ThrottlePolicy::off());
    app.register("jane@example.com", None).await;
    for _ in 0..30 {
        fail_login(&app, "jane@example.com", client()).await;
    }
    app.login("jane@example.com").await;
}

fn overloaded(error: LoginError) -> bool {
    matches!(&error, LoginError::Unavailable(port) if port.retry_after().is_some())
}

/// Five wrong-password logins to a known and to an unknown account from `client`, each of which must be refused as
/// overloaded.
async fn refuse_five_logins_each(app: &TestApp, client: &ClientInfo) {
    for identifier in ["jane@example.com", "nobody@example.com"] {
        for _ in 0..5 {
            let refused = app
                .svc
                .login(credentials(identifier, "wrong password!"), client.clone())
                .await
                .expect_err("overloaded");
            assert!(overloaded(refused));
        }
    }
}

#[tokio::test]
async fn a_login_refused_for_a_full_hashing_queue_is_not_a_counted_attempt() {
    let app = with_throttle(|throttle| {
        throttle.login_per_address = rate(3, TimeDelta::minutes(15));
        throttle.login_per_account = rate(3, TimeDelta::minutes(15));
    });
    app.register("jane@example.com", None).await;
    let attacker = from("198.51.100.9");

    // A full queue refuses before the account is even looked up: no hashing, no count.
    app.hasher.set_overload(Overload::Full);
    refuse_five_logins_each(&app, &attacker).await;
    assert_eq!(
        (app.hasher.verifies(), app.hasher.verify_nothings()),
        (0, 0)
    );

    // Filled between the hint and the hash: refused by the hash itself, and the counted attempt given back.
    app.hasher.set_overload(Overload::FilledMeanwhile);
    refuse_five_logins_each(&app, &attacker).await;
    assert_eq!(
        (app.hasher.verifies(), app.hasher.verify_nothings()),
        (5, 5)
    );

    // None of the twenty refusals counted: the address still has its three attempts.
    app.hasher.set_overload(Overload::None);
    for _ in 0..3 {
        fail_login(&app, "jane@example.com", attacker.clone()).await;
    }
    retry_after(
        app.svc
            .login(credentials("jane@example.com", PASSWORD), attacker)
            .await,
        login_throttled,
    );
}

/// A login takes its place in the hashing queue before the lookup and hashes in it, whether the account exists (a
/// real verification) or not (the decoy): a login that got past the queue is not refused for want of room later.
#[tokio::test]
async fn a_login_hashes_in_the_place_it_reserved() {
    let app = with_throttle(|_| {});
    app.register("jane@example.com", None).await;
    let client = from("198.51.100.9");
    app.svc
        .login(credentials("jane@example.com", PASSWORD), client.clone())
        .await
        .unwrap();
    fail_login(&app, "jane@example.com", client.clone()).await;
    fail_login(&app, "nobody@example.com", client).await;
    assert_eq!(
        (app.hasher.verifies(), app.hasher.verify_nothings()),
        (2, 1)
    );
    assert_eq!(
        app.hasher.places_spent(),
        3,
        "every verification in its place"
    );
}

#[tokio::test]
async fn a_login_the_hasher_failed_otherwise_than_for_overload_stays_counted() {
    let app = with_throttle(|throttle| {
        throttle.login_per_address = rate(3, TimeDelta::minutes(15));
    });
    app.register("jane@example.com", None).await;
    let attacker = from("198.51.100.9");
    app.hasher.set_overload(Overload::Failing);
    for _ in 0..3 {
        let failed = app
            .svc
            .login(
                credentials("jane@example.com", "wrong password!"),
                attacker.clone(),
            )
            .await
            .expect_err("the hasher failed");
        assert!(matches!(&failed, LoginError::Unavailable(port) if port.retry_after().is_none()));
    }
    app.hasher.set_overload(Overload::None);
    retry_after(
        app.svc
            .login(credentials("jane@example.com", PASSWORD), attacker)
            .await,
        login_throttled,
    );
}
