//! The relay worker: feed → JetStream, one batch at a time, checkpointed after the acks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use runtime::lease::run_exclusively;
use runtime::{
    CommitOutcome, Cursor, Leases, ProjectionStore, PublishedEvent, PublishedFeed, StoreError,
    TypeFilter,
};
use tokio::sync::watch;
use uuid::Uuid;

use crate::config::RelayConfig;
use crate::message::{self, Encoded};

/// The lease that keeps the relay on one instance at a time.
pub const LEASE: &str = "nats_relay";
/// Where the relay stands: how far it has published, and how far its checkpoint says.
#[derive(Debug, Clone, Copy)]
struct Position {
    stored: Cursor,
    relayed: Cursor,
    stored_at: Instant,
}

/// The projection checkpoint that records how far the relay has published.
pub const CHECKPOINT: &str = "nats_relay";

/// The longest pause between two attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a relay cycle failed. Every failure is retried (with a growing pause); none of them
/// moves the checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("cannot connect to NATS at {url}")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    #[error("cannot create or open the JetStream stream {stream}")]
    Stream {
        stream: String,
        #[source]
        source: jetstream::context::CreateStreamError,
    },
    /// The publish was refused, timed out or its ack never came; the batch is published again.
    #[error("publishing event {event_id} to {subject} was not acknowledged")]
    Publish {
        event_id: Uuid,
        subject: String,
        #[source]
        source: jetstream::context::PublishError,
    },
    /// A message could not even be queued for sending (the client is gone); the batch is
    /// published again.
    #[error("sending event {event_id} to {subject} failed")]
    Send {
        event_id: Uuid,
        subject: String,
        #[source]
        source: async_nats::PublishError,
    },
    /// The connection broke with acks outstanding: they will never come (the server answers
    /// on the connection that asked), so the batch is retried at once instead of timing out.
    #[error("the NATS connection broke while publishing")]
    Disconnected,
    #[error("event {event_id} cannot be encoded")]
    Encode {
        event_id: Uuid,
        #[source]
        source: serde_json::Error,
    },
    /// The published feed could not be read, or holds an event that cannot be published: the
    /// relay stops there rather than skip it.
    #[error("reading the published feed")]
    Feed(#[source] runtime::PublishError),
    #[error("reading or moving the relay checkpoint")]
    Checkpoint(#[source] StoreError),
}

impl RelayError {
    /// Whether the publish found no stream for its subject.
    fn is_missing_stream(&self) -> bool {
        matches!(
            self,
            RelayError::Publish { source, .. }
                if source.kind() == jetstream::context::PublishErrorKind::StreamNotFound
        )
    }
}

/// What the relay has done, for health checks, metrics and tests. Shared with the worker.
#[derive(Debug, Default)]
pub struct RelayStats {
    acknowledged: AtomicU64,
    failed_cycles: AtomicU64,
    active: AtomicBool,
}

impl RelayStats {
    /// Publishes JetStream acknowledged, duplicates it dropped included.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged.load(Ordering::Relaxed)
    }

    /// Cycles that failed and were retried (NATS unreachable, a broken connection, the store
    /// unavailable...).
    pub fn failed_cycles(&self) -> u64 {
        self.failed_cycles.load(Ordering::Relaxed)
    }

    /// Whether this instance holds the lease and relays right now.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }
}

/// Marks the relay active for as long as it lives, however the worker ends.
struct Active<'a>(&'a RelayStats);

impl<'a> Active<'a> {
    fn new(stats: &'a RelayStats) -> Self {
        stats.active.store(true, Ordering::Relaxed);
        Self(stats)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.store(false, Ordering::Relaxed);
    }
}

/// Relays every published event to NATS JetStream (see the crate docs for the guarantees).
pub struct NatsRelay {
    config: RelayConfig,
    feed: PublishedFeed,
    checkpoints: Arc<dyn ProjectionStore>,
    stats: Arc<RelayStats>,
}

/// What the relay knows of its stream's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// The stream's last sequence is this one, as far as the relay knows: its next publishes
    /// may be pipelined, each expecting its predecessor's sequence.
    Known(u64),
    /// After a start, a failure or a duplicate: publish one at a time until an ack says where
    /// the stream ends.
    Unknown,
}

/// A connection (which reconnects by itself) and what the relay knows through it.
struct Connected {
    /// The plain client under `jetstream`, for publishes that need no ack.
    client: async_nats::Client,
    jetstream: jetstream::Context,
    /// Counts the connection's disconnections.
    disconnects: watch::Receiver<u64>,
    /// Whether the stream is known to exist: checked on connecting, and again after a
    /// publish found no stream (deleted by an operator, say).
    stream_ready: bool,
    tail: Tail,
}

/// The outcome of one successful cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cycle {
    /// A full batch went out: more is probably waiting.
    More,
    /// Some events went out and nothing more was visible: more is probably on its way.
    Trickle,
    /// Everything visible was relayed.
    CaughtUp,
    /// Told to stop, it left the batch unfinished.
    Stopped,
}

impl NatsRelay {
    /// A relay of the events `feed` publishes, with its checkpoint in `checkpoints`.
    pub fn new(
        config: RelayConfig,
        feed: PublishedFeed,
        checkpoints: Arc<dyn ProjectionStore>,
    ) -> Self {
        Self {
            config,
            feed,
            checkpoints,
            stats: Arc::new(RelayStats::default()),
        }
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    /// A handle on what the relay does, valid after [`NatsRelay::run`] consumed it.
    pub fn stats(&self) -> Arc<RelayStats> {
        Arc::clone(&self.stats)
    }

    /// Relays while this instance holds the [`LEASE`], until `shutdown` turns true (or its
    /// sender is dropped).
    ///
    /// `wake` is the feed signal ([`runtime::FeedSignal::subscribe`]): it cuts the latency for
    /// events appended in this process; events appended elsewhere are found by polling every
    /// [`RelayConfig::idle_poll`]. Never returns an error: failures are logged and retried, and
    /// NATS being down only delays delivery.
    pub async fn run(
        self,
        leases: Arc<dyn Leases>,
        wake: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
    ) {
        let relay = Arc::new(self);
        run_exclusively(leases, LEASE, shutdown, move |stop| {
            let relay = Arc::clone(&relay);
            let wake = wake.clone();
            async move { relay.work(wake, stop).await }
        })
        .await;
    }

    /// The leased worker: runs cycles until `stop` turns true or its sender goes away.
    async fn work(&self, mut wake: watch::Receiver<u64>, mut stop: watch::Receiver<bool>) {
        let _active = Active::new(&self.stats);
        tracing::info!(
            url = %self.config.redacted_url(),
            stream = %self.config.stream,
            "NATS relay started"
        );
        let mut connected: Option<Connected> = None;
        let mut checkpoint: Option<Position> = None;
        let mut failures: u32 = 0;
        loop {
            // Appends signalled from here on start another cycle, even those that land while
            // this one runs.
            wake.borrow_and_update();
            match self.cycle(&mut connected, &mut checkpoint, &mut stop).await {
                Ok(Cycle::Stopped) => {
                    self.record_position(&mut checkpoint, true).await;
                    break;
                }
                Ok(Cycle::More) => failures = 0,
                Ok(Cycle::Trickle) => {
                    failures = 0;
                    // Under a steady trickle of appends, let a few accumulate: one round
                    // (a read, a flush, the acks) then serves several events.
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.coalesce) => {}
                        () = told_to_stop(&mut stop) => {
                            self.record_position(&mut checkpoint, true).await;
                            break;
                        }
                    }
                }
                Ok(Cycle::CaughtUp) => {
                    failures = 0;
                    tokio::select! {
                        _ = tokio::time::sleep(self.config.idle_poll) => {}
                        woken = wake.changed() => {
                            // With no one left to wake it, fall back to polling alone.
                            if woken.is_err() {
                                tokio::time::sleep(self.config.idle_poll).await;
                            }
                        }
                        () = told_to_stop(&mut stop) => {
                            self.record_position(&mut checkpoint, true).await;
                            break;
                        }
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    self.stats.failed_cycles.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        error = %error_chain(&error),
                        failures,
                        "NATS relay cycle failed; retrying"
                    );
                    // Whatever failed, start over from what is certain: the stored
                    // checkpoint, and a stream whose end must be learnt again.
                    if let Some(connected) = connected.as_mut() {
                        connected.tail = Tail::Unknown;
                        if error.is_missing_stream() {
                            connected.stream_ready = false;
                        }
                    }
                    checkpoint = None;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff(failures)) => {}
                        () = told_to_stop(&mut stop) => break,
                    }
                }
            }
        }
        tracing::info!("NATS relay stopped");
    }

    /// Records how far the relay has published, if it moved and the last record is
    /// `checkpoint_every` old (or `now`). A failure only loses the record: what was relayed
    /// since the stored checkpoint is published again, and JetStream drops it.
    async fn record_position(&self, checkpoint: &mut Option<Position>, now: bool) {
        let Some(position) = checkpoint.as_mut() else {
            return;
        };
        if position.relayed == position.stored
            || (!now && position.stored_at.elapsed() < self.config.checkpoint_every)
        {
            return;
        }
        // In a task of its own, so that it completes even if this worker's future is dropped
        // midway (an aborted task, a runtime shutting down): a transaction abandoned halfway
        // can keep SQLite's write lock, and every append waiting, until its connection is
        // used again.
        let checkpoints = Arc::clone(&self.checkpoints);
        let (from, to) = (position.stored, position.relayed);
        let outcome =
            tokio::spawn(async move { checkpoints.commit(CHECKPOINT, from, to, Vec::new()).await })
                .await;
        match outcome {
            Ok(Ok(CommitOutcome::Committed)) => {
                position.stored = to;
                position.stored_at = Instant::now();
            }
            // Another relay moved it (a lease changing hands): read it again.
            Ok(Ok(CommitOutcome::CheckpointMoved)) => *checkpoint = None,
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not record the relay checkpoint; will retry");
            }
            Err(failed) => {
                tracing::warn!(error = %failed, "the relay checkpoint commit failed");
            }
        }
    }

    /// Relays one batch: reads after the position, publishes, awaits every ack, then moves
    /// the position (recorded in the checkpoint every `checkpoint_every`).
    ///
    /// Told to stop, it abandons what it waits for from NATS (safe: the checkpoint has not
    /// moved, and JetStream drops what it already holds when the next holder republishes),
    /// but never a store operation, which is short and should not be cut halfway.
    async fn cycle(
        &self,
        connected: &mut Option<Connected>,
        checkpoint: &mut Option<Position>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Cycle, RelayError> {
        if *stop.borrow() {
            return Ok(Cycle::Stopped);
        }
        let connection = match connected {
            Some(connection) => connection,
            None => tokio::select! {
                connection = self.connect() => connected.insert(connection?),
                () = told_to_stop(stop) => return Ok(Cycle::Stopped),
            },
        };
        if !connection.stream_ready {
            tokio::select! {
                ready = self.ensure_stream(&connection.jetstream) => ready?,
                () = told_to_stop(stop) => return Ok(Cycle::Stopped),
            }
            connection.stream_ready = true;
        }
        let from = match checkpoint {
            Some(position) => position.relayed,
            None => {
                let stored = self
                    .checkpoints
                    .checkpoint(CHECKPOINT)
                    .await
                    .map_err(RelayError::Checkpoint)?;
                checkpoint
                    .insert(Position {
                        stored,
                        relayed: stored,
                        stored_at: Instant::now(),
                    })
                    .relayed
            }
        };
        let page = self
            .feed
            .read_after(from, self.config.batch_size, &TypeFilter::all())
            .await
            .map_err(RelayError::Feed)?;
        if !page.events.is_empty() {
            tokio::select! {
                published = self.publish(connection, &page.events) => published?,
                () = told_to_stop(stop) => return Ok(Cycle::Stopped),
            }
        }
        if let Some(position) = checkpoint.as_mut() {
            position.relayed = page.next;
        }
        self.record_position(checkpoint, false).await;
        Ok(if page.events.len() >= self.config.batch_size {
            Cycle::More
        } else if page.events.is_empty() {
            Cycle::CaughtUp
        } else {
            Cycle::Trickle
        })
    }

    async fn connect(&self) -> Result<Connected, RelayError> {
        let url = self.config.redacted_url();
        let (disconnected, disconnects) = watch::channel(0u64);
        let client = async_nats::ConnectOptions::new()
            .name("commerce-nats-relay")
            .connection_timeout(self.config.request_timeout)
            .event_callback(move |event| {
                if matches!(event, async_nats::Event::Disconnected) {
                    disconnected.send_modify(|n| *n = n.wrapping_add(1));
                }
                async move { tracing::info!(%event, "NATS connection event") }
            })
            .connect(self.config.url.as_str())
            .await
            .map_err(|source| RelayError::Connect {
                url: url.clone(),
                source,
            })?;
        tracing::info!(%url, "NATS relay connected");
        Ok(Connected {
            client: client.clone(),
            jetstream: jetstream::ContextBuilder::new()
                .timeout(self.config.request_timeout)
                .build(client),
            disconnects,
            stream_ready: false,
            tail: Tail::Unknown,
        })
    }

    /// Creates the stream unless it exists; an existing stream is left as it is configured.
    async fn ensure_stream(&self, jetstream: &jetstream::Context) -> Result<(), RelayError> {
        jetstream
            .get_or_create_stream(stream::Config {
                name: self.config.stream.clone(),
                subjects: vec![self.config.stream_subjects()],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: self.config.duplicate_window,
                description: Some("Published domain events, in feed order".to_owned()),
                ..Default::default()
            })
            .await
            .map_err(|source| RelayError::Stream {
                stream: self.config.stream.clone(),
                source,
            })?;
        Ok(())
    }

    /// Publishes `events` in order and returns once JetStream acknowledged every one.
    async fn publish(
        &self,
        connected: &mut Connected,
        events: &[PublishedEvent],
    ) -> Result<(), RelayError> {
        let encoded = events
            .iter()
            .map(|event| {
                message::encode(event).map_err(|source| RelayError::Encode {
                    event_id: event.id,
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        connected.disconnects.borrow_and_update();
        connected.tail = match connected.tail {
            Tail::Known(last) => self.pipelined(connected, events, &encoded, last).await?,
            Tail::Unknown => self.one_by_one(connected, events, &encoded).await?,
        };
        Ok(())
    }

    /// Sends the whole batch and awaits one ack, the last message's. Each message expects
    /// the sequence of the one before it, so if one is lost (a connection dropped mid-batch)
    /// or refused, every later one is refused instead of being stored ahead of it: the last
    /// message is stored at `last + n` only if every message before it was stored, in order.
    /// So only the last asks for an ack; the others go out as plain NATS publishes, which the
    /// stream captures just the same and the server does not answer. An ack is a message the
    /// client must receive and match, one per event otherwise.
    async fn pipelined(
        &self,
        connected: &mut Connected,
        events: &[PublishedEvent],
        encoded: &[Encoded],
        last: u64,
    ) -> Result<Tail, RelayError> {
        let Some((final_event, earlier)) = events.split_last() else {
            return Ok(Tail::Known(last));
        };
        let mut expected = last;
        for (event, message) in earlier.iter().zip(encoded) {
            let subject = self.config.subject_for(&event.event_type);
            let (headers, payload) = message.unacknowledged(expected);
            connected
                .client
                .publish_with_headers(subject.clone(), headers, payload)
                .await
                .map_err(|source| RelayError::Send {
                    event_id: event.id,
                    subject,
                    source,
                })?;
            expected += 1;
        }
        let subject = self.config.subject_for(&final_event.event_type);
        let ack = connected
            .jetstream
            .send_publish(
                subject.clone(),
                encoded[earlier.len()].to_publish(Some(expected)),
            )
            .await
            .map_err(|source| publish_error(final_event, subject.clone(), source))?;
        let ack = tokio::select! {
            ack = ack => ack.map_err(|source| publish_error(final_event, subject, source))?,
            () = disconnected(&mut connected.disconnects) => {
                return Err(RelayError::Disconnected);
            }
        };
        self.stats
            .acknowledged
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(if !ack.duplicate && ack.sequence == expected + 1 {
            Tail::Known(ack.sequence)
        } else {
            // Someone else published this event (a relay losing its lease): it is stored,
            // but where the stream ends is no longer ours to know.
            Tail::Unknown
        })
    }

    /// Publishes and awaits each event before the next, without expectations: an event goes
    /// out only once its predecessor is stored, so the stream keeps feed order whatever it
    /// already held, and JetStream drops those it holds within its duplicate window.
    async fn one_by_one(
        &self,
        connected: &mut Connected,
        events: &[PublishedEvent],
        encoded: &[Encoded],
    ) -> Result<Tail, RelayError> {
        let mut tail = Tail::Unknown;
        for (event, message) in events.iter().zip(encoded) {
            let subject = self.config.subject_for(&event.event_type);
            let ack = connected
                .jetstream
                .send_publish(subject.clone(), message.to_publish(None))
                .await
                .map_err(|source| publish_error(event, subject.clone(), source))?;
            let ack = tokio::select! {
                ack = ack => ack.map_err(|source| publish_error(event, subject, source))?,
                () = disconnected(&mut connected.disconnects) => {
                    return Err(RelayError::Disconnected);
                }
            };
            self.stats.acknowledged.fetch_add(1, Ordering::Relaxed);
            tail = if ack.duplicate {
                Tail::Unknown
            } else {
                Tail::Known(ack.sequence)
            };
        }
        Ok(tail)
    }
}

/// Returns once `stop` turns true, or its sender is gone and no one can stop the worker any
/// more (which also means stop).
async fn told_to_stop(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Returns once the connection was lost after the last [`watch::Receiver::borrow_and_update`]
/// (or the client is gone).
async fn disconnected(disconnects: &mut watch::Receiver<u64>) {
    let _ = disconnects.changed().await;
}

fn publish_error(
    event: &PublishedEvent,
    subject: String,
    source: jetstream::context::PublishError,
) -> RelayError {
    RelayError::Publish {
        event_id: event.id,
        subject,
        source,
    }
}

/// 100 ms after the first failure, doubling up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(6);
    (Duration::from_millis(100) * 2u32.pow(exponent)).min(MAX_BACKOFF)
}

/// The error and its causes on one line, for the logs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::{ContractSchema, FeedEvent, StreamRef};

    struct NoContracts;

    impl runtime::EventContracts for NoContracts {
        fn publish(&self, _: &FeedEvent) -> Result<Option<PublishedEvent>, runtime::PublishError> {
            Ok(None)
        }

        fn public_type(&self, _: &str, _: &str) -> Option<&'static str> {
            None
        }

        fn schemas(&self) -> Vec<ContractSchema> {
            Vec::new()
        }

        fn envelope_schema(&self) -> serde_json::Value {
            serde_json::Value::Null
        }
    }

    fn event(sequence: u64) -> PublishedEvent {
        PublishedEvent {
            id: Uuid::new_v4(),
            event_type: "tally.bumped".into(),
            version: 1,
            stream: StreamRef {
                aggregate_type: "tally".into(),
                id: "t".into(),
            },
            sequence,
            cursor: Cursor {
                tx: 0,
                position: i64::try_from(sequence).unwrap(),
            }
            .to_token(),
            occurred_at: None,
            correlation_id: None,
            causation_id: None,
            data: serde_json::json!({ "count": sequence }),
        }
    }

    /// The ordering guarantee rests on this: a pipelined message whose predecessor never
    /// reached the stream is refused, and so is everything after it, down to the batch's
    /// last message, whose ack says so.
    #[tokio::test]
    async fn a_pipelined_batch_is_refused_from_a_lost_message_on() {
        let url = std::env::var("TEST_NATS_URL").unwrap_or("nats://127.0.0.1:4222".into());
        // Named like the integration tests' streams, whose support removes leftovers.
        let unique = Uuid::now_v7().simple().to_string();
        let config = RelayConfig::new(url)
            .with_stream(format!("RELAY_UNIT_{unique}"))
            .with_subject_prefix(format!("relay_unit_{unique}"));
        let store = acceptance::support::fresh_sqlite().await;
        let relay = NatsRelay::new(
            config,
            PublishedFeed::new(Arc::new(store.clone()), Arc::new(NoContracts)),
            Arc::new(store),
        );
        let mut connected = relay.connect().await.unwrap_or_else(|error| {
            panic!(
                "NATS with JetStream is required: {}. Start it with `start-stop-daemon --start \
                 --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 \
                 -js -sd /var/lib/nats-server -l /var/log/nats-server.log`",
                error_chain(&error)
            )
        });
        relay.ensure_stream(&connected.jetstream).await.unwrap();
        let events: Vec<PublishedEvent> = (1..=4).map(event).collect();
        let encoded: Vec<Encoded> = events.iter().map(|e| message::encode(e).unwrap()).collect();

        relay.publish(&mut connected, &events[..1]).await.unwrap();
        assert_eq!(connected.tail, Tail::Known(1));
        // Event 2 was lost with a broken connection; 3 and 4 went out on the next one.
        let refused = relay
            .pipelined(&mut connected, &events[2..], &encoded[2..], 2)
            .await;

        let Err(RelayError::Publish {
            event_id, source, ..
        }) = refused
        else {
            panic!("expected a refused publish, got {refused:?}");
        };
        assert_eq!(event_id, events[3].id);
        assert_eq!(
            source.kind(),
            jetstream::context::PublishErrorKind::WrongLastSequence
        );
        let mut stream = connected
            .jetstream
            .get_stream(&relay.config.stream)
            .await
            .unwrap();
        assert_eq!(stream.info().await.unwrap().state.messages, 1);

        // The retry starts at the hole and keeps the order.
        connected.tail = Tail::Unknown;
        relay.publish(&mut connected, &events[1..]).await.unwrap();
        assert_eq!(connected.tail, Tail::Known(4));
        for (sequence, event) in (1..).zip(&events) {
            let stored = stream.get_raw_message(sequence).await.unwrap();
            let body: PublishedEvent = serde_json::from_slice(&stored.payload).unwrap();
            assert_eq!(&body, event);
        }
        connected
            .jetstream
            .delete_stream(&relay.config.stream)
            .await
            .unwrap();
    }

    #[test]
    fn the_backoff_grows_to_a_ceiling() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(7), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn an_error_is_logged_with_its_causes() {
        let error = RelayError::Checkpoint(StoreError::new("disk full"));
        assert_eq!(
            error_chain(&error),
            "reading or moving the relay checkpoint: storage failure: disk full"
        );
    }
}
