use latchkey_domain::service::{RegisterError, RegisterInput};
use latchkey_domain::{
    CreditsPolicy, DisplayNameError, EmailError, PasswordError, Policies, UsernameError,
};

use crate::support::{client, credentials, input, TestApp, PASSWORD};

fn rejected_fields(error: RegisterError) -> Vec<(&'static str, String)> {
    let RegisterError::Invalid(errors) = error else {
        panic!("expected a validation error, got {error:?}");
    };
    let message = |e: Option<&dyn std::fmt::Display>| e.map(ToString::to_string);
    [
        ("email", message(errors.email.as_ref().map(|e| e as _))),
        (
            "password",
            message(errors.password.as_ref().map(|e| e as _)),
        ),
        ("name", message(errors.name.as_ref().map(|e| e as _))),
        (
            "username",
            message(errors.username.as_ref().map(|e| e as _)),
        ),
    ]
    .into_iter()
    .filter_map(|(field, message)| Some((field, message?)))
    .collect()
}

#[tokio::test]
async fn new_account_gets_the_welcome_credits_of_the_policy() {
    let mut policies = Policies::default();
    policies.credits = CreditsPolicy::default().with_welcome_credits(250).unwrap();
    let app = TestApp::with_policies(policies);
    let outcome = app.register("jane@example.com", Some("jane")).await;
    assert_eq!(outcome.user.credits, 250);
    assert_eq!(outcome.user.email.as_str(), "jane@example.com");
    assert_eq!(outcome.user.username.unwrap().as_str(), "jane");
    assert!(!outcome.user.is_verified);
    assert!(outcome.user.id.as_str().starts_with("usr_"));

    // The default policy gives 1000.
    let app = TestApp::new();
    assert_eq!(
        app.register("joe@example.com", None).await.user.credits,
        1000
    );
}

#[tokio::test]
async fn registration_logs_the_new_account_in() {
    let app = TestApp::new();
    let outcome = app.register("jane@example.com", None).await;
    let principal = app.session(outcome.tokens.as_ref().unwrap()).await;
    assert_eq!(principal.user_id(), &outcome.user.id);
    assert_eq!(app.svc.list_sessions(&principal).await.unwrap().len(), 1);
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once_and_nothing_is_hashed() {
    let app = TestApp::new();
    let error = app
        .svc
        .register(
            RegisterInput::new()
                .email("not-an-email")
                .password("short")
                .name("   ")
                .username("no spaces!"),
            client(),
        )
        .await
        .unwrap_err();
    let RegisterError::Invalid(errors) = error else {
        panic!("expected a validation error, got {error:?}");
    };
    assert_eq!(errors.email, Some(EmailError::Malformed));
    assert_eq!(errors.password, Some(PasswordError::TooShort { min: 8 }));
    assert_eq!(errors.name, Some(DisplayNameError::Blank));
    assert_eq!(errors.username, Some(UsernameError::InvalidCharacter));
    assert_eq!(app.hasher.hashes(), 0);
}

#[tokio::test]
async fn optional_fields_are_reported_even_when_email_and_password_are_fine() {
    let app = TestApp::new();
    let error = app
        .svc
        .register(input("jane@example.com", PASSWORD, Some("x")), client())
        .await
        .unwrap_err();
    let fields: Vec<_> = rejected_fields(error).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["username"]);
    // Nothing was stored: the same email registers fine afterwards.
    app.register("jane@example.com", None).await;
}

#[tokio::test]
async fn email_is_taken_case_insensitively() {
    let app = TestApp::new();
    app.register("Jane@Example.com", None).await;
    let error = app
        .svc
        .register(input("jane@EXAMPLE.COM", PASSWORD, None), client())
        .await
        .unwrap_err();
    assert!(matches!(error, RegisterError::EmailTaken), "{error:?}");
}

#[tokio::test]
async fn username_is_taken_case_insensitively() {
    let app = TestApp::new();
    app.register("jane@example.com", Some("Jane_D")).await;
    let error = app
        .svc
        .register(
            input("other@example.com", PASSWORD, Some("jane_d")),
            client(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, RegisterError::UsernameTaken), "{error:?}");
}

#[tokio::test]
async fn password_length_is_8_to_256_characters_not_bytes() {
    let app = TestApp::new();
    let attempt = |n: usize, password: String| {
        let email = format!("user{n}@example.com");
        let svc = &app.svc;
        async move { svc.register(input(&email, &password, None), client()).await }
    };

    let error = attempt(1, "a".repeat(7)).await.unwrap_err();
    assert_eq!(
        rejected_fields(error),
        [("password", "must be at least 8 characters".to_owned())]
    );
    // Seven characters in fourteen bytes is still too short.
    assert!(attempt(2, "é".repeat(7)).await.is_err());
    assert!(attempt(3, "é".repeat(8)).await.is_ok());
    assert!(attempt(4, "zq".repeat(4)).await.is_ok());
    // 256 characters in 512 bytes is allowed; 257 is not.
    assert!(attempt(5, "é".repeat(256)).await.is_ok());
    let error = attempt(6, "a".repeat(257)).await.unwrap_err();
    assert_eq!(
        rejected_fields(error),
        [("password", "must be at most 256 characters".to_owned())]
    );
}

#[tokio::test]
async fn common_passwords_and_the_accounts_own_names_are_refused_with_nothing_stored() {
    let app = TestApp::new();
    let refused = [
        (
            "Password1",
            None,
            "is one of the most common passwords; choose one that is harder to guess",
        ),
        (
            "JANE.DOE@example.com",
            None,
            "must not be your email address or username",
        ),
        (
            "Jane.Doe",
            None,
            "must not be your email address or username",
        ),
        (
            "TheJaneDoe",
            Some("thejanedoe"),
            "must not be your email address or username",
        ),
    ];
    for (password, username, message) in refused {
        let error = app
            .svc
            .register(input("jane.doe@example.com", password, username), client())
            .await
            .unwrap_err();
        assert_eq!(
            rejected_fields(error),
            [("password", message.to_owned())],
            "{password}"
        );
    }
    // Compared with the address as stored: spaces typed around it hide nothing.
    let error = app
        .svc
        .register(
            input("  jane.doe@example.com ", "Jane.Doe@Example.com", None),
            client(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        rejected_fields(error),
        [(
            "password",
            "must not be your email address or username".to_owned()
        )]
    );
    assert_eq!(app.hasher.hashes(), 0, "refused before any hashing");
    // Containing the name is fine; so is the policy turned off for common passwords.
    app.svc
        .register(
            input("jane.doe@example.com", "jane.doe's own passphrase", None),
            client(),
        )
        .await
        .unwrap();
    let mut policies = Policies::default();
    policies.password = policies.password.with_common_passwords_refused(false);
    TestApp::with_policies(policies)
        .svc
        .register(input("joe@example.com", "Password1", None), client())
        .await
        .unwrap();
}

#[tokio::test]
async fn password_is_never_trimmed() {
    let app = TestApp::new();
    // Eight characters only because of the spaces: accepted, so they were counted.
    app.svc
        .register(input("pad@example.com", "  abcd  ", None), client())
        .await
        .unwrap();
    // Eight spaces is a password too.
    app.svc
        .register(input("blank@example.com", "        ", None), client())
        .await
        .unwrap();

    assert!(app
        .svc
        .login(credentials("pad@example.com", "abcd"), client())
        .await
        .is_err());
    assert!(app
        .svc
        .login(credentials("pad@example.com", "  abcd"), client())
        .await
        .is_err());
    app.svc
        .login(credentials("pad@example.com", "  abcd  "), client())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_account_created_is_acknowledged_even_if_its_first_session_fails() {
    let memory = latchkey_memory::MemoryPorts::new();
    let store = memory.store.clone();
    let svc = memory
        .builder()
        .sessions(std::sync::Arc::new(crate::support::BrokenSessions))
        .build()
        .unwrap();
    let outcome = svc
        .register(input("jane@example.com", PASSWORD, None), client())
        .await
        .expect("the account is created");
    assert!(outcome.tokens.is_none());
    let stored = latchkey_domain::ports::UserRepository::find(&*store, &outcome.user.id)
        .await
        .unwrap();
    assert_eq!(stored, Some(outcome.user));
}
