//! The background job that deletes ended sessions, expired refresh tokens and expired challenges
//! ([`Latchkey::purge_spent`]), so no table grows without bound.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::service::Purged;
use latchkey_domain::Latchkey;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running purge job: one run at start, then one every interval. Every instance runs its own; the deletes are
/// idempotent, so instances sharing a database only repeat each other's (empty) work.
#[derive(Debug)]
pub struct Purger {
    stop: watch::Sender<bool>,
    reports: watch::Receiver<Option<Purged>>,
    task: JoinHandle<()>,
}

impl Purger {
    /// Starts purging through `latchkey` every `interval`, on the current runtime.
    pub fn start(latchkey: Arc<Latchkey>, interval: Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        let (report, reports) = watch::channel(None);
        let task = tokio::spawn(run(latchkey, interval, stopped, report));
        Self {
            stop,
            reports,
            task,
        }
    }

    /// What each completed run removed, newest last: for tests and metrics.
    pub fn reports(&self) -> watch::Receiver<Option<Purged>> {
        self.reports.clone()
    }

    /// Stops the job, waiting for a run in progress (a few short statements) to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "the purge job ended abnormally");
        }
    }
}

async fn run(
    latchkey: Arc<Latchkey>,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
    report: watch::Sender<Option<Purged>>,
) {
    loop {
        if *stopped.borrow() {
            break;
        }
        match latchkey.purge_spent().await {
            Ok(purged) => {
                if purged != Purged::default() {
                    tracing::info!(
                        sessions_and_tokens = purged.sessions,
                        challenges = purged.challenges,
                        idempotency_keys = purged.idempotency_keys,
                        welcomed = purged.welcomed,
                        "purged ended sessions and expired secrets"
                    );
                }
                report.send_replace(Some(purged));
            }
            // The next run picks up where this one stopped.
            Err(error) => tracing::warn!(%error, "purge failed; will try again"),
        }
        tokio::select! {
            _ = stopped.changed() => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn purges_at_start_and_then_every_interval_until_stopped() {
        let memory = latchkey_memory::service();
        let latchkey = Arc::new(memory.latchkey);
        let login = latchkey_domain::service::LoginInput::new()
            .identifier("jane@example.com")
            .password("correct horse battery");
        latchkey
            .register(
                latchkey_domain::service::RegisterInput::new()
                    .email("jane@example.com")
                    .password("correct horse battery"),
                Default::default(),
            )
            .await
            .unwrap();
        latchkey
            .login(login.clone(), Default::default())
            .await
            .unwrap();
        memory.clock.advance(chrono::TimeDelta::days(30));

        let purger = Purger::start(latchkey.clone(), Duration::from_secs(3600));
        let mut reports = purger.reports();
        reports.changed().await.unwrap();
        let first = reports.borrow_and_update().unwrap();
        assert_eq!(first.sessions, 2, "{first:?}");
        assert_eq!(first.challenges, 1, "{first:?}");

        // An hour later (paused time moves on by itself), the next run finds the session of a new login ended.
        latchkey.login(login, Default::default()).await.unwrap();
        memory.clock.advance(chrono::TimeDelta::days(30));
        reports.changed().await.unwrap();
        assert_eq!(reports.borrow_and_update().unwrap().sessions, 1);
        purger.stop().await;
    }
}
