//! Command execution on top of cqrs-es's event store.
//!
//! cqrs-es's `CqrsFramework::execute` returns no version and dispatches queries in-process
//! (at-most-once). This executor loads the aggregate through the same `PersistedEventStore`,
//! checks the caller's expected version, lets the aggregate decide, commits, and returns the
//! new version. A write conflict is retried a bounded number of times when the caller did
//! not pin a version; with a pinned version it becomes a failed precondition (ADR 0008).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use cqrs_es::event_sink::EventSink;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore, PersistenceError,
    ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::EventEnvelope;
use cqrs_es::{Aggregate, AggregateError, EventStore};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::feed::FeedSignal;

/// Who asked for a command and on behalf of which flow; stored with every event it produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandMetadata {
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: String,
}

impl CommandMetadata {
    pub fn new(actor: impl Into<String>) -> Self {
        Self {
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            actor: actor.into(),
        }
    }

    pub fn with_correlation(mut self, correlation_id: Uuid) -> Self {
        self.correlation_id = correlation_id;
        self
    }

    fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            ("correlation_id".to_owned(), self.correlation_id.to_string()),
            ("actor".to_owned(), self.actor.clone()),
        ]);
        if let Some(causation) = self.causation_id {
            map.insert("causation_id".to_owned(), causation.to_string());
        }
        map
    }
}

/// An aggregate as loaded, with the number of events it has (0 when it does not exist yet).
#[derive(Debug)]
pub struct Loaded<A> {
    pub aggregate: A,
    pub version: u64,
}

/// The outcome of a command that the aggregate accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed<A> {
    /// The aggregate's version after the command (unchanged when it emitted nothing).
    pub version: u64,
    pub events_appended: usize,
    /// The aggregate's state at `version`, so callers can answer without reading it again
    /// (a second read could already see someone else's later write).
    pub state: A,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command: a business outcome the caller can show.
    #[error(transparent)]
    Rejected(E),
    /// The caller pinned a version (If-Match) and the aggregate is at another one.
    #[error("expected version {expected}, found {actual}")]
    PreconditionFailed { expected: u64, actual: u64 },
    /// Concurrent writers kept winning until the retry budget ran out.
    #[error("concurrent modification; retry the request")]
    Conflict,
    #[error("infrastructure failure: {0}")]
    Infrastructure(String),
}

/// Executes commands against one aggregate type. Object-safe so that adapters can hold it
/// without knowing which event store sits behind it.
#[async_trait]
pub trait CommandExecutor<A: Aggregate + Clone>: Send + Sync {
    /// Loads the current state; a never-written aggregate loads as `A::default()` at version 0.
    async fn load(&self, aggregate_id: &str) -> Result<Loaded<A>, CommandError<A::Error>>;

    /// Runs `command`. With `expected_version` set, fails with `PreconditionFailed` unless the
    /// aggregate is at exactly that version when the events are appended.
    async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<A>, CommandError<A::Error>>;
}

/// How many in-process locks writers to one aggregate type share (see [`EventSourcedExecutor`]).
const LOCK_STRIPES: usize = 256;

/// Streams at least this long are kept in the state cache; shorter ones are cheap to replay.
const CACHE_FROM_VERSION: u64 = 4;

/// At most this many cached states per aggregate type; the cache is emptied when it is full.
const CACHE_CAPACITY: usize = 8192;

/// Lets the executor read the repository directly (catching a cached state up) while
/// cqrs-es's event store owns it for commits.
struct SharedRepository<R>(Arc<R>);

impl<R: PersistedEventRepository> PersistedEventRepository for SharedRepository<R> {
    fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<Vec<SerializedEvent>, PersistenceError>> + Send {
        self.0.get_events::<A>(aggregate_id)
    }

    fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> impl Future<Output = Result<Vec<SerializedEvent>, PersistenceError>> + Send {
        self.0.get_last_events::<A>(aggregate_id, last_sequence)
    }

    fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<Option<SerializedSnapshot>, PersistenceError>> + Send {
        self.0.get_snapshot::<A>(aggregate_id)
    }

    fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> impl Future<Output = Result<(), PersistenceError>> + Send {
        self.0.persist::<A>(events, snapshot_update)
    }

    fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> impl Future<Output = Result<ReplayStream, PersistenceError>> + Send {
        self.0.stream_events::<A>(aggregate_id)
    }

    fn stream_all_events<A: Aggregate>(
        &self,
    ) -> impl Future<Output = Result<ReplayStream, PersistenceError>> + Send {
        self.0.stream_all_events::<A>()
    }
}

/// [`CommandExecutor`] over any cqrs-es persisted event repository (SQLite or PostgreSQL).
///
/// Long streams (a best-selling SKU's stock item gains events with every checkout) are not
/// replayed from the start on every command: the state after version N is cached in memory,
/// and loading reads only the events after N. The cache is an optimization, never the truth:
/// every load still reads what the store has beyond it, and every commit is checked by the
/// store's optimistic concurrency, so a stale entry costs a conflict and a retry, not a
/// wrong decision. (No upcasters are in use; when one is added, the catch-up read must run
/// events through it too.)
///
/// Writers in this process to the same aggregate queue on a striped lock instead of racing:
/// under a burst (a hundred shoppers after the last units) optimistic retries would otherwise
/// spend their budget losing to each other. Writers in other processes still race, and the
/// store's optimistic concurrency with bounded retries settles that.
pub struct EventSourcedExecutor<R: PersistedEventRepository, A: Aggregate> {
    repository: Arc<R>,
    store: PersistedEventStore<SharedRepository<R>, A>,
    cache: Mutex<HashMap<String, (A, u64)>>,
    services: A::Services,
    max_attempts: u32,
    signal: Option<FeedSignal>,
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl<R: PersistedEventRepository, A: Aggregate + Clone> EventSourcedExecutor<R, A> {
    /// Snapshots stay off: cqrs-es 0.5 can apply new events twice in snapshot mode (ADR 0003).
    pub fn new(repository: R, services: A::Services) -> Self {
        let repository = Arc::new(repository);
        Self {
            store: PersistedEventStore::new_event_store(SharedRepository(Arc::clone(&repository))),
            repository,
            cache: Mutex::new(HashMap::new()),
            services,
            max_attempts: 8,
            signal: None,
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    fn lock_for(&self, aggregate_id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        aggregate_id.hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % LOCK_STRIPES as u64).unwrap_or(0);
        &self.locks[stripe]
    }

    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Wakes in-process feed readers after each successful append.
    pub fn with_signal(mut self, signal: FeedSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    fn remember(&self, aggregate_id: &str, aggregate: &A, version: u64)
    where
        A: Clone,
    {
        if version < CACHE_FROM_VERSION {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(aggregate_id) {
            cache.clear();
        }
        cache.insert(aggregate_id.to_owned(), (aggregate.clone(), version));
    }

    async fn load_context(
        &self,
        aggregate_id: &str,
    ) -> Result<EventStoreAggregateContext<A>, CommandError<A::Error>>
    where
        A: Clone,
    {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(aggregate_id)
            .cloned();
        // The cache is written only when this load learnt something it did not hold: a
        // cached state with nothing newer is already there, and copying it back would clone
        // a (possibly large) aggregate for nothing on every command.
        let (context, learnt) = match cached {
            None => {
                let context = self
                    .store
                    .load_aggregate(aggregate_id)
                    .await
                    .map_err(infrastructure)?;
                (context, true)
            }
            Some((mut aggregate, mut version)) => {
                let newer = self
                    .repository
                    .get_last_events::<A>(aggregate_id, version as usize)
                    .await
                    .map_err(|e| CommandError::Infrastructure(e.to_string()))?;
                let learnt = !newer.is_empty();
                for serialized in newer {
                    let envelope = EventEnvelope::<A>::try_from(serialized)
                        .map_err(|e| CommandError::Infrastructure(e.to_string()))?;
                    version = envelope.sequence as u64;
                    aggregate.apply(envelope.payload);
                }
                let context = EventStoreAggregateContext {
                    aggregate_id: aggregate_id.to_owned(),
                    aggregate,
                    current_sequence: version as usize,
                    current_snapshot: None,
                };
                (context, learnt)
            }
        };
        if learnt {
            self.remember(
                aggregate_id,
                &context.aggregate,
                context.current_sequence as u64,
            );
        }
        Ok(context)
    }
}

fn infrastructure<E: std::error::Error>(error: AggregateError<E>) -> CommandError<E> {
    match error {
        AggregateError::UserError(e) => CommandError::Rejected(e),
        AggregateError::AggregateConflict => CommandError::Conflict,
        other => CommandError::Infrastructure(other.to_string()),
    }
}

/// A short, jittered pause so that retrying writers do not collide in lockstep.
async fn backoff(attempt: u32) {
    let jitter = u64::from(Uuid::new_v4().as_bytes()[0]) % 4;
    let millis = u64::from(attempt.min(6)) * 2 + jitter;
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

#[async_trait]
impl<R, A> CommandExecutor<A> for EventSourcedExecutor<R, A>
where
    R: PersistedEventRepository + 'static,
    A: Aggregate + Clone + 'static,
    A::Command: Clone + Send + Sync,
    A::Error: Send + Sync,
{
    async fn load(&self, aggregate_id: &str) -> Result<Loaded<A>, CommandError<A::Error>> {
        let context = self.load_context(aggregate_id).await?;
        Ok(Loaded {
            version: context.current_sequence as u64,
            aggregate: context.aggregate,
        })
    }

    async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<A>, CommandError<A::Error>> {
        let _serialized = self.lock_for(aggregate_id).lock().await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut context = self.load_context(aggregate_id).await?;
            let version = context.current_sequence as u64;
            if let Some(expected) = expected_version {
                if expected != version {
                    return Err(CommandError::PreconditionFailed {
                        expected,
                        actual: version,
                    });
                }
            }
            let sink = EventSink::default();
            context
                .aggregate
                .handle(command.clone(), &self.services, &sink)
                .await
                .map_err(CommandError::Rejected)?;
            let events = sink.collect().await;
            if events.is_empty() {
                return Ok(Executed {
                    version,
                    events_appended: 0,
                    state: context.aggregate,
                });
            }
            let appended = events.len();
            let state = context.aggregate.clone();
            match self.store.commit(events, context, metadata.to_map()).await {
                Ok(envelopes) => {
                    if let Some(signal) = &self.signal {
                        signal.notify();
                    }
                    let version = envelopes.last().map_or(version, |e| e.sequence as u64);
                    self.remember(aggregate_id, &state, version);
                    return Ok(Executed {
                        version,
                        events_appended: appended,
                        state,
                    });
                }
                Err(AggregateError::AggregateConflict) => {
                    if let Some(expected) = expected_version {
                        let actual = self.load(aggregate_id).await?.version;
                        return Err(CommandError::PreconditionFailed { expected, actual });
                    }
                    if attempt >= self.max_attempts {
                        return Err(CommandError::Conflict);
                    }
                    tracing::debug!(
                        aggregate = A::TYPE,
                        aggregate_id,
                        attempt,
                        "write conflict, retrying"
                    );
                    backoff(attempt).await;
                }
                Err(other) => return Err(infrastructure(other)),
            }
        }
    }
}
