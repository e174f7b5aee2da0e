//! The operators' commands of the `latchkey` binary, run as a deployer runs them: results on stdout, nothing else
//! there, one line on stderr and a non-zero exit on failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use latchkey_domain::service::{LoginInput, RegisterInput};
use latchkey_domain::ClientInfo;
use latchkey_server::Settings;

struct Fixture {
    _dir: tempfile::TempDir,
    database_url: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
        Self {
            _dir: dir,
            database_url,
        }
    }

    fn settings(&self) -> Settings {
        let mut settings = Settings::default();
        settings.database.url = self.database_url.clone();
        settings.argon2.memory_kib = 64;
        settings.argon2.iterations = 1;
        settings
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .env("LATCHKEY__DATABASE__URL", &self.database_url)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn events_prints_the_log_for_people_and_scripts() {
    let fixture = Fixture::new();
    let latchkey = latchkey_server::build_service(&fixture.settings())
        .await
        .unwrap();
    let client = ClientInfo::new(Some("cli-test"), Some("192.0.2.9".to_owned()));
    latchkey
        .register(
            RegisterInput::new()
                .email("jane@example.com")
                .password("correct horse battery"),
            client.clone(),
        )
        .await
        .unwrap();
    let _ = latchkey
        .login(
            LoginInput::new()
                .identifier("jane@example.com")
                .password("wrong password!"),
            client,
        )
        .await;

    let json = fixture.run(&["events", "--user", "jane@example.com", "--json"]);
    assert!(json.status.success(), "{json:?}");
    assert!(json.stderr.is_empty(), "nothing but results: {json:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8(json.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let kinds: Vec<_> = lines
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("login", "failure"), ("registered", "success")]);
    assert_eq!(lines[0]["ip"], "192.0.2.9");

    let text = fixture.run(&["events", "--kind", "registered"]);
    assert!(text.status.success(), "{text:?}");
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.contains("registered") && text.contains("192.0.2.9"),
        "{text}"
    );

    let elsewhere = Fixture::new();
    let missing = elsewhere.run(&["events"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8(missing.stderr)
        .unwrap()
        .contains("no database at"));
    assert!(
        !elsewhere
            .database_url
            .trim_start_matches("sqlite://")
            .is_empty()
            && !std::path::Path::new(elsewhere.database_url.trim_start_matches("sqlite://"))
                .exists(),
        "and none was created"
    );

    for (args, message) in [
        (
            &["events", "--user", "nobody@example.com"][..],
            "no account has the id or email",
        ),
        (&["events", "--kind", "nonsense"][..], "unknown event kind"),
    ] {
        let failed = fixture.run(args);
        assert!(!failed.status.success());
        assert!(failed.stdout.is_empty());
        let stderr = String::from_utf8(failed.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn credits_grant_and_show_go_through_the_ledger() {
    let fixture = Fixture::new();
    let latchkey = latchkey_server::build_service(&fixture.settings())
        .await
        .unwrap();
    let registered = latchkey
        .register(
            RegisterInput::new()
                .email("jane@example.com")
                .password("correct horse battery"),
            ClientInfo::default(),
        )
        .await
        .unwrap();
    let id = registered.user.id.as_str().to_owned();

    let granted = fixture.run(&[
        "credits",
        "grant",
        &id,
        "250",
        "--reason",
        "support ticket 7",
        "--json",
    ]);
    assert!(granted.status.success(), "{granted:?}");
    assert!(
        granted.stderr.is_empty(),
        "nothing but results: {granted:?}"
    );
    let entry: serde_json::Value = serde_json::from_slice(&granted.stdout).unwrap();
    assert_eq!(entry["kind"], "grant");
    assert_eq!(
        (entry["amount"].as_i64(), entry["balance_after"].as_i64()),
        (Some(250), Some(1250))
    );
    assert_eq!(entry["reason"], "support ticket 7");

    let corrected = fixture.run(&[
        "credits",
        "grant",
        "jane@example.com",
        "-50",
        "--reason",
        "correction",
    ]);
    assert!(corrected.status.success(), "{corrected:?}");
    let text = String::from_utf8(corrected.stdout).unwrap();
    assert!(
        text.contains("-50") && text.contains("balance 1200"),
        "{text}"
    );

    let shown = fixture.run(&["credits", "show", "jane@example.com", "--json"]);
    assert!(shown.status.success(), "{shown:?}");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["credits"], 1200);
    let kinds: Vec<_> = shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["grant", "grant", "welcome"]);
    let text = fixture.run(&["credits", "show", &id]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with(&format!("{id} jane@example.com: 1200 credits")),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");

    let events = fixture.run(&["events", "--kind", "credits_granted"]);
    assert_eq!(String::from_utf8(events.stdout).unwrap().lines().count(), 2);

    for (args, message) in [
        (
            &[
                "credits",
                "grant",
                "jane@example.com",
                "-1201",
                "--reason",
                "x",
            ][..],
            "cannot change by -1201",
        ),
        (
            &[
                "credits",
                "grant",
                "nobody@example.com",
                "5",
                "--reason",
                "x",
            ][..],
            "no account has the id or email",
        ),
        (
            &["credits", "grant", "jane@example.com", "0", "--reason", "x"][..],
            "must not be zero",
        ),
        (
            &["credits", "grant", "jane@example.com", "5", "--reason", " "][..],
            "reason",
        ),
        (
            &["credits", "show", "nobody@example.com"][..],
            "no account has the id or email",
        ),
    ] {
        let failed = fixture.run(args);
        assert!(!failed.status.success(), "{args:?}");
        assert!(failed.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8(failed.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
    }
    let shown = fixture.run(&["credits", "show", "jane@example.com", "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["credits"], 1200, "the refusals changed nothing");
}

/// Runs a command that must succeed, and returns its stdout (checking nothing else was printed).
fn succeed(fixture: &Fixture, args: &[&str]) -> String {
    let output = fixture.run(args);
    assert!(output.status.success(), "{args:?}: {output:?}");
    assert!(output.stderr.is_empty(), "nothing but results: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn users_are_listed_shown_disabled_enabled_and_deleted() {
    let fixture = Fixture::new();
    let latchkey = latchkey_server::build_service(&fixture.settings())
        .await
        .unwrap();
    let client = ClientInfo::new(Some("cli-test"), Some("192.0.2.9".to_owned()));
    for (email, username) in [("jane@example.com", "jane"), ("bob@example.org", "bob")] {
        latchkey
            .register(
                RegisterInput::new()
                    .email(email)
                    .password("correct horse battery")
                    .username(username),
                client.clone(),
            )
            .await
            .unwrap();
    }
    let login = |identifier: &str| {
        LoginInput::new()
            .identifier(identifier)
            .password("correct horse battery")
    };
    let session = latchkey
        .login(login("jane@example.com"), client.clone())
        .await
        .unwrap();

    let listed = succeed(&fixture, &["users", "list"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let json = succeed(
        &fixture,
        &["users", "list", "--email", "*@EXAMPLE.com", "--json"],
    );
    let accounts: Vec<serde_json::Value> = json
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(accounts.len(), 1, "{json}");
    assert_eq!(accounts[0]["email"], "jane@example.com");
    assert_eq!(accounts[0]["username"], "jane");
    assert_eq!(accounts[0]["disabled_at"], serde_json::Value::Null);
    let jane_id = accounts[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        succeed(
            &fixture,
            &["users", "list", "--limit", "1", "--email", "bob"]
        )
        .lines()
        .count(),
        1
    );

    let shown = succeed(&fixture, &["users", "show", &jane_id]);
    for part in ["jane@example.com", "unverified", "status"] {
        assert!(shown.contains(part), "{shown}");
    }

    let disabled = succeed(
        &fixture,
        &[
            "users",
            "disable",
            "jane@example.com",
            "--reason",
            "abuse report 42",
            "--json",
        ],
    );
    let disabled: serde_json::Value = serde_json::from_str(disabled.trim()).unwrap();
    assert_eq!(disabled["disabled_reason"], "abuse report 42");
    assert!(disabled["disabled_at"].is_string());
    // The session the account had is over, and its password now gets the disabled answer.
    assert!(latchkey
        .authenticate(session.tokens.access_token.expose())
        .await
        .is_err());
    let refused = latchkey.login(login("jane"), client.clone()).await;
    assert!(
        matches!(refused, Err(latchkey_domain::LoginError::AccountDisabled)),
        "{refused:?}"
    );

    let enabled = succeed(&fixture, &["users", "enable", &jane_id]);
    assert!(enabled.contains("unverified"), "{enabled}");
    latchkey.login(login("jane"), client.clone()).await.unwrap();

    assert_eq!(
        succeed(&fixture, &["users", "delete", "jane@example.com", "--json"]).trim(),
        format!("{{\"deleted\":\"{jane_id}\"}}")
    );
    assert!(latchkey.find_account(&jane_id).await.unwrap().is_none());
    let events = succeed(&fixture, &["events", "--kind", "account_deleted", "--json"]);
    assert!(
        events.contains(&format!("{jane_id} by operator")),
        "{events}"
    );

    for args in [
        &["users", "show", "jane@example.com"][..],
        &["users", "disable", &jane_id],
        &["users", "enable", "nobody@example.com"],
        &["users", "delete", "usr_nobody"],
    ] {
        let failed = fixture.run(args);
        assert!(!failed.status.success(), "{args:?}");
        assert!(failed.stdout.is_empty());
        let stderr = String::from_utf8(failed.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("no account has the id or email"),
            "{stderr}"
        );
    }
}
