//! The repository contract suite: the rules every [`crate::ports::UserRepository`],
//! [`crate::ports::SessionRepository`], [`crate::ports::ChallengeRepository`], [`crate::ports::CreditLedger`] and
//! [`crate::ports::Outbox`] must
//! obey, written once and run by each adapter.
//!
//! An adapter's test crate invokes `latchkey_domain::repository_contract!` with an async expression that yields a
//! fresh, empty store implementing both repositories; the macro expands to one `#[tokio::test]` per rule, so a
//! failure names the rule broken. The caller needs `tokio` with the `macros` and `rt` features.
//!
//! ## Adding a rule
//!
//! A rule is a `pub async fn name<S: Store>(store: &S)` written inside its module's `rules! { … }` block; that
//! declaration is also its registration, so a rule cannot exist without running. A new module declares its block,
//! `rules! { $ module => module_rules; … }`, and joins the chain at the end of this file; until it does, its
//! `module_rules!` macro is unused and the build warns (an error under `clippy -D warnings`). The blocks are
//! macro input, which rustfmt leaves alone: format a rule by hand or by moving it out of the block temporarily.

// The suite's whole purpose is to fail loudly when an adapter breaks a rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::ports::{
    ChallengeRepository, CredentialRepository, CreditLedger, EventLog, Outbox, RateLimiter,
    SessionRepository, UserRepository,
};

/// What the suite runs on: a store implementing every repository port.
pub trait Store:
    UserRepository
    + SessionRepository
    + CredentialRepository
    + ChallengeRepository
    + CreditLedger
    + Outbox
    + RateLimiter
    + EventLog
{
}

impl<T> Store for T where
    T: UserRepository
        + SessionRepository
        + CredentialRepository
        + ChallengeRepository
        + CreditLedger
        + Outbox
        + RateLimiter
        + EventLog
        + ?Sized
{
}

/// Declares a module's rules and emits `$list!`, which hands their names on along the chain below.
///
/// `$d` is a literal `$`, passed in because a macro cannot write one into the macro it defines.
macro_rules! rules {
    (
        $d:tt $module:ident => $list:ident;
        $(
            $(#[$meta:meta])*
            pub async fn $name:ident<S: Store>($store:ident: &S) $body:block
        )+
    ) => {
        $(
            $(#[$meta])*
            pub async fn $name<S: Store>($store: &S) $body
        )+

        /// Calls the first macro named with the rest of the chain and the names gathered so far, plus this
        /// module's rules.
        macro_rules! $list {
            ($d next:ident $d(, $d rest:ident)* ; $d($d gathered:tt)*) => {
                $d next!($d($d rest),* ; $d($d gathered)* $($module::$name)+);
            };
        }
    };
}

#[macro_use]
pub mod cancellation;
#[macro_use]
pub mod challenges;
#[macro_use]
pub mod credentials;
#[macro_use]
pub mod events;
pub mod fixtures;
#[macro_use]
pub mod ledger;
#[macro_use]
pub mod lifecycle;
#[macro_use]
pub mod limiter;
#[macro_use]
pub mod sessions;
#[macro_use]
pub mod outbox;
#[macro_use]
pub mod users;

/// The end of the chain: defines `repository_contract!` with every rule gathered.
macro_rules! define_repository_contract {
    ( ; $d:tt $($module:ident :: $name:ident)+ ) => {
        /// Every rule of the suite, as `module::rule`, in the order `repository_contract!` generates them.
        pub const RULES: &[&str] = &[$(concat!(stringify!($module), "::", stringify!($name))),+];

        /// Expands to one test per repository rule. `$store` is an async expression evaluated anew for each test.
        ///
        /// ```text
        /// latchkey_domain::repository_contract!(async { MemoryStore::new() });
        /// ```
        ///
        /// Stores that need a resource kept alive for the test (a temporary directory, a throw-away database), or
        /// that may be unavailable (no database server on this machine), use the `optional:` form: the expression
        /// yields `Option<(store, guard)>`; `None` skips the test, and the guard is dropped after it.
        ///
        /// ```text
        /// latchkey_domain::repository_contract!(optional: async { Some((open_store().await, temp_dir)) });
        /// ```
        #[macro_export]
        macro_rules! repository_contract {
            (optional: $d fixture:expr) => {
                $(
                    #[tokio::test]
                    async fn $name() {
                        let Some((store, _guard)) = $d fixture.await else {
                            return;
                        };
                        $d crate::testkit::$module::$name(&store).await;
                    }
                )+
            };
            ($d store:expr) => {
                $(
                    #[tokio::test]
                    async fn $name() {
                        let store = $d store.await;
                        $d crate::testkit::$module::$name(&store).await;
                    }
                )+
            };
        }
    };
}

// Every module's rules, gathered in turn; a module missing here leaves its `*_rules!` unused, which warns.
users_rules!(
    sessions_rules,
    credentials_rules,
    cancellation_rules,
    challenge_rules,
    outbox_rules,
    limiter_rules,
    event_rules,
    lifecycle_rules,
    ledger_rules,
    define_repository_contract;
    $
);

/// Waits until `check` holds, re-checking after yielding to the runtime, for writes a store completes after answering.
/// Gives up (failing the rule) after many tries rather than hanging.
pub(crate) async fn eventually<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100_000 {
        if check().await {
            return;
        }
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
    }
    panic!("a store write never became visible");
}

/// Polls every future until all are done, interleaving them, so that a store sees them all in flight at once;
/// the outputs in the futures' order.
pub(crate) async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => *output = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
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
