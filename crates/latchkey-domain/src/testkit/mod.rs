//! The repository contract suite: the rules every [`crate::ports::UserRepository`] and
//! [`crate::ports::SessionRepository`] must obey, written once and run by each adapter.
//!
//! An adapter's test crate invokes [`repository_contract!`](crate::repository_contract) with an async expression
//! that yields a fresh, empty store implementing both repositories; the macro expands to one `#[tokio::test]` per
//! rule, so a failure names the rule broken. The caller needs `tokio` with the `macros` and `rt` features.

// The suite's whole purpose is to fail loudly when an adapter breaks a rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cancellation;
pub mod fixtures;
pub mod sessions;
pub mod users;

/// Expands to one test per repository rule. `$store` is an async expression evaluated anew for each test.
///
/// ```text
/// latchkey_domain::repository_contract!(async { MemoryStore::new() });
/// ```
///
/// Stores that need a resource kept alive for the test (a temporary directory, a throw-away database), or that may
/// be unavailable (no database server on this machine), use the `optional:` form: the expression yields
/// `Option<(store, guard)>`; `None` skips the test, and the guard is dropped after it.
///
/// ```text
/// latchkey_domain::repository_contract!(optional: async { Some((open_store().await, temp_dir)) });
/// ```
#[macro_export]
macro_rules! repository_contract {
    (optional: $fixture:expr) => {
        $crate::repository_contract!(@rules @optional $fixture);
    };
    ($store:expr) => {
        $crate::repository_contract!(@rules @required $store);
    };
    (@rules @$kind:ident $store:expr) => {
        $crate::repository_contract!(@tests $kind $store;
            users::insert_then_find_by_id_email_and_username,
            users::email_is_unique_case_insensitively,
            users::username_is_unique_case_insensitively,
            users::users_without_username_do_not_collide,
            users::unknown_users_are_none,
            users::update_password_revokes_other_sessions,
            users::update_password_of_unknown_user_is_false,
            users::find_by_active_session_sees_only_live_own_sessions,
            users::email_conflict_is_reported_before_username_conflict,
            users::concurrent_registrations_of_one_email_admit_one,
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
            sessions::list_shows_only_the_users_sessions,
            sessions::concurrent_rotations_of_one_token_rotate_once,
            sessions::duplicate_token_hash_is_refused_and_writes_nothing,
            cancellation::cancelled_insert_is_all_or_nothing,
            cancellation::cancelled_reads_leave_the_store_usable,
            cancellation::cancelled_create_is_all_or_nothing,
            cancellation::cancelled_rotate_is_all_or_nothing,
            cancellation::cancelled_update_password_leaves_the_store_usable,
            cancellation::cancelled_revocations_leave_the_store_usable,
        );
    };
    (@tests required $store:expr; $($module:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $store.await;
                $crate::testkit::$module::$case(&store).await;
            }
        )+
    };
    (@tests optional $fixture:expr; $($module:ident :: $case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some((store, _guard)) = $fixture.await else {
                    return;
                };
                $crate::testkit::$module::$case(&store).await;
            }
        )+
    };
}

/// Polls both futures until both are done, interleaving them, so that a store sees two requests in flight at once.
/// (What `tokio::join!` does, without making tokio a dependency of the domain.)
pub(crate) async fn join<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: std::future::Future,
    B: std::future::Future,
{
    use std::task::Poll;
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut a_out, mut b_out) = (None, None);
    std::future::poll_fn(|cx| {
        if a_out.is_none() {
            if let Poll::Ready(out) = a.as_mut().poll(cx) {
                a_out = Some(out);
            }
        }
        if b_out.is_none() {
            if let Poll::Ready(out) = b.as_mut().poll(cx) {
                b_out = Some(out);
            }
        }
        match (a_out.take(), b_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (a_out, b_out) = (a, b);
                Poll::Pending
            }
        }
    })
    .await
}
