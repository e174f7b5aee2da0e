//! Outgoing email: the mailer the settings choose, and the background worker that delivers the outbox.

use std::sync::Arc;
use std::time::Duration;

use latchkey_domain::ports::{Clock, Mailer, Outbox};
use latchkey_domain::{Delivered, DeliveryPolicy, OutboxDelivery};
use latchkey_smtp::{LogMailer, SmtpMailer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::StartupError;
use crate::settings::{MailSettings, MailTransport};

/// How long the worker waits before looking again when nothing is due (or the outbox failed).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// How often the worker deletes finished emails older than `DeliveryPolicy::FINISHED_RETENTION`, when it has
/// nothing to send.
const PURGE_EVERY: Duration = Duration::from_secs(60 * 60);

/// The mailer `[mail]` asks for. Logs at start-up which transport is in force, so a deployer running with the log
/// transport knows no email leaves the machine.
///
/// # Errors
/// [`StartupError::Invalid`] for `transport = "smtp"` without a URL, an unusable URL or an unusable sender.
pub fn mailer(settings: &MailSettings) -> Result<Arc<dyn Mailer>, StartupError> {
    match (settings.effective_transport(), settings.smtp_url.as_deref()) {
        (MailTransport::Log, _) => Ok(Arc::new(LogMailer::new())),
        (MailTransport::Smtp, None) => Err(StartupError::Invalid(
            "mail.transport is `smtp` but mail.smtp_url is not set".to_owned(),
        )),
        (MailTransport::Smtp, Some(url)) => {
            let mailer = SmtpMailer::new(url, &settings.from)
                .map_err(|error| StartupError::Invalid(error.to_string()))?;
            tracing::info!(server = mailer.target(), from = %settings.from, "emails are sent over SMTP");
            Ok(Arc::new(mailer))
        }
    }
}

/// The running delivery worker.
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Starts delivering `outbox` through `mailer` on the current runtime.
    pub fn start(outbox: Arc<dyn Outbox>, mailer: Arc<dyn Mailer>, clock: Arc<dyn Clock>) -> Self {
        let delivery = OutboxDelivery::new(outbox, mailer, clock, DeliveryPolicy::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(delivery, stopped));
        Self { stop, task }
    }

    /// Asks the worker to stop and waits up to `grace` for it: it finishes the email in hand (whose claim would
    /// otherwise keep it from other instances until its lease runs out) and takes no new one.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!("the email worker did not finish in time; its email will be retried");
            task.abort();
        }
    }
}

async fn run(delivery: OutboxDelivery, mut stopped: watch::Receiver<bool>) {
    let mut next_purge = tokio::time::Instant::now();
    loop {
        if *stopped.borrow() {
            break;
        }
        let wait = match delivery.deliver_next().await {
            // Something was done: more may be due at once.
            Ok(Delivered::Sent | Delivered::Retrying | Delivered::GaveUp) => continue,
            // Nothing to send: at start-up and then hourly, delete finished emails past their retention.
            Ok(_) if tokio::time::Instant::now() >= next_purge => {
                next_purge = tokio::time::Instant::now() + PURGE_EVERY;
                match delivery.purge_finished().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "finished emails purged from the outbox"),
                    Err(error) => {
                        tracing::warn!(%error, "cannot purge the outbox; will try again in an hour")
                    }
                }
                continue;
            }
            Ok(Delivered::Idle) => IDLE_WAIT,
            Ok(_) => IDLE_WAIT,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox; will try again");
                IDLE_WAIT * 5
            }
        };
        tokio::select! {
            _ = stopped.changed() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("email worker stopped");
}
