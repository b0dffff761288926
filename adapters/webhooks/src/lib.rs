//! Webhooks: published events delivered to external HTTP subscribers, signed per the Standard
//! Webhooks specification, retried with backoff for more than a day, logged attempt by attempt.
//!
//! # Design
//!
//! - **Outside the command path.** Delivery is a feed consumer: the [`Dispatcher`] reads the
//!   published feed (ADR 0015) behind its own checkpoint and queues deliveries in the store;
//!   the [`Sender`] sends them. A command never waits for either, however slow subscribers are.
//! - **One instance at a time.** Both run under the lease `webhooks` ([`run`]); another
//!   instance takes over within about a second of the holder dying. Queues and checkpoint are
//!   in the database, so nothing is lost in the handover; an attempt cut short is made again.
//! - **Feed order per endpoint.** An endpoint's next delivery waits until the one before it
//!   succeeded or was given up, so a subscriber sees `order_placed` before `order_paid` even
//!   across retries. This is stricter than, say, Shopify, whose webhooks may arrive in any
//!   order and must be re-ordered by timestamp; the price is head-of-line blocking: while one
//!   delivery is being retried, the endpoint's later ones wait (other endpoints do not). We
//!   chose order because subscribers of an event-sourced system mostly apply state changes,
//!   which are wrong out of order, and because a failing endpoint is usually failing for all
//!   its deliveries anyway.
//! - **Independent endpoints.** Each endpoint is sent to on a task of its own, one attempt at
//!   a time, with a request timeout, so one that hangs or fails delays no other.
//! - **Retries and disabling.** A failed attempt (any answer but 2xx, a timeout, a refused
//!   connection) is retried on the [`RetrySchedule`]: by default immediately, then after 5 s,
//!   5 min, 30 min, 2 h, 5 h, 10 h and 10 h. When a delivery fails after the last wait it is
//!   given up and its endpoint disabled with the reason; its later deliveries wait in the
//!   queue until an administrator enables the endpoint again, and the given-up one can be
//!   redelivered. While an endpoint is disabled, no new events are queued for it.
//! - **Messages and dedupe.** The body is the published event's envelope as JSON, exactly as
//!   queued. `webhook-id` is the event id: the same for every retry and every manual
//!   redelivery of that event to that endpoint (the specification asks for the same id when a
//!   message is resent), so receivers deduplicate by it. Delivery is at least once.
//! - **History.** An endpoint receives the events that occur after it was registered, not the
//!   history before it.

pub mod dispatcher;
pub mod sender;
pub mod settings;
pub mod signing;

use std::sync::Arc;

use runtime::lease::run_exclusively;
use runtime::{Leases, PublishedFeed, WebhookStore};
use tokio::sync::{watch, Notify};

pub use dispatcher::{DispatchError, Dispatched, Dispatcher};
pub use sender::{ClientError, Sender};
pub use settings::{format_duration, parse_duration, BadDuration, RetrySchedule, WebhookSettings};
pub use signing::{
    generate_secret_text, sign, verify, Secret, SecretError, SignedHeaders, VerifyError,
};

/// The lease the webhook workers run under.
pub const LEASE: &str = "webhooks";

/// The dispatcher and the sender, ready to run.
pub struct Webhooks {
    feed: PublishedFeed,
    store: Arc<dyn WebhookStore>,
    settings: Arc<WebhookSettings>,
}

impl Webhooks {
    /// Checks that the HTTP client can be built, so a bad TLS setup fails at start.
    pub fn new(
        feed: PublishedFeed,
        store: Arc<dyn WebhookStore>,
        settings: WebhookSettings,
    ) -> Result<Self, ClientError> {
        let settings = Arc::new(settings);
        Sender::new(Arc::clone(&store), Arc::clone(&settings))?;
        Ok(Self {
            feed,
            store,
            settings,
        })
    }

    /// Runs the dispatcher and the sender whenever this instance holds the lease, until
    /// `shutdown` turns true. `feed_signal` wakes the dispatcher on appends in this process.
    pub async fn run(
        self,
        leases: Arc<dyn Leases>,
        feed_signal: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
    ) {
        run_exclusively(leases, LEASE, shutdown, |stop| {
            let dispatcher = Dispatcher::new(
                self.feed.clone(),
                Arc::clone(&self.store),
                self.settings.batch_size,
                self.settings.poll_interval,
            );
            let sender = Sender::new(Arc::clone(&self.store), Arc::clone(&self.settings));
            let feed_signal = feed_signal.clone();
            async move {
                let sender = match sender {
                    Ok(sender) => sender,
                    Err(error) => {
                        // `new` built one already; this is not expected to happen.
                        tracing::error!(%error, "webhooks cannot run");
                        return;
                    }
                };
                let queued = Arc::new(Notify::new());
                tokio::join!(
                    dispatcher.run(feed_signal, Arc::clone(&queued), stop.clone()),
                    sender.run(queued, stop),
                );
            }
        })
        .await;
    }
}
