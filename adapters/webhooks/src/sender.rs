//! The sender: works through every enabled endpoint's queue, one delivery per endpoint at a
//! time, each endpoint on a task of its own.
//!
//! Each round it asks the store for the head of every queue ([`WebhookStore::next_deliveries`])
//! and starts a task for each head that is due and whose endpoint has no attempt running.
//! One attempt per endpoint at a time is what keeps an endpoint's deliveries in feed order;
//! a task per endpoint is what keeps a slow or failing endpoint from delaying any other. A
//! finished attempt wakes the loop at once, so the next delivery of that endpoint follows
//! without waiting for a poll.
//!
//! An attempt is one signed POST of the stored body. Any 2xx answer is a success; any other
//! answer, a redirect (not followed), a timeout or a connection failure is a failure, retried
//! on the [`RetrySchedule`](crate::RetrySchedule); when the schedule runs out the delivery is
//! given up and the endpoint disabled, with the reason, in the same transaction. An attempt
//! cut short by a shutdown or a lost lease is not recorded and is made again later: delivery
//! is at least once, and receivers deduplicate by `webhook-id`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use runtime::{AttemptOutcome, AttemptRecorded, DeliveryAttempt, QueuedDelivery, WebhookStore};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::settings::WebhookSettings;
use crate::signing::{sign, Secret, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};

const AGENT: &str = concat!("commerce-webhooks/", env!("CARGO_PKG_VERSION"));

/// The HTTP client could not be built (its TLS configuration failed).
#[derive(Debug, thiserror::Error)]
#[error("could not build the webhook HTTP client")]
pub struct ClientError(#[source] reqwest::Error);

pub struct Sender {
    store: Arc<dyn WebhookStore>,
    client: reqwest::Client,
    settings: Arc<WebhookSettings>,
}

impl Sender {
    pub fn new(
        store: Arc<dyn WebhookStore>,
        settings: Arc<WebhookSettings>,
    ) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(ClientError)?;
        Ok(Self {
            store,
            client,
            settings,
        })
    }

    /// Sends until `stop` turns true, waking on `queued` (the dispatcher queued something),
    /// when an attempt finishes, when the earliest retry comes due, or every poll interval.
    /// Attempts still running when it stops are abandoned unrecorded.
    pub async fn run(self, queued: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        let mut running: JoinSet<(Recorded, Option<QueuedDelivery>)> = JoinSet::new();
        let mut endpoint_of: HashMap<tokio::task::Id, Uuid> = HashMap::new();
        let mut busy: HashSet<Uuid> = HashSet::new();
        // Endpoints whose last attempt could not be recorded rest until then, rather than be
        // sent the same delivery again and again while the store refuses writes.
        let mut resting: HashMap<Uuid, Instant> = HashMap::new();
        let mut failures: u32 = 0;
        // Whether to ask the store what is due: not when the attempt that just finished
        // already said what its endpoint sends next.
        let mut ask = true;
        let mut wake_at = Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if !std::mem::replace(&mut ask, true) {
                // Keep the earliest wake-up the last read found, if it is still ahead.
                wake_at = wake_at.max(Instant::now() + Duration::from_millis(1));
            } else {
                wake_at = Instant::now() + self.settings.poll_interval;
                match self.store.next_deliveries().await {
                    Ok(heads) => {
                        failures = 0;
                        let now = Utc::now();
                        resting.retain(|_, until| *until > Instant::now());
                        for head in heads {
                            if busy.contains(&head.endpoint_id) {
                                continue;
                            }
                            if let Some(until) = resting.get(&head.endpoint_id) {
                                wake_at = wake_at.min(*until);
                                continue;
                            }
                            if head.due_at > now {
                                let wait = (head.due_at - now).to_std().unwrap_or_default();
                                wake_at = wake_at.min(Instant::now() + wait);
                                continue;
                            }
                            if busy.len() >= self.settings.max_in_flight {
                                continue;
                            }
                            busy.insert(head.endpoint_id);
                            let endpoint = head.endpoint_id;
                            let task = running.spawn(attempt(
                                Arc::clone(&self.store),
                                self.client.clone(),
                                Arc::clone(&self.settings),
                                head,
                            ));
                            endpoint_of.insert(task.id(), endpoint);
                        }
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(%error, failures, "could not read the webhook queues");
                        let backoff = Duration::from_millis(100 * u64::from(failures.min(50)));
                        wake_at = Instant::now() + backoff;
                    }
                }
            }
            tokio::select! {
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let (task, recorded, next) = match done {
                        Ok((task, (recorded, next))) => (task, recorded, next),
                        Err(error) => {
                            tracing::error!(%error, "a webhook attempt panicked");
                            (error.id(), Recorded::No, None)
                        }
                    };
                    if let Some(endpoint) = endpoint_of.remove(&task) {
                        busy.remove(&endpoint);
                        if recorded == Recorded::No {
                            resting.insert(endpoint, Instant::now() + self.settings.poll_interval);
                        }
                    }
                    // The endpoint's next delivery, read with the attempt: send it now if it
                    // is due, without asking the store again.
                    if let Some(next) = next.filter(|next| next.due_at <= Utc::now()) {
                        if !busy.contains(&next.endpoint_id) && busy.len() < self.settings.max_in_flight {
                            busy.insert(next.endpoint_id);
                            let endpoint = next.endpoint_id;
                            let task = running.spawn(attempt(
                                Arc::clone(&self.store),
                                self.client.clone(),
                                Arc::clone(&self.settings),
                                next,
                            ));
                            endpoint_of.insert(task.id(), endpoint);
                            ask = false;
                        }
                    }
                }
                () = tokio::time::sleep_until(wake_at) => {}
                () = queued.notified() => {}
                stopped = stop.changed() => {
                    if stopped.is_err() {
                        break;
                    }
                }
            }
        }
        running.shutdown().await;
        tracing::info!("webhook sender stopped");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    Yes,
    No,
}

/// Makes one attempt at `queued` and records it with its outcome; answers whether it was
/// recorded, and the endpoint's next delivery as the store said in the same transaction.
async fn attempt(
    store: Arc<dyn WebhookStore>,
    client: reqwest::Client,
    settings: Arc<WebhookSettings>,
    queued: QueuedDelivery,
) -> (Recorded, Option<QueuedDelivery>) {
    let number = queued.attempts_made.saturating_add(1);
    let attempted_at = Utc::now();
    let started = Instant::now();
    let answer = post(&client, &queued, attempted_at.timestamp()).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (response_status, error) = match answer {
        Ok(status) => (Some(status), None),
        Err(error) => (None, Some(error)),
    };
    let succeeded = response_status.is_some_and(|status| (200..300).contains(&status));
    let outcome = if succeeded {
        AttemptOutcome::Succeeded
    } else {
        let failure = match (&response_status, &error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".to_owned(),
        };
        match settings.retry_schedule.wait_after(number) {
            Some(wait) => AttemptOutcome::RetryAt(later(attempted_at, wait)),
            None => AttemptOutcome::GaveUp {
                reason: format!(
                    "delivery {} failed {number} times over {}; last failure: {failure}",
                    queued.delivery_id,
                    crate::settings::format_duration(settings.retry_schedule.span()),
                ),
            },
        }
    };
    let attempt = DeliveryAttempt {
        number,
        attempted_at,
        duration_ms,
        response_status,
        error,
    };
    match store
        .record_attempt(queued.delivery_id, &attempt, &outcome)
        .await
    {
        Ok(AttemptRecorded::Recorded { next }) => {
            if let AttemptOutcome::GaveUp { reason } = &outcome {
                tracing::warn!(endpoint = %queued.endpoint_id, %reason, "webhook endpoint disabled");
            }
            (Recorded::Yes, next)
        }
        // Recorded by someone else meanwhile (a lease handover), or the endpoint was deleted.
        Ok(AttemptRecorded::NotCurrent) => {
            tracing::info!(delivery = %queued.delivery_id, "webhook attempt no longer current");
            (Recorded::Yes, None)
        }
        // The delivery stays due as it was: it is sent again, and the receiver deduplicates.
        Err(error) => {
            tracing::warn!(delivery = %queued.delivery_id, %error, "could not record a webhook attempt");
            (Recorded::No, None)
        }
    }
}

/// Sends the delivery; the answer's status, or why there was none.
async fn post(
    client: &reqwest::Client,
    queued: &QueuedDelivery,
    timestamp: i64,
) -> Result<u16, String> {
    let secret = Secret::parse(&queued.secret)
        .map_err(|error| format!("the endpoint's secret is unusable: {error}"))?;
    let signature = sign(
        &secret,
        &queued.message_id,
        timestamp,
        queued.payload.as_bytes(),
    );
    let response = client
        .post(&queued.url)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, AGENT)
        .header(WEBHOOK_ID, &queued.message_id)
        .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
        .header(WEBHOOK_SIGNATURE, signature)
        .body(queued.payload.clone())
        .send()
        .await
        .map_err(|error| describe(&error))?;
    Ok(response.status().as_u16())
}

/// A reqwest error with its causes, which say what actually went wrong (refused, reset, DNS).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn later(time: chrono::DateTime<Utc>, wait: Duration) -> chrono::DateTime<Utc> {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| time.checked_add_signed(wait))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}
