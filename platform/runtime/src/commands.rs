//! Command execution on top of cqrs-es's event store.
//!
//! cqrs-es's `CqrsFramework::execute` returns no version and dispatches queries in-process
//! (at-most-once). This executor reads the aggregate's events from the cqrs-es repository,
//! decodes each through the stored-event [`codec`](crate::codec) (so version 1 payloads are
//! upcast on every path), checks the caller's expected version, lets the aggregate decide,
//! appends through the same repository, and returns the new version. A write conflict is
//! retried a bounded number of times when the caller did not pin a version; with a pinned
//! version it becomes a failed precondition (ADR 0008).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::Aggregate;
use serde::Serialize;
use uuid::Uuid;

use crate::causation::{self, EventMetadata};
use crate::codec;
use crate::feed::{AppendWatch, FeedSignal};
use crate::personal::{RowMut, Vault};
use crate::telemetry::{self, metrics, CommandOutcome};

/// Who asked for a command and on behalf of which flow; stored with every event it produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandMetadata {
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: String,
    /// Where the command is traced; not stored.
    #[serde(skip)]
    pub span: CommandSpan,
}

/// The span a command is traced in (ADR 0033).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CommandSpan {
    /// A `command` span of its own, a child of the caller's.
    #[default]
    Own,
    /// The caller's current span, which declares the command's fields
    /// (`commerce.aggregate.type`, `commerce.aggregate.id`, `commerce.command.outcome`,
    /// `commerce.events.count`, `db.operation.name`, `db.collection.name`,
    /// `commerce.append.duration_us`): a saga step recording its own outcome in the saga's
    /// stream, where a span of its own would repeat the step's.
    Caller,
}

impl CommandMetadata {
    /// Metadata for work done by `actor`, in the current flow ([`causation::current`]) if a
    /// scope is open, else as the first step of a new flow.
    pub fn new(actor: impl Into<String>) -> Self {
        let cause = causation::current();
        Self {
            correlation_id: cause.map_or_else(Uuid::now_v7, |c| c.correlation_id),
            causation_id: cause.map(|c| c.causation_id),
            actor: actor.into(),
            span: CommandSpan::Own,
        }
    }

    /// The same metadata, with the command traced in the caller's current span
    /// ([`CommandSpan::Caller`]).
    #[must_use]
    pub fn in_caller_span(mut self) -> Self {
        self.span = CommandSpan::Caller;
        self
    }

    /// The JSON object stored with each event appended at `occurred_at`.
    fn to_json(&self, occurred_at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert(
            "correlation_id".into(),
            self.correlation_id.to_string().into(),
        );
        if let Some(causation) = self.causation_id {
            map.insert("causation_id".into(), causation.to_string().into());
        }
        map.insert("actor".into(), self.actor.clone().into());
        map.insert(
            "occurred_at".into(),
            occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        );
        // The span appending the events (ADR 0030): whatever reacts to them continues it.
        telemetry::inject_trace_context(&mut map);
        serde_json::Value::Object(map)
    }
}

/// An aggregate as loaded, with the number of events it has (0 when it does not exist yet).
#[derive(Debug)]
pub struct Loaded<A> {
    pub aggregate: A,
    pub version: u64,
    /// The metadata of the event at `version` (`None` for an aggregate with no events): the
    /// flow it belongs to, so that work reacting to it can continue that flow.
    pub last_event: Option<EventMetadata>,
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

/// The outcome of several commands decided one after the other on one state and appended
/// together ([`CommandExecutor::execute_each`]).
#[derive(Debug)]
pub struct ExecutedEach<A: Aggregate> {
    /// Per command, in order: accepted, or refused (a refused command emitted nothing, and
    /// the ones after it were decided on the state before it).
    pub outcomes: Vec<Result<(), A::Error>>,
    pub events_appended: usize,
    /// The state after the append (or the state decided on, when nothing was appended), with
    /// the metadata of its last event: a caller that goes on deciding from it needs no read.
    pub loaded: Loaded<A>,
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

    /// The state held in memory for `aggregate_id`, without asking the store, so possibly
    /// behind it: for waiters that only need to know whether to read the store again (a
    /// long-poll woken by an append in this process). `None` when nothing is held.
    fn cached(&self, _aggregate_id: &str) -> Option<Loaded<A>> {
        None
    }

    /// Runs `command`. With `expected_version` set, fails with `PreconditionFailed` unless the
    /// aggregate is at exactly that version when the events are appended.
    async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<A>, CommandError<A::Error>>;

    /// Decides `commands` one after the other, each on the state the ones before it left,
    /// and appends all that they emit in one append: one round trip for what would be one
    /// per command. A refused command is reported in its place and emits nothing; it does
    /// not stop the others. Conflicts are retried as for [`execute`](Self::execute), the
    /// whole list decided again.
    ///
    /// The default runs them one by one and reads the state at the end (for test doubles).
    async fn execute_each(
        &self,
        aggregate_id: &str,
        commands: Vec<A::Command>,
        metadata: &CommandMetadata,
    ) -> Result<ExecutedEach<A>, CommandError<A::Error>>
    where
        A::Command: Send + 'async_trait,
        A::Error: Send + 'async_trait,
    {
        let mut outcomes = Vec::with_capacity(commands.len());
        let mut events_appended = 0;
        for command in commands {
            match self.execute(aggregate_id, command, None, metadata).await {
                Ok(executed) => {
                    events_appended += executed.events_appended;
                    outcomes.push(Ok(()));
                }
                Err(CommandError::Rejected(error)) => outcomes.push(Err(error)),
                Err(other) => return Err(other),
            }
        }
        Ok(ExecutedEach {
            outcomes,
            events_appended,
            loaded: self.load(aggregate_id).await?,
        })
    }
}

/// How many in-process locks writers to one aggregate type share (see [`EventSourcedExecutor`]).
const LOCK_STRIPES: usize = 256;

/// Streams at least this long are kept in the state cache; shorter ones are cheap to replay.
const CACHE_FROM_VERSION: u64 = 4;

/// At most this many cached states per aggregate type; the cache is emptied when it is full.
const CACHE_CAPACITY: usize = 8192;

/// A state the executor knows, at a version, with the metadata of the event at that version.
#[derive(Clone)]
struct Known<A> {
    aggregate: A,
    version: u64,
    last_event: Option<EventMetadata>,
}

impl<A> From<Known<A>> for Loaded<A> {
    fn from(known: Known<A>) -> Self {
        Self {
            aggregate: known.aggregate,
            version: known.version,
            last_event: known.last_event,
        }
    }
}

impl<E: std::error::Error> CommandError<E> {
    /// How the command ended, as traces and metrics name it.
    fn outcome(&self) -> CommandOutcome {
        match self {
            Self::Rejected(_) => CommandOutcome::Rejected,
            Self::PreconditionFailed { .. } => CommandOutcome::PreconditionFailed,
            Self::Conflict => CommandOutcome::Conflict,
            Self::Infrastructure(_) => CommandOutcome::Failed,
        }
    }
}

/// [`CommandExecutor`] over any cqrs-es persisted event repository (SQLite or PostgreSQL).
///
/// Loading reads the events after the state it starts from and decodes every one through
/// [`codec::decode`]: that is the only way an event enters an aggregate, so the upcasting of
/// old versions holds for a cold load and for a cached state catching up alike.
///
/// Long streams (a best-selling SKU's stock item gains events with every checkout) are not
/// replayed from the start on every command: the state after version N is cached in memory,
/// and loading reads only the events after N. The cache is an optimization, never the truth:
/// every load still reads what the store has beyond it, and every append is checked by the
/// store's optimistic concurrency, so a stale entry costs a conflict and a retry, not a
/// wrong decision.
///
/// Writers in this process to the same aggregate queue on a striped lock instead of racing:
/// under a burst (a hundred shoppers after the last units) optimistic retries would otherwise
/// spend their budget losing to each other. Writers in other processes still race, and the
/// store's optimistic concurrency with bounded retries settles that.
pub struct EventSourcedExecutor<R: PersistedEventRepository, A: Aggregate> {
    repository: R,
    cache: Mutex<HashMap<String, Known<A>>>,
    cache_from_version: u64,
    services: A::Services,
    max_attempts: u32,
    signal: Option<FeedSignal>,
    watch: Option<Arc<AppendWatch>>,
    vault: Option<Arc<Vault>>,
    locks: Vec<tokio::sync::Mutex<()>>,
    trust_cache: bool,
    /// Which states may be held in memory at all (see `caching_only`).
    cacheable: fn(&A) -> bool,
}

impl<R: PersistedEventRepository, A: Aggregate + Clone> EventSourcedExecutor<R, A> {
    /// Snapshots stay off: cqrs-es 0.5 can apply new events twice in snapshot mode (ADR 0003).
    pub fn new(repository: R, services: A::Services) -> Self {
        Self {
            repository,
            cache: Mutex::new(HashMap::new()),
            cache_from_version: CACHE_FROM_VERSION,
            services,
            max_attempts: 8,
            signal: None,
            watch: None,
            vault: None,
            locks: (0..LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            trust_cache: false,
            cacheable: |_| true,
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

    /// Caches states from `version` events on instead of the default, so that tests can
    /// drive the catch-up path with short streams.
    pub fn with_cache_from_version(mut self, version: u64) -> Self {
        self.cache_from_version = version;
        self
    }

    /// Decides commands on the cached state without reading the store first (ADR 0042), and
    /// caches every stream it touches. Safe only for aggregates whose decisions call nothing
    /// outside (their services make no request a stale state could repeat wrongly): a
    /// decision that appends is checked by the store's optimistic concurrency, and one that
    /// refuses or appends nothing is taken again on the stored state before it is answered.
    pub fn trusting_cache(mut self) -> Self {
        self.trust_cache = true;
        self.cache_from_version = 1;
        self
    }

    /// Holds in memory only the states `cacheable` accepts, and forgets a stream's state as
    /// soon as one is refused: for aggregates some of whose states must not outlive their
    /// store (a cart holding a sealed address that may be erased, ADR 0045).
    pub fn caching_only(mut self, cacheable: fn(&A) -> bool) -> Self {
        self.cacheable = cacheable;
        self
    }

    fn cached_known(&self, aggregate_id: &str) -> Option<Known<A>> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(aggregate_id)
            .cloned()
    }

    /// Wakes in-process feed readers after each successful append.
    pub fn with_signal(mut self, signal: FeedSignal) -> Self {
        self.signal = Some(signal);
        self
    }

    /// Wakes the in-process waiters of a stream (long-polls) when it appends to it.
    pub fn with_append_watch(mut self, watch: Arc<AppendWatch>) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Seals the personal fields of the events it appends and opens those it loads (ADR 0026).
    /// Aggregates whose events carry personal data must have one: without it their sealed
    /// rows do not decode.
    pub fn with_vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    fn remember(&self, aggregate_id: &str, known: &Known<A>) {
        if known.version < self.cache_from_version {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if !(self.cacheable)(&known.aggregate) {
            cache.remove(aggregate_id);
            return;
        }
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(aggregate_id) {
            cache.clear();
        }
        cache.insert(aggregate_id.to_owned(), known.clone());
    }

    async fn load_known(&self, aggregate_id: &str) -> Result<Known<A>, CommandError<A::Error>> {
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(aggregate_id)
            .cloned();
        let mut known = cached.unwrap_or_else(|| Known {
            aggregate: A::default(),
            version: 0,
            last_event: None,
        });
        let mut newer = self
            .repository
            .get_last_events::<A>(aggregate_id, known.version as usize)
            .await
            .map_err(persistence)?;
        // The cache is written only when this load learnt something it did not hold: a
        // cached state with nothing newer is already there, and copying it back would clone
        // a (possibly large) aggregate for nothing on every command.
        if newer.is_empty() {
            return Ok(known);
        }
        if let Some(vault) = &self.vault {
            let rows = newer.iter_mut().map(|row| RowMut {
                aggregate_type: &row.aggregate_type,
                aggregate_id: &row.aggregate_id,
                event_type: &row.event_type,
                event_version: &mut row.event_version,
                payload: &mut row.payload,
            });
            vault.open_rows(rows).await.map_err(|e| {
                CommandError::Infrastructure(format!("{} {aggregate_id}: {e}", A::TYPE))
            })?;
        }
        for stored in newer {
            let event =
                codec::decode::<A>(&stored.event_type, &stored.event_version, &stored.payload)
                    .map_err(|e| {
                        CommandError::Infrastructure(format!(
                            "{} {aggregate_id} event {}: {e}",
                            A::TYPE,
                            stored.sequence
                        ))
                    })?;
            known.aggregate.apply(event);
            known.version = stored.sequence as u64;
            known.last_event = Some(EventMetadata::from_json(&stored.metadata));
        }
        self.remember(aggregate_id, &known);
        Ok(known)
    }

    /// The rows to append for `events`, numbered after `version`.
    fn serialize(
        aggregate_id: &str,
        version: u64,
        events: &[A::Event],
        metadata: &serde_json::Value,
    ) -> Result<Vec<SerializedEvent>, CommandError<A::Error>> {
        events
            .iter()
            .enumerate()
            .map(|(index, event)| {
                let stored = codec::encode(event)
                    .map_err(|e| CommandError::Infrastructure(e.to_string()))?;
                Ok(SerializedEvent::new(
                    aggregate_id.to_owned(),
                    version as usize + index + 1,
                    A::TYPE.to_owned(),
                    stored.event_type,
                    stored.event_version,
                    stored.payload,
                    metadata.clone(),
                ))
            })
            .collect()
    }
}

fn persistence<E: std::error::Error>(error: PersistenceError) -> CommandError<E> {
    match error {
        PersistenceError::OptimisticLockError => CommandError::Conflict,
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
        Ok(self.load_known(aggregate_id).await?.into())
    }

    fn cached(&self, aggregate_id: &str) -> Option<Loaded<A>> {
        self.cached_known(aggregate_id).map(Loaded::from)
    }

    async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<A>, CommandError<A::Error>> {
        let commands = std::slice::from_ref(&command);
        let result = self
            .traced(aggregate_id, commands, expected_version, metadata)
            .await
            .and_then(|mut decided| match decided.outcomes.pop() {
                Some(Err(refused)) => Err(CommandError::Rejected(refused)),
                _ => Ok(Executed {
                    version: decided.known.version,
                    events_appended: decided.appended,
                    state: decided.known.aggregate,
                }),
            });
        metrics().command(
            A::TYPE,
            result
                .as_ref()
                .map_or_else(CommandError::outcome, |_| CommandOutcome::Accepted),
        );
        result
    }

    async fn execute_each(
        &self,
        aggregate_id: &str,
        commands: Vec<A::Command>,
        metadata: &CommandMetadata,
    ) -> Result<ExecutedEach<A>, CommandError<A::Error>> {
        let decided = self
            .traced(aggregate_id, &commands, None, metadata)
            .await
            .inspect_err(|error| metrics().command(A::TYPE, error.outcome()))?;
        for outcome in &decided.outcomes {
            metrics().command(
                A::TYPE,
                outcome
                    .as_ref()
                    .map_or(CommandOutcome::Rejected, |()| CommandOutcome::Accepted),
            );
        }
        Ok(ExecutedEach {
            outcomes: decided.outcomes,
            events_appended: decided.appended,
            loaded: decided.known.into(),
        })
    }
}

/// What one decision round came to: each command's outcome, the state after them, and how
/// many events were appended.
struct Decided<A: Aggregate> {
    outcomes: Vec<Result<(), A::Error>>,
    known: Known<A>,
    appended: usize,
}

impl<R, A> EventSourcedExecutor<R, A>
where
    R: PersistedEventRepository + 'static,
    A: Aggregate + Clone + 'static,
    A::Command: Clone + Send + Sync,
    A::Error: Send + Sync,
{
    /// Decides and appends `commands` in the command's span (ADR 0033): a span of its own, or
    /// the caller's.
    async fn traced(
        &self,
        aggregate_id: &str,
        commands: &[A::Command],
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Decided<A>, CommandError<A::Error>> {
        let (span, own) = match metadata.span {
            CommandSpan::Own => (
                tracing::info_span!(
                    parent: &telemetry::current_span(),
                    "command",
                    otel.name = %format_args!("command {}", A::TYPE),
                    commerce.aggregate.type = A::TYPE,
                    commerce.aggregate.id = aggregate_id,
                    commerce.command.outcome = tracing::field::Empty,
                    commerce.events.count = tracing::field::Empty,
                    // The append is the command's last part, recorded here rather than in a
                    // span of its own: a span per append cost a checkout more CPU than tracing
                    // may (ADR 0032).
                    db.operation.name = tracing::field::Empty,
                    db.collection.name = tracing::field::Empty,
                    commerce.append.duration_us = tracing::field::Empty,
                    otel.status_code = tracing::field::Empty,
                ),
                true,
            ),
            CommandSpan::Caller => {
                let span = telemetry::current_span();
                span.record("commerce.aggregate.type", A::TYPE);
                span.record("commerce.aggregate.id", aggregate_id);
                (span, false)
            }
        };
        let executing = self.decide(aggregate_id, commands, expected_version, metadata);
        let result = if own {
            telemetry::traced(span.clone(), executing).await
        } else {
            executing.await
        };
        let outcome = match &result {
            Ok(decided) => {
                span.record("commerce.events.count", decided.appended);
                // A list is accepted as a whole when any of it was.
                if decided.outcomes.is_empty() || decided.outcomes.iter().any(Result::is_ok) {
                    CommandOutcome::Accepted
                } else {
                    CommandOutcome::Rejected
                }
            }
            Err(error) => {
                if matches!(error, CommandError::Infrastructure(_)) {
                    span.record("otel.status_code", "ERROR");
                }
                error.outcome()
            }
        };
        span.record("commerce.command.outcome", outcome.as_str());
        result
    }

    async fn decide(
        &self,
        aggregate_id: &str,
        commands: &[A::Command],
        expected_version: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Decided<A>, CommandError<A::Error>> {
        let _serialized = self.lock_for(aggregate_id).lock().await;
        let mut attempt = 0;
        // The first decision may be taken on the cached state alone (see `trusting_cache`).
        let mut trusted = if self.trust_cache && expected_version.is_none() {
            self.cached_known(aggregate_id)
        } else {
            None
        };
        loop {
            let from_cache = trusted.is_some();
            let mut known = match trusted.take() {
                Some(known) => known,
                None => {
                    attempt += 1;
                    self.load_known(aggregate_id).await?
                }
            };
            let version = known.version;
            if let Some(expected) = expected_version {
                if expected != version {
                    return Err(CommandError::PreconditionFailed {
                        expected,
                        actual: version,
                    });
                }
            }
            let mut events = Vec::new();
            let mut outcomes = Vec::with_capacity(commands.len());
            let mut refused_or_idle = false;
            for command in commands {
                // A refused command leaves no trace on the state the next one is decided on.
                let before = (commands.len() > 1).then(|| known.aggregate.clone());
                let sink = EventSink::default();
                let decided = known
                    .aggregate
                    .handle(command.clone(), &self.services, &sink)
                    .await;
                let emitted = sink.collect().await;
                refused_or_idle |= decided.is_err() || emitted.is_empty();
                match decided {
                    Ok(()) => {
                        events.extend(emitted);
                        outcomes.push(Ok(()));
                    }
                    Err(refused) => {
                        if let Some(before) = before {
                            known.aggregate = before;
                        }
                        outcomes.push(Err(refused));
                    }
                }
            }
            // A refusal or a no-op on a cached state is never checked by an append: take the
            // decision again on the stored state (usually the same, one read later).
            if from_cache && refused_or_idle {
                continue;
            }
            if events.is_empty() {
                return Ok(Decided {
                    outcomes,
                    known,
                    appended: 0,
                });
            }
            let stored_metadata = metadata.to_json(chrono::Utc::now());
            let mut rows = Self::serialize(aggregate_id, version, &events, &stored_metadata)?;
            if let Some(vault) = &self.vault {
                for row in &mut rows {
                    vault
                        .seal(
                            &row.aggregate_type,
                            &row.aggregate_id,
                            &row.event_type,
                            &mut row.event_version,
                            &mut row.payload,
                        )
                        .await
                        .map_err(|e| CommandError::Infrastructure(e.to_string()))?;
                }
            }
            let appending = std::time::Instant::now();
            let persisted = self.repository.persist::<A>(&rows, None).await;
            let command_span = telemetry::current_span();
            command_span.record("db.operation.name", "INSERT");
            command_span.record("db.collection.name", "events");
            command_span.record(
                "commerce.append.duration_us",
                u64::try_from(appending.elapsed().as_micros()).unwrap_or(u64::MAX),
            );
            match persisted {
                Ok(()) => {
                    metrics().events_appended(A::TYPE, rows.len());
                    known.version = version + rows.len() as u64;
                    known.last_event = Some(EventMetadata::from_json(&stored_metadata));
                    // Remembered before anyone is woken: a waiter may look only at memory.
                    self.remember(aggregate_id, &known);
                    if let Some(signal) = &self.signal {
                        signal.notify();
                    }
                    if let Some(watch) = &self.watch {
                        watch.appended(aggregate_id);
                    }
                    return Ok(Decided {
                        outcomes,
                        known,
                        appended: rows.len(),
                    });
                }
                Err(PersistenceError::OptimisticLockError) => {
                    // Someone else appended: the cached state is behind, and the next round
                    // reads what it lacks.
                    if from_cache {
                        continue;
                    }
                    if let Some(expected) = expected_version {
                        let actual = self.load(aggregate_id).await?.version;
                        return Err(CommandError::PreconditionFailed { expected, actual });
                    }
                    if attempt >= self.max_attempts {
                        return Err(CommandError::Conflict);
                    }
                    metrics().command(A::TYPE, CommandOutcome::ConflictRetried);
                    tracing::debug!(
                        aggregate = A::TYPE,
                        aggregate_id,
                        attempt,
                        "write conflict, retrying"
                    );
                    backoff(attempt).await;
                }
                Err(other) => return Err(persistence(other)),
            }
        }
    }
}
