//! Credits: charges with idempotency keys, refunds, the ledger, operators' grants and the welcome credits.

use chrono::TimeDelta;
use latchkey_domain::service::{
    ChargeError, ChargeInput, CreateCredentialInput, GrantError, LedgerError, RefundError,
};
use latchkey_domain::{
    AccessError, CredentialKind, CreditsPolicy, EmailContent, EventKind, LedgerKind, Policies,
    Principal, Scope, Scopes, WelcomeOn,
};

use crate::support::{self, client, TestApp};

async fn jane(app: &TestApp) -> Principal {
    let outcome = app.register("jane@example.com", None).await;
    app.principal(&outcome.tokens.unwrap()).await
}

fn photos(quantity: i64, key: &str) -> ChargeInput {
    ChargeInput::new("photo", quantity).idempotency_key(key)
}

#[tokio::test]
async fn a_charge_takes_the_price_once_per_key() {
    let app = TestApp::new();
    let jane = jane(&app).await;
    let first = app.svc.charge(&jane, photos(3, "order-1")).await.unwrap();
    assert!(!first.replayed);
    assert_eq!((first.charge.charged, first.charge.credits), (300, 700));
    app.advance(TimeDelta::minutes(10));
    let again = app.svc.charge(&jane, photos(3, "order-1")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(
        again.charge, first.charge,
        "the stored answer, not a new one"
    );
    assert!(matches!(
        app.svc.charge(&jane, photos(4, "order-1")).await,
        Err(ChargeError::KeyReused)
    ));
    assert_eq!(app.svc.credits(&jane).await.unwrap().credits, 700);
}

#[tokio::test]
async fn keys_expire_after_the_configured_retention_and_are_purged() {
    let mut policies = Policies::default();
    policies.credits = CreditsPolicy::default()
        .with_idempotency_ttl(TimeDelta::hours(1))
        .unwrap();
    let app = TestApp::with_policies(policies);
    let jane = jane(&app).await;
    app.svc.charge(&jane, photos(1, "k")).await.unwrap();
    app.advance(TimeDelta::minutes(59));
    assert!(
        app.svc
            .charge(&jane, photos(1, "k"))
            .await
            .unwrap()
            .replayed
    );
    app.advance(TimeDelta::minutes(1));
    assert_eq!(app.svc.purge_spent().await.unwrap().idempotency_keys, 1);
    let fresh = app.svc.charge(&jane, photos(1, "k")).await.unwrap();
    assert!(!fresh.replayed, "an expired key is a new key");
    assert_eq!(fresh.charge.credits, 800);
}

#[tokio::test]
async fn refused_charges_store_nothing_and_name_what_is_wrong() {
    let app = TestApp::new();
    let jane = jane(&app).await;
    let refusals = [
        (ChargeInput::new("photo", 1), "idempotency key is required"),
        (
            photos(1, &"k".repeat(256)),
            "idempotency key must be at most 255 characters",
        ),
        (
            photos(1, "tab\there"),
            "idempotency key must be printable ASCII",
        ),
        (
            ChargeInput::new("gold", 1).idempotency_key("k"),
            "unknown unit `gold`",
        ),
        (photos(0, "k"), "quantity must be a positive integer"),
        (photos(-3, "k"), "quantity must be a positive integer"),
        (
            photos(i64::MAX, "k"),
            "the price of this quantity is too large",
        ),
    ];
    for (input, message) in refusals {
        let error = app.svc.charge(&jane, input).await.unwrap_err();
        assert_eq!(error.to_string(), message);
    }
    match app.svc.charge(&jane, photos(11, "k")).await {
        Err(ChargeError::InsufficientCredits { balance, required }) => {
            assert_eq!((balance, required), (1000, 1100));
        }
        other => panic!("{other:?}"),
    }
    // None of the refusals kept the key: it charges now.
    let made = app.svc.charge(&jane, photos(10, "k")).await.unwrap();
    assert_eq!(made.charge.credits, 0);
    let ledger = app.svc.ledger(&jane, 10, None).await.unwrap();
    assert_eq!(ledger.entries.len(), 2);
}

#[tokio::test]
async fn charging_needs_the_charge_scope_and_reading_the_read_scope() {
    let app = TestApp::new();
    let outcome = app.register("jane@example.com", None).await;
    let session = app.session(&outcome.tokens.unwrap()).await;
    let token = |scopes: Scopes| {
        CreateCredentialInput::new("meter")
            .scopes(scopes)
            .expires_at(app.clock_now() + TimeDelta::days(1))
    };
    let reader = app
        .svc
        .create_credential(
            &session,
            CredentialKind::PersonalToken,
            token(Scopes::empty().with(Scope::CreditsRead)),
        )
        .await
        .unwrap();
    let reader = app.svc.authenticate(reader.secret.expose()).await.unwrap();
    assert!(matches!(
        app.svc.charge(&reader, photos(1, "k")).await,
        Err(ChargeError::Forbidden(AccessError::InsufficientScope {
            required: Scope::CreditsCharge
        }))
    ));
    assert!(matches!(
        app.svc.refund(&reader, "chg_x").await,
        Err(RefundError::Forbidden(_))
    ));
    assert!(app.svc.ledger(&reader, 10, None).await.is_ok());
    let meter = app
        .svc
        .create_credential(
            &session,
            CredentialKind::PersonalToken,
            token(Scopes::empty().with(Scope::CreditsCharge)),
        )
        .await
        .unwrap();
    let meter = app.svc.authenticate(meter.secret.expose()).await.unwrap();
    assert!(app.svc.charge(&meter, photos(1, "k")).await.is_ok());
    assert!(matches!(
        app.svc.ledger(&meter, 10, None).await,
        Err(LedgerError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_refund_gives_the_charge_back_once_and_is_a_security_event() {
    let app = TestApp::new();
    let jane = jane(&app).await;
    let made = app.svc.charge(&jane, photos(2, "k")).await.unwrap().charge;
    let refund = app.svc.refund(&jane, made.id.as_str()).await.unwrap();
    assert_eq!(
        (refund.kind, refund.amount, refund.balance_after),
        (LedgerKind::Refund, 200, 1000)
    );
    assert!(matches!(
        app.svc.refund(&jane, made.id.as_str()).await,
        Err(RefundError::AlreadyRefunded)
    ));
    assert!(matches!(
        app.svc.refund(&jane, "not-an-id").await,
        Err(RefundError::NotFound)
    ));
    let joe = app.register("joe@example.com", None).await;
    let joe = app.principal(&joe.tokens.unwrap()).await;
    assert!(
        matches!(
            app.svc.refund(&joe, made.id.as_str()).await,
            Err(RefundError::NotFound)
        ),
        "only the charge's owner can refund it"
    );
    let query = latchkey_domain::ports::EventQuery::newest(10).of_kind(EventKind::ChargeRefunded);
    let events = app.svc.list_events(&query).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject.as_deref(), Some(made.id.as_str()));
}

#[tokio::test]
async fn the_ledger_pages_newest_first_and_sums_to_the_balance() {
    let app = TestApp::new();
    let jane = jane(&app).await;
    for n in 0..5 {
        app.svc
            .charge(&jane, photos(1, &format!("k{n}")))
            .await
            .unwrap();
    }
    let first = app.svc.ledger(&jane, 4, None).await.unwrap();
    assert_eq!(first.entries.len(), 4);
    assert_eq!(first.entries[0].balance_after, 500);
    let cursor = first.next_cursor.clone().expect("a next page");
    let rest = app.svc.ledger(&jane, 4, Some(&cursor)).await.unwrap();
    assert_eq!(rest.entries.len(), 2);
    assert_eq!(rest.entries[1].kind, LedgerKind::Welcome);
    assert_eq!(rest.next_cursor, None);
    let sum: i64 = first
        .entries
        .iter()
        .chain(&rest.entries)
        .map(|e| e.amount)
        .sum();
    assert_eq!(sum, app.svc.credits(&jane).await.unwrap().credits);
    for bad in ["x", "-1", "1_evt_a"] {
        assert!(matches!(
            app.svc.ledger(&jane, 4, Some(bad)).await,
            Err(LedgerError::InvalidCursor)
        ));
    }
}

#[tokio::test]
async fn operators_grant_and_correct_never_below_zero_with_an_event() {
    let app = TestApp::new();
    let jane = jane(&app).await;
    let entry = app
        .svc
        .grant_credits("jane@example.com", 250, "support ticket 7")
        .await
        .unwrap();
    assert_eq!(
        (entry.kind, entry.amount, entry.balance_after),
        (LedgerKind::Grant, 250, 1250)
    );
    assert_eq!(entry.reason.as_deref(), Some("support ticket 7"));
    let id = jane.user_id.as_str();
    assert!(matches!(
        app.svc.grant_credits(id, -1251, "correction").await,
        Err(GrantError::OutOfRange {
            balance: 1250,
            amount: -1251
        })
    ));
    app.svc
        .grant_credits(id, -1250, "correction")
        .await
        .unwrap();
    assert!(matches!(
        app.svc.grant_credits(id, 0, "x").await,
        Err(GrantError::ZeroAmount)
    ));
    assert!(matches!(
        app.svc.grant_credits(id, 1, " ").await,
        Err(GrantError::InvalidReason)
    ));
    assert!(matches!(
        app.svc.grant_credits(id, i64::MIN, "x").await,
        Err(GrantError::OutOfRange { .. })
    ));
    assert!(matches!(
        app.svc.grant_credits("nobody@example.com", 1, "x").await,
        Err(GrantError::UnknownAccount)
    ));
    let query = latchkey_domain::ports::EventQuery::newest(10).of_kind(EventKind::CreditsGranted);
    assert_eq!(app.svc.list_events(&query).await.unwrap().len(), 2);
    assert_eq!(app.svc.credits(&jane).await.unwrap().credits, 0);
}

#[tokio::test]
async fn with_welcome_on_verification_credits_come_once_with_the_first_verification() {
    let mut policies = Policies::default();
    policies.credits = CreditsPolicy::default().with_welcome_on(WelcomeOn::Verification);
    let app = TestApp::with_policies(policies);
    let jane = jane(&app).await;
    assert_eq!(app.svc.credits(&jane).await.unwrap().credits, 0);
    assert!(app
        .svc
        .ledger(&jane, 10, None)
        .await
        .unwrap()
        .entries
        .is_empty());
    let Some(EmailContent::Verification { code, .. }) = app.last_email_to("jane@example.com").await
    else {
        panic!("a verification email");
    };
    app.svc
        .verify_email_code("jane@example.com", code.expose(), &client())
        .await
        .unwrap();
    assert_eq!(app.svc.credits(&jane).await.unwrap().credits, 1000);
    // A later verification (a repeated link, a changed address) gives nothing more.
    app.svc
        .resend_verification(
            latchkey_domain::service::ResendTarget::Caller(&jane),
            &client(),
        )
        .await
        .unwrap();
    let ledger = app.svc.ledger(&jane, 10, None).await.unwrap();
    assert_eq!(ledger.entries.len(), 1);
    assert_eq!(ledger.entries[0].kind, LedgerKind::Welcome);
}

#[tokio::test]
async fn at_registration_the_welcome_credits_are_the_first_entry() {
    let app = TestApp::new();
    let jane = jane(&app).await;
    let ledger = app.svc.ledger(&jane, 10, None).await.unwrap();
    assert_eq!(ledger.entries.len(), 1);
    let welcome = &ledger.entries[0];
    assert_eq!(
        (welcome.kind, welcome.amount, welcome.balance_after),
        (LedgerKind::Welcome, 1000, 1000)
    );
}

/// With welcome credits on verification, an address first proved by a password reset or by an email change earns
/// them as a link or code would: once.
#[tokio::test]
async fn a_reset_or_an_email_change_is_a_first_verification_too() {
    let welcome_on_verification = || {
        let mut policies = Policies::default();
        policies.credits = CreditsPolicy::default().with_welcome_on(WelcomeOn::Verification);
        TestApp::with_policies(policies)
    };

    let app = welcome_on_verification();
    let jane = jane(&app).await;
    app.svc
        .forgot_password("jane@example.com", &client())
        .await
        .unwrap();
    let Some(EmailContent::PasswordReset { link, .. }) =
        app.last_email_to("jane@example.com").await
    else {
        panic!("a reset email");
    };
    let token = link.expose().split_once("?token=").unwrap().1.to_owned();
    app.svc
        .reset_password(&token, "a brand new passphrase".into(), &client())
        .await
        .unwrap();
    assert_eq!(app.svc.credits(&jane).await.unwrap().credits, 1000);

    let app = welcome_on_verification();
    let tokens = app.register("bob@example.com", None).await.tokens.unwrap();
    let bob = app.session(&tokens).await;
    app.svc
        .request_email_change(&bob, "bob@example.org", support::PASSWORD.to_owned())
        .await
        .unwrap();
    let Some(EmailContent::EmailChange { code, .. }) = app.last_email_to("bob@example.org").await
    else {
        panic!("a confirmation email");
    };
    app.svc
        .verify_email_code("bob@example.org", code.expose(), &client())
        .await
        .unwrap();
    let bob = app.principal(&tokens).await;
    let ledger = app.svc.ledger(&bob, 10, None).await.unwrap();
    assert_eq!(ledger.entries.len(), 1);
    assert_eq!(ledger.entries[0].kind, LedgerKind::Welcome);
}

/// A crash between a verification's transaction and its welcome grant leaves the account owed; the purge job (run at
/// start-up and every `purge.interval`) gives it the credits, once.
#[tokio::test]
async fn the_purge_job_welcomes_accounts_a_crash_left_unwelcomed() {
    use latchkey_domain::ports::{ChallengeRepository, Clock};

    let memory = latchkey_memory::MemoryPorts::new();
    let mut policies = Policies::default();
    policies.credits = CreditsPolicy::default().with_welcome_on(WelcomeOn::Verification);
    let svc = memory.builder().policies(policies).build().unwrap();
    let registered = svc
        .register(
            support::input("jane@example.com", support::PASSWORD, None),
            client(),
        )
        .await
        .unwrap();
    let jane = svc
        .authenticate(registered.tokens.unwrap().access_token.expose())
        .await
        .unwrap();
    memory.delivery().deliver_next().await.unwrap();
    let code = match memory
        .mailer
        .sent()
        .last()
        .map(|email| email.content.clone())
    {
        Some(EmailContent::Verification { code, .. }) => code,
        other => panic!("a verification email, got {other:?}"),
    };
    // The verification commits, and the process dies before the service grants the welcome credits.
    let email = latchkey_domain::Email::parse("jane@example.com").unwrap();
    memory
        .store
        .verify_by_code(
            &email,
            &latchkey_domain::TokenHash::of(code.expose()),
            memory.clock.now(),
            5,
        )
        .await
        .unwrap();
    assert_eq!(svc.credits(&jane).await.unwrap().credits, 0);

    assert_eq!(svc.purge_spent().await.unwrap().welcomed, 1);
    assert_eq!(svc.credits(&jane).await.unwrap().credits, 1000);
    assert_eq!(svc.purge_spent().await.unwrap().welcomed, 0, "once");
    assert_eq!(svc.ledger(&jane, 10, None).await.unwrap().entries.len(), 1);
}
