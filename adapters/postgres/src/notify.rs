//! Wakes this instance's feed readers when any instance commits events (LISTEN/NOTIFY).

use std::sync::Arc;
use std::time::Duration;

use runtime::{AppendWatch, FeedSignal};
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::PostgresStore;

/// The channel the `events_notify_appended` trigger notifies.
const CHANNEL: &str = "commerce_events";
/// The channel the `events_notify_checkouts` trigger notifies, with a checkout's id.
const CHECKOUTS: &str = "commerce_checkouts";

impl PostgresStore {
    /// Turns commit notifications into `signal` wake-ups until `shutdown` turns true,
    /// reconnecting after a lost connection. Readers poll anyway, so a gap only costs latency.
    pub async fn forward_appends(&self, signal: FeedSignal, shutdown: watch::Receiver<bool>) {
        self.forward_notifications(signal, None, shutdown).await;
    }

    /// [`Self::forward_appends`], and wakes the waiters `checkouts` holds on a checkout's
    /// stream when any instance appends to it (ADR 0041): a shopper long-polling a checkout on
    /// this instance learns at once that another instance's saga finished it.
    pub async fn forward_notifications(
        &self,
        signal: FeedSignal,
        checkouts: Option<Arc<AppendWatch>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut pause = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let listener = async {
                let mut listener = PgListener::connect_with(&self.pool).await?;
                listener.listen_all([CHANNEL, CHECKOUTS]).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = match listener.await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "could not listen for appended events; polling only");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => return,
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            pause = Duration::from_millis(100);
            // Events committed while no one listened would otherwise wait for the next poll.
            signal.notify();
            loop {
                tokio::select! {
                    received = listener.recv() => match received {
                        Ok(notification) if notification.channel() == CHECKOUTS => {
                            // This instance's own appends woke their waiters already, with
                            // the state they left in memory.
                            let own = self.is_own_backend(notification.process_id());
                            if let (Some(checkouts), false) = (&checkouts, own) {
                                checkouts.appended_elsewhere(notification.payload());
                            }
                        }
                        Ok(_) => signal.notify(),
                        Err(error) => {
                            tracing::warn!(%error, "lost the event notification connection");
                            break;
                        }
                    },
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}
