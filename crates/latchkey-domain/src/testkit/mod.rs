//! The repository contract suite: the rules every [`crate::ports::UserRepository`] and
//! [`crate::ports::SessionRepository`] must obey, written once and run by each adapter.
//!
//! An adapter's test crate invokes [`repository_contract!`](crate::repository_contract) with an async expression
//! that yields a fresh, empty store implementing both repositories; the macro expands to one `#[tokio::test]` per
//! rule, so a failure names the rule broken. The caller needs `tokio` with the `macros` and `rt` features.

// The suite's whole purpose is to fail loudly when an adapter breaks a rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod sessions;
pub mod users;

/// Expands to one test per repository rule. `$store` is an async expression evaluated anew for each test.
///
/// ```ignore
/// latchkey_domain::repository_contract!(async { MemoryStore::new() });
/// ```
#[macro_export]
macro_rules! repository_contract {
    ($store:expr) => {
        $crate::repository_contract!(@tests $store;
            users::insert_then_find_by_id_email_and_username,
            users::email_is_unique_case_insensitively,
            users::username_is_unique_case_insensitively,
            users::users_without_username_do_not_collide,
            users::unknown_users_are_none,
            users::update_password_revokes_other_sessions,
            users::update_password_of_unknown_user_is_false,
            sessions::create_then_is_active_and_listed,
            sessions::is_active_checks_the_owner,
            sessions::rotate_spends_the_token_once,
            sessions::retry_within_grace_returns_the_same_rotation,
            sessions::replay_after_grace_revokes_the_session,
            sessions::retry_after_successor_used_is_reuse,
            sessions::expired_and_unknown_tokens_are_rejected,
            sessions::revoked_session_rejects_its_tokens,
            sessions::revoke_only_affects_own_sessions,
            sessions::revoke_all_revokes_every_session,
            sessions::list_hides_expired_sessions_and_orders_newest_first,
        );
    };
    (@tests $store:expr; $($module:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $store.await;
                $crate::testkit::$module::$case(&store).await;
            }
        )+
    };
}
