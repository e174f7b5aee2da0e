//! On each backend (this file is compiled for both, as the repositories are): the statements of the hot paths are
//! kept prepared by their connection, so a login, a refresh or a charge parses and plans nothing once the
//! connection has run each statement once. See [`crate::cached`].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeDelta;
use diesel_async::AsyncConnection;
use latchkey_domain::model::Email;
use latchkey_domain::policy::Rate;
use latchkey_domain::ports::{
    Admission, CreditLedger, LimitKey, RateLimiter, SessionRepository, UserLookup, UserRepository,
};
use latchkey_domain::testkit::fixtures::{charge, new_login, new_user, rotation, t0};

use crate::cached::statement_log::StatementLog;
use crate::pool::Pooled;

#[tokio::test]
async fn logins_refreshes_and_charges_keep_their_statements_prepared() {
    // One connection, so every statement below runs on the one the log watches.
    let Some((_database, store)) = super::store_for_tests(1).await else {
        return;
    };
    let jane = store
        .insert(&new_user("jane", "jane@example.com", None))
        .await
        .unwrap();
    let log = StatementLog::default();
    let watching = log.clone();
    store
        .run_raw("watch statements", move |connection| {
            Box::pin(async move {
                connection.set_instrumentation(watching);
                Ok(())
            })
        })
        .await
        .unwrap()
        .unwrap();

    let attempts = LimitKey::new("login:account", "jane@example.com");
    let rate = Rate::new(10, TimeDelta::minutes(1)).unwrap();
    let email = UserLookup::Email(Email::parse("jane@example.com").unwrap());
    // Three rounds: the first below the cap, the next two at it (their login also ends a session and records its
    // event), so the third runs exactly the statements of the second. A statement kept is found again; one that is
    // not is prepared again, and so is one whose SQL changes from call to call.
    let mut after_second = 0;
    for n in 1..=3 {
        let at = t0() + TimeDelta::minutes(n);
        assert_eq!(
            store.acquire(&attempts, rate, at).await.unwrap(),
            Admission::Admitted
        );
        store.find_credentials(&email).await.unwrap().unwrap();
        let (session, token) = (format!("s{n}"), format!("tok-{n}"));
        let mut login = new_login(&session, &jane.id, &token, at, "$fake$jane", &attempts);
        // At the cap from the second login on: the oldest session is ended in the login's statement.
        login.session.max_live_sessions = Some(1);
        let created = store.create_login(&login).await.unwrap();
        assert_eq!(created.revocations.len(), usize::from(n > 1));
        assert!(store
            .is_active(&created.session.id, &jane.id, at)
            .await
            .unwrap());
        store
            .rotate(&rotation(&token, &format!("{token}-next"), at))
            .await
            .unwrap();
        store
            .charge(&charge(
                &jane.id,
                &n.to_string(),
                &format!("key-{n}"),
                1,
                1,
                at,
            ))
            .await
            .unwrap();
        if n == 2 {
            after_second = log.prepared_and_kept();
        }
    }
    // The statements of these paths, less transaction control: a count, a lookup, the login's five writes and its
    // account lock, a session check, a rotation's reads and writes, a charge's.
    assert!(log.ran() >= 15, "the log saw {} statements", log.ran());
    assert_eq!(
        log.not_kept(),
        Vec::<String>::new(),
        "prepared again on every use"
    );
    assert_eq!(
        log.prepared_and_kept(),
        after_second,
        "the third round prepared a statement again (new SQL each time?)"
    );
}
