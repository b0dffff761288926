//! What the relay tests share: a store with a tiny aggregate to append with, a JetStream
//! reader that plays the consumer, and a TCP proxy that can break the relay's connection.
//!
//! NATS is required, never skipped: point `TEST_NATS_URL` at a server with JetStream
//! (default `nats://127.0.0.1:4222`). Every test gets a stream and subject prefix of its own,
//! so tests never see each other's messages.

#![allow(dead_code)] // each test binary uses its own part of the support

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use acceptance::support::{self, read_feed};
use async_nats::jetstream::{self, consumer, stream};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::{Aggregate, DomainEvent};
use futures::StreamExt;
use nats_relay::{headers, NatsRelay, RelayConfig, RelayStats, CHECKPOINT};
use runtime::{
    CommandExecutor, CommandMetadata, ContractSchema, Cursor, EventContracts, EventFeed,
    EventSourcedExecutor, FeedEvent, FeedSignal, Leases, ProjectionStore, PublishError,
    PublishedEvent, PublishedFeed,
};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

const HOW_TO_START_NATS: &str = "Start the local server with `start-stop-daemon --start \
    --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js \
    -sd /var/lib/nats-server -l /var/log/nats-server.log`, or set TEST_NATS_URL to a NATS \
    server with JetStream enabled.";

/// Streams made by the tests are named with this and a UUID v7, which carries their creation
/// time so that those left behind by failed runs can be removed.
const TEST_STREAM_PREFIXES: [&str; 2] = ["RELAY_TEST_", "RELAY_UNIT_"];

/// Test streams older than this are leftovers of finished runs.
const LEFTOVER_AFTER: Duration = Duration::from_secs(60 * 60);

/// How long a test waits for the relay to deliver what it expects.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(30);

pub fn nats_url() -> String {
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_owned())
}

/// A JetStream context on the test server; fails the test, with how to fix it, if there is
/// no server or it has no JetStream.
pub async fn jetstream() -> jetstream::Context {
    let url = nats_url();
    let client = match async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(3))
        .connect(url.as_str())
        .await
    {
        Ok(client) => client,
        Err(error) => panic!(
            "NATS is required by the relay tests but {url} is unreachable: {error}.\n\
             {HOW_TO_START_NATS}"
        ),
    };
    let context = jetstream::new(client);
    let names: Vec<_> = context.stream_names().collect().await;
    if let Some(Err(error)) = names.first() {
        panic!("NATS at {url} answers but JetStream does not: {error}.\n{HOW_TO_START_NATS}");
    }
    for name in names.into_iter().flatten() {
        if is_leftover(&name) {
            // Best effort: a concurrent run may have removed it first.
            let _ = context.delete_stream(&name).await;
        }
    }
    context
}

fn is_leftover(stream: &str) -> bool {
    let Some(created) = TEST_STREAM_PREFIXES
        .iter()
        .find_map(|prefix| stream.strip_prefix(prefix))
        .and_then(|id| Uuid::try_parse(id).ok())
        .and_then(|id| id.get_timestamp())
    else {
        return false;
    };
    let (seconds, nanos) = created.to_unix();
    let created = std::time::UNIX_EPOCH + Duration::new(seconds, nanos);
    std::time::SystemTime::now()
        .duration_since(created)
        .is_ok_and(|age| age > LEFTOVER_AFTER)
}

#[test]
fn only_old_test_streams_are_leftovers() {
    let old = Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_000_000, 0));
    assert!(is_leftover(&format!("RELAY_TEST_{}", old.simple())));
    assert!(!is_leftover(&format!(
        "RELAY_TEST_{}",
        Uuid::now_v7().simple()
    )));
    assert!(!is_leftover(&format!("COMMERCE_{}", old.simple())));
    assert!(!is_leftover("COMMERCE"));
}

/// A relay configuration whose stream and subjects no other test uses.
pub fn unique_config(url: &str) -> RelayConfig {
    let suffix = Uuid::now_v7().simple().to_string();
    RelayConfig::new(url)
        .with_stream(format!("RELAY_TEST_{}", suffix.to_uppercase()))
        .with_subject_prefix(format!("relay_test_{suffix}"))
}

// ---------------------------------------------------------------------------------------------
// A tiny aggregate to append events with.

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Tally {
    count: u64,
}

#[derive(Debug, Clone)]
pub struct Bump;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TallyEvent {
    TallyBumped { count: u64 },
}

impl DomainEvent for TallyEvent {
    fn event_type(&self) -> String {
        "TallyBumped".to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}

#[derive(Debug)]
pub struct Never;

impl std::fmt::Display for Never {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("never")
    }
}

impl std::error::Error for Never {}

impl Aggregate for Tally {
    const TYPE: &'static str = "tally";
    type Command = Bump;
    type Event = TallyEvent;
    type Error = Never;
    type Services = ();

    async fn handle(&mut self, _: Bump, _: &(), sink: &EventSink<Self>) -> Result<(), Never> {
        let count = self.count + 1;
        sink.write(TallyEvent::TallyBumped { count }, self).await;
        Ok(())
    }

    fn apply(&mut self, event: TallyEvent) {
        match event {
            TallyEvent::TallyBumped { count } => self.count = count,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Contracts: every stored event is published, as `<aggregate>.<event in snake case>`.

pub struct PublishEverything;

fn snake_case(name: &str) -> String {
    let mut snake = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

impl EventContracts for PublishEverything {
    fn publish(&self, event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
        let event_type = format!("{}.{}", event.aggregate_type, snake_case(&event.event_type));
        Ok(Some(PublishedEvent::from_feed(
            event,
            &event_type,
            1,
            (*event.payload).clone(),
        )))
    }

    fn public_type(&self, _: &str, _: &str) -> Option<&'static str> {
        // Every event is published; `publish` names its type.
        Some("*")
    }

    fn schemas(&self) -> Vec<ContractSchema> {
        Vec::new()
    }

    fn envelope_schema(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

#[test]
fn event_types_become_snake_case() {
    assert_eq!(snake_case("TallyBumped"), "tally_bumped");
    assert_eq!(snake_case("OrderPlaced"), "order_placed");
}

// ---------------------------------------------------------------------------------------------
// A store, ready to append to and relay from.

pub struct Harness {
    pub feed: Arc<dyn EventFeed>,
    pub checkpoints: Arc<dyn ProjectionStore>,
    pub leases: Arc<dyn Leases>,
    pub signal: FeedSignal,
    tallies: Arc<dyn CommandExecutor<Tally>>,
    appended: Mutex<usize>,
}

impl Harness {
    pub async fn sqlite() -> Self {
        let store = support::fresh_sqlite().await;
        let repository = store.event_repository();
        Self::new(store, repository)
    }

    pub async fn postgres() -> Self {
        let store = support::fresh_postgres().await;
        let repository = store.event_repository();
        Self::new(store, repository)
    }

    fn new<S, R>(store: S, repository: R) -> Self
    where
        S: EventFeed + ProjectionStore + Leases + Clone + 'static,
        R: PersistedEventRepository + 'static,
    {
        let signal = FeedSignal::new();
        Self {
            feed: Arc::new(store.clone()),
            checkpoints: Arc::new(store.clone()),
            leases: Arc::new(store),
            tallies: Arc::new(
                EventSourcedExecutor::new(repository, ()).with_signal(signal.clone()),
            ),
            signal,
            appended: Mutex::new(0),
        }
    }

    pub fn published_feed(&self) -> PublishedFeed {
        PublishedFeed::new(Arc::clone(&self.feed), Arc::new(PublishEverything))
    }

    /// Starts a relay of this store, as an app instance would.
    pub fn start_relay(&self, config: &RelayConfig) -> RunningRelay {
        let relay = NatsRelay::new(
            config.clone(),
            self.published_feed(),
            Arc::clone(&self.checkpoints),
        );
        let stats = relay.stats();
        let (shutdown, stopped) = watch::channel(false);
        let task =
            tokio::spawn(relay.run(Arc::clone(&self.leases), self.signal.subscribe(), stopped));
        RunningRelay {
            task,
            shutdown,
            stats,
        }
    }

    /// Appends one event to the tally `id`.
    pub async fn bump(&self, id: &str) {
        self.tallies
            .execute(id, Bump, None, &CommandMetadata::new("relay-test"))
            .await
            .unwrap_or_else(|error| panic!("appending to tally {id}: {error}"));
        *self.appended.lock().unwrap() += 1;
    }

    /// Appends `rounds` events to each of `tallies`, interleaved: a, b, c, a, b, c, ...
    pub async fn bump_round_robin(&self, tallies: &[&str], rounds: usize) {
        for _ in 0..rounds {
            for id in tallies {
                self.bump(id).await;
            }
        }
    }

    pub fn appended(&self) -> usize {
        *self.appended.lock().unwrap()
    }

    /// Every appended event as published, in feed order: what the stream must end up with.
    pub async fn expected(&self) -> Vec<PublishedEvent> {
        let appended = self.appended();
        let events = read_feed(&*self.feed, Cursor::START, appended).await;
        assert_eq!(
            events.len(),
            appended,
            "the feed shows every appended event"
        );
        events
            .iter()
            .map(|event| {
                PublishEverything
                    .publish(event)
                    .expect("publishable")
                    .expect("published")
            })
            .collect()
    }

    /// The cursor of the last appended event.
    pub async fn last_cursor(&self) -> Cursor {
        let appended = self.appended();
        let events = read_feed(&*self.feed, Cursor::START, appended).await;
        events.last().map_or(Cursor::START, |event| event.cursor)
    }

    /// Waits until the relay's checkpoint reaches `cursor`.
    pub async fn wait_for_checkpoint(&self, cursor: Cursor) {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        loop {
            let checkpoint = self.checkpoints.checkpoint(CHECKPOINT).await.unwrap();
            if checkpoint == cursor {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the relay checkpoint stayed at {checkpoint:?}, expected {cursor:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A relay running in its own task.
pub struct RunningRelay {
    pub task: JoinHandle<()>,
    pub shutdown: watch::Sender<bool>,
    pub stats: Arc<RelayStats>,
}

impl RunningRelay {
    /// Asks it to stop, as at an instance's shutdown, and waits until it has.
    pub async fn stop(self) {
        self.shutdown.send(true).unwrap();
        tokio::time::timeout(DELIVERY_DEADLINE, self.task)
            .await
            .expect("the relay stops when told to")
            .expect("the relay task ends without panicking");
    }

    /// Kills it wherever it is, as a crash would.
    pub async fn kill(self) {
        self.task.abort();
        let ended = self.task.await;
        assert!(ended.is_err_and(|error| error.is_cancelled()));
    }
}

// ---------------------------------------------------------------------------------------------
// The consumer's side.

/// One message as a consumer receives it.
#[derive(Debug, Clone)]
pub struct Received {
    /// When the reader got it.
    pub at: Instant,
    pub msg_id: String,
    pub subject: String,
    pub event: PublishedEvent,
}

/// Reads a relay's stream from the beginning, as a consumer would, with explicit acks.
pub struct StreamReader {
    messages: consumer::pull::Stream,
    pub received: Vec<Received>,
    pub stream: stream::Stream,
}

impl StreamReader {
    /// Binds to the stream of `config`, waiting for the relay to create it.
    pub async fn open(context: &jetstream::Context, config: &RelayConfig) -> Self {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        let stream = loop {
            match context.get_stream(&config.stream).await {
                Ok(stream) => break stream,
                Err(error) => assert!(
                    Instant::now() < deadline,
                    "the relay never created stream {}: {error}",
                    config.stream
                ),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            })
            .await
            .expect("creating the test consumer");
        let messages = consumer
            .messages()
            .await
            .expect("pulling from the test consumer");
        Self {
            messages,
            received: Vec::new(),
            stream,
        }
    }

    /// Reads until `distinct` different events have arrived (duplicates are kept in
    /// `received`), failing the test if they do not within [`DELIVERY_DEADLINE`].
    pub async fn read_until(&mut self, distinct: usize) {
        self.read_while(|received| distinct_ids(received) < distinct)
            .await;
    }

    /// Reads until `count` messages have arrived, copies included.
    pub async fn read_messages(&mut self, count: usize) {
        self.read_while(|received| received.len() < count).await;
    }

    async fn read_while(&mut self, more: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + DELIVERY_DEADLINE;
        while more(&self.received) {
            let next = tokio::time::timeout_at(deadline, self.messages.next()).await;
            let message = match next {
                Ok(Some(Ok(message))) => message,
                Ok(Some(Err(error))) => panic!("reading the stream: {error}"),
                Ok(None) => panic!("the consumer's message stream ended"),
                Err(_) => panic!(
                    "the expected events did not arrive within {DELIVERY_DEADLINE:?}; got {} \
                     messages, {} distinct events",
                    self.received.len(),
                    distinct_ids(&self.received)
                ),
            };
            self.received.push(received(&message));
            message.ack().await.expect("acking");
        }
    }

    /// Removes the stream: the test is over.
    pub async fn remove_stream(self, context: &jetstream::Context) {
        let name = self.stream.cached_info().config.name.clone();
        context
            .delete_stream(&name)
            .await
            .unwrap_or_else(|error| panic!("removing test stream {name}: {error}"));
    }

    /// How many messages the stream stores.
    pub async fn stored(&mut self) -> u64 {
        self.stream
            .info()
            .await
            .expect("stream info")
            .state
            .messages
    }
}

fn received(message: &jetstream::Message) -> Received {
    let msg_id = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get(headers::MSG_ID))
        .map(|value| value.as_str().to_owned())
        .expect("every relayed message has a Nats-Msg-Id");
    let event: PublishedEvent =
        serde_json::from_slice(&message.payload).expect("the body is the envelope");
    Received {
        at: Instant::now(),
        msg_id,
        subject: message.subject.to_string(),
        event,
    }
}

fn distinct_ids(received: &[Received]) -> usize {
    received
        .iter()
        .map(|r| r.event.id)
        .collect::<HashSet<_>>()
        .len()
}

/// What a consumer that drops ids it has seen processes: the first copy of each event.
pub fn first_copies(received: &[Received]) -> Vec<PublishedEvent> {
    let mut seen = HashSet::new();
    received
        .iter()
        .filter(|r| seen.insert(r.event.id))
        .map(|r| r.event.clone())
        .collect()
}

/// Checks what every delivery promises besides completeness: message ids and subjects match
/// the envelope, and each stream's events come in sequence order without gaps.
pub fn assert_well_formed(received: &[Received], config: &RelayConfig) {
    for r in received {
        assert_eq!(
            r.msg_id,
            r.event.id.to_string(),
            "Nats-Msg-Id is the event id"
        );
        assert_eq!(r.subject, config.subject_for(&r.event.event_type));
    }
    let mut next_sequence = std::collections::HashMap::new();
    for event in first_copies(received) {
        let key = (event.stream.aggregate_type.clone(), event.stream.id.clone());
        let expected = next_sequence.entry(key).or_insert(1);
        assert_eq!(
            event.sequence, *expected,
            "{}/{} out of sequence order",
            event.stream.aggregate_type, event.stream.id
        );
        *expected += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy in front of NATS whose connections the test can cut.

pub struct CuttableProxy {
    pub url: String,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accepting: JoinHandle<()>,
}

impl CuttableProxy {
    pub async fn start(target_url: &str) -> Self {
        let target = target_url
            .split("://")
            .last()
            .unwrap_or(target_url)
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let url = format!("nats://{}", listener.local_addr().expect("address"));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accepted = Arc::clone(&connections);
        let accepting = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                let connection = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                accepted.lock().unwrap().push(connection);
            }
        });
        Self {
            url,
            connections,
            accepting,
        }
    }

    /// Drops every open connection at once, whatever is in flight; new ones are accepted.
    pub fn cut(&self) {
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}
