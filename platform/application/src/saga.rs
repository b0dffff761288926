//! The saga runner, written once for every saga: it turns a saga's pure decisions (its list of
//! steps, ADR 0013) into calls on the participating contexts, and records each outcome on the
//! saga's own aggregate.
//!
//! A saga says what differs ([`SagaDefinition`]): its aggregate, which steps are due, how to
//! perform one, and which feed events start one. The runner does the rest, the same way for
//! all of them:
//! - The global feed, read from a durable checkpoint (`<name>_saga`), delivers the events that
//!   start a saga; a process that died between any two steps resumes where it stopped, since
//!   the checkpoint moves only once every saga the batch started has advanced as far as it can
//!   or has a durable deadline to bring it back.
//! - Deadlines (`<name>:<id>:retry`, plus any the definition sets under `<name>:<id>:`) bring a
//!   saga back when a step must be retried or a wait is over. Retries back off, doubling.
//! - One saga instance advances at a time in this process (lock stripes); another instance
//!   advancing the same saga only repeats steps, which participants ignore.
//! - Every step runs in the saga's flow (ADR 0014): its commands carry the correlation id of
//!   the request that started the saga and name as their cause the event it was decided from.
//! - The steps due together run concurrently, and their outcomes are recorded together in
//!   one append; the next round is decided on the state that append left, without reading
//!   the stream again (ADR 0043).
//! - Every recorded outcome passes two named boundaries, `before:<boundary>` and
//!   `after:<boundary>`, where the fault-injection hook can kill the process: the `before`
//!   boundaries of a round are passed before its append, the `after` ones after it.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Duration;
use cqrs_es::Aggregate;
use runtime::causation::{self, Cause};
use runtime::{
    event_id, CommandError, CommandExecutor, CommandMetadata, Cursor, Deadline, Deadlines,
    EventFeed, ExecutedEach, FeedEvent, Loaded, ProjectionStore, StoreError,
};
use shared_kernel::Clock;
use tokio::sync::watch;

/// Called at every step boundary with its name; the fault-injection switch uses it to kill
/// the process exactly there. `None` in production.
pub type StepBoundaryHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Why a step could not be carried out now: retrying later may succeed. A business refusal is
/// never a `StepFailure`; it is an outcome the saga records.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("step unavailable: {0}")]
pub struct StepFailure(pub String);

/// What one performed step asks the runner to do.
#[derive(Debug)]
pub enum Performed<C> {
    /// Record `command` on the saga, passing the boundaries named `boundary`.
    Record { boundary: &'static str, command: C },
    /// Nothing to record now (the step waits on a deadline the definition scheduled).
    Wait,
}

#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    #[error("saga store: {0}")]
    Store(String),
}

impl From<StoreError> for SagaError {
    fn from(error: StoreError) -> Self {
        Self::Store(error.to_string())
    }
}

fn store<E: std::error::Error>(error: CommandError<E>) -> SagaError {
    SagaError::Store(error.to_string())
}

/// What a saga is, for the runner.
#[async_trait]
pub trait SagaDefinition: Send + Sync + 'static {
    /// The saga's own aggregate: it records every outcome.
    type Aggregate: Aggregate + Clone + Send + Sync + 'static;
    /// The saga instance's id, which is also its aggregate id.
    type Id: Copy + Eq + Hash + Ord + Display + Send + Sync + 'static;
    type Step: Send + 'static;

    /// Names the checkpoint (`<name>_saga`), the deadlines (`<name>:<id>:...`) and the actor
    /// of the recorded outcomes (`<name>-saga`).
    const NAME: &'static str;

    fn parse_id(text: &str) -> Option<Self::Id>;

    /// Which lock stripe the instance takes.
    fn stripe(id: Self::Id) -> u128;

    /// The steps due now, as the saga's decision logic says.
    fn next_steps(saga: &Self::Aggregate) -> Vec<Self::Step>;

    /// Performs one step against its participant and says what to record.
    async fn perform(
        &self,
        id: Self::Id,
        saga: &Self::Aggregate,
        step: Self::Step,
    ) -> Result<Performed<<Self::Aggregate as Aggregate>::Command>, StepFailure>;

    /// The saga instance `event` starts, once whatever starting it takes is done (creating
    /// the saga's aggregate, say); `None` for events that start nothing.
    async fn started_by(&self, event: &FeedEvent) -> Result<Option<Self::Id>, StepFailure>;

    /// A short, stable name for `step`, for its trace span (`reserve_stock`, say).
    fn step_name(_step: &Self::Step) -> &'static str {
        "step"
    }

    /// Called once when an instance this runner advanced has no step left, with its state.
    async fn finished(&self, _id: Self::Id, _saga: &Self::Aggregate) {}

    /// Called after `command` was recorded on the saga, with the saga's state after it: the
    /// place to undo an effect that arrived too late to count (a reservation answered after
    /// its checkout failed, say). An error is retried with the instance.
    async fn recorded(
        &self,
        _id: Self::Id,
        _command: &<Self::Aggregate as Aggregate>::Command,
        _saga: &Self::Aggregate,
    ) -> Result<(), StepFailure> {
        Ok(())
    }
}

/// At most this many settled instances are remembered; the set is emptied when full.
const SETTLED_CAPACITY: usize = 4096;

/// Pauses between retries of a step that failed for now.
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    /// First pause; doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            backoff: Duration::milliseconds(200),
            max_backoff: Duration::seconds(30),
        }
    }
}

/// Runs every instance of one saga.
pub struct SagaRunner<D: SagaDefinition> {
    definition: D,
    executor: Arc<dyn CommandExecutor<D::Aggregate>>,
    deadlines: Arc<dyn Deadlines>,
    clock: Arc<dyn Clock>,
    retry: RetrySettings,
    boundary: Option<StepBoundaryHook>,
    locks: Vec<tokio::sync::Mutex<()>>,
    /// Consecutive retries per instance, for the backoff. In memory: after a restart an
    /// instance starts again from the shortest pause, which is harmless.
    retries: std::sync::Mutex<HashMap<D::Id, u32>>,
    /// Instances this process advanced as far as they could go, which the feed need not
    /// start again (most are started by the request that created them, before the feed
    /// reaches their first event). In memory and bounded: a forgotten one costs a read.
    settled: std::sync::Mutex<HashSet<D::Id>>,
    /// The runner's feed checkpoint, kept in memory between batches.
    checkpoint: runtime::TrackedCheckpoint,
}

impl<D> SagaRunner<D>
where
    D: SagaDefinition,
    <D::Aggregate as Aggregate>::Command: Clone + Send + Sync,
    <D::Aggregate as Aggregate>::Error: std::error::Error + Send + Sync,
{
    pub fn new(
        definition: D,
        executor: Arc<dyn CommandExecutor<D::Aggregate>>,
        deadlines: Arc<dyn Deadlines>,
        clock: Arc<dyn Clock>,
        retry: RetrySettings,
    ) -> Self {
        Self {
            definition,
            executor,
            deadlines,
            clock,
            retry,
            boundary: None,
            locks: (0..64).map(|_| tokio::sync::Mutex::new(())).collect(),
            retries: std::sync::Mutex::new(HashMap::new()),
            settled: std::sync::Mutex::new(HashSet::new()),
            checkpoint: runtime::TrackedCheckpoint::new(Self::checkpoint_name()),
        }
    }

    pub fn with_boundary_hook(mut self, hook: StepBoundaryHook) -> Self {
        self.boundary = Some(hook);
        self
    }

    pub fn definition(&self) -> &D {
        &self.definition
    }

    pub fn executor(&self) -> &Arc<dyn CommandExecutor<D::Aggregate>> {
        &self.executor
    }

    /// The feed checkpoint this saga's runner keeps.
    pub fn checkpoint_name() -> String {
        format!("{}_saga", D::NAME)
    }

    /// The key of instance `id`'s retry deadline.
    pub fn retry_key(id: D::Id) -> String {
        format!("{}:{id}:retry", D::NAME)
    }

    fn instance_of(deadline: &Deadline) -> Option<D::Id> {
        let rest = deadline.key.strip_prefix(D::NAME)?.strip_prefix(':')?;
        D::parse_id(rest.split(':').next()?)
    }

    fn reached(&self, boundary: &str) {
        if let Some(hook) = &self.boundary {
            hook(boundary);
        }
    }

    fn lock_for(&self, id: D::Id) -> &tokio::sync::Mutex<()> {
        let stripe = (D::stripe(id) % self.locks.len() as u128) as usize;
        &self.locks[stripe]
    }

    /// Forgets `id`'s retries; says whether this process had scheduled any.
    fn forget_retries(&self, id: D::Id) -> bool {
        self.retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
            .is_some()
    }

    fn next_retry(&self, id: D::Id) -> u32 {
        let mut retries = self
            .retries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = retries.entry(id).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    fn backoff(&self, failures: u32) -> Duration {
        let factor = 1_i32 << failures.min(10);
        (self.retry.backoff * factor).min(self.retry.max_backoff)
    }

    /// Runs every step that can run now, recording each outcome, until the instance is
    /// finished, waits for a deadline, or a step must be retried later.
    pub async fn advance(&self, id: D::Id) -> Result<(), SagaError> {
        let _one_at_a_time = self.lock_for(id).lock().await;
        self.advance_held(id).await
    }

    /// Advances an instance the feed says was started, unless this process already advanced
    /// it as far as it could go since: the steps it would find are none, or wait on a durable
    /// deadline. Says whether it advanced it.
    async fn advance_started(&self, id: D::Id) -> Result<bool, SagaError> {
        let _one_at_a_time = self.lock_for(id).lock().await;
        let seen = self
            .settled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
        if !seen {
            // The feed passes each start once: nothing would look for it in the set.
            self.advance_steps(id).await?;
        }
        Ok(!seen)
    }

    /// `advance`, with the instance's lock held; remembers an instance it settled.
    async fn advance_held(&self, id: D::Id) -> Result<(), SagaError> {
        let existed = self.advance_steps(id).await?;
        if existed {
            let mut settled = self
                .settled
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if settled.len() >= SETTLED_CAPACITY {
                settled.clear();
            }
            settled.insert(id);
        }
        Ok(())
    }

    /// The loop of `advance`; says whether the instance exists.
    async fn advance_steps(&self, id: D::Id) -> Result<bool, SagaError> {
        let key = id.to_string();
        let mut failures: u32 = 0;
        let mut progressed = false;
        // The state the previous round's own append left: the next round decides on it
        // without reading the stream again (ADR 0043).
        let mut known: Option<Loaded<D::Aggregate>> = None;
        loop {
            let loaded = match known.take() {
                Some(loaded) => loaded,
                None => self.executor.load(&key).await.map_err(store)?,
            };
            if loaded.version == 0 {
                return Ok(false);
            }
            let steps = D::next_steps(&loaded.aggregate);
            if steps.is_empty() {
                let retried = self.forget_retries(id);
                // An instance that was already finished has nothing worth a write left. A
                // retry deadline is cancelled only when this process scheduled one: a late
                // timer (one left by an earlier process, or by a failed advance) finds
                // nothing to do and is cleared.
                if progressed {
                    if retried {
                        self.deadlines.cancel(&Self::retry_key(id)).await?;
                    }
                    self.definition.finished(id, &loaded.aggregate).await;
                }
                return Ok(true);
            }
            let cause = cause_of::<D::Aggregate>(&key, &loaded);
            let saga = &loaded.aggregate;
            // Each step is a span in the trace of the event it was decided from (ADR 0030),
            // whichever process or task runs it.
            let spans: Vec<tracing::Span> = steps
                .iter()
                .map(|step| step_span::<D>(&key, D::step_name(step), &loaded))
                .collect();
            let outcomes = causation::within(
                cause,
                futures::future::join_all(steps.into_iter().zip(&spans).map(|(step, span)| {
                    runtime::telemetry::traced(
                        span.clone(),
                        self.definition.perform(id, saga, step),
                    )
                })),
            )
            .await;
            let mut records: Vec<Record<D>> = Vec::new();
            let mut retry: Option<String> = None;
            for (outcome, span) in outcomes.into_iter().zip(spans) {
                match outcome {
                    Ok(Performed::Record { boundary, command }) => {
                        span.record("commerce.saga.step.outcome", "recorded");
                        records.push(Record {
                            boundary,
                            command,
                            span,
                        });
                    }
                    Ok(Performed::Wait) => {
                        span.record("commerce.saga.step.outcome", "waiting");
                    }
                    Err(StepFailure(reason)) => {
                        span.record("commerce.saga.step.outcome", "retry");
                        span.record("otel.status_code", "ERROR");
                        span.record("otel.status_description", reason.as_str());
                        retry = Some(reason);
                    }
                }
            }
            let recorded = !records.is_empty();
            if recorded {
                progressed = true;
                let round = causation::within(cause, self.record(&key, &records)).await?;
                for (record, outcome) in records.iter().zip(&round.outcomes) {
                    if outcome.is_err() {
                        continue;
                    }
                    let undone = causation::within(
                        cause,
                        runtime::telemetry::traced(
                            record.span.clone(),
                            self.definition
                                .recorded(id, &record.command, &round.loaded.aggregate),
                        ),
                    )
                    .await;
                    if let Err(StepFailure(reason)) = undone {
                        retry = Some(reason);
                    }
                }
                known = Some(round.loaded);
            }
            if let Some(reason) = retry {
                failures = failures.saturating_add(1);
                if !recorded || failures > 3 {
                    let pause = self.backoff(self.next_retry(id));
                    tracing::info!(saga = D::NAME, instance = %id, %reason, ?pause, "step will be retried");
                    self.deadlines
                        .schedule(&Self::retry_key(id), self.clock.now() + pause)
                        .await?;
                    return Ok(true);
                }
            }
            if !recorded {
                return Ok(true);
            }
        }
    }

    /// Records the outcomes of one round in one append (ADR 0043), each passing its
    /// boundaries; returns each one's outcome (a refusal is a late or repeated outcome the
    /// saga no longer needs) and the saga's state after them.
    async fn record(
        &self,
        key: &str,
        records: &[Record<D>],
    ) -> Result<ExecutedEach<D::Aggregate>, SagaError> {
        for record in records {
            self.reached(&format!("before:{}", record.boundary));
        }
        // Traced in the steps' spans, which say what was recorded: a span of its own would
        // only repeat them (ADR 0033). The append runs in the first step's span; the others
        // are given the same fields after it.
        let metadata = CommandMetadata::new(format!("{}-saga", D::NAME)).in_caller_span();
        let commands = records
            .iter()
            .map(|record| record.command.clone())
            .collect();
        let round = runtime::telemetry::traced(
            records[0].span.clone(),
            self.executor.execute_each(key, commands, &metadata),
        )
        .await
        .map_err(store)?;
        for (index, (record, outcome)) in records.iter().zip(&round.outcomes).enumerate() {
            let span = &record.span;
            if index > 0 {
                span.record("commerce.aggregate.type", <D::Aggregate as Aggregate>::TYPE);
                span.record("commerce.aggregate.id", key);
                if round.events_appended > 0 {
                    span.record("db.operation.name", "INSERT");
                    span.record("db.collection.name", "events");
                }
            }
            match outcome {
                Ok(()) => span.record("commerce.command.outcome", "accepted"),
                Err(error) => {
                    tracing::warn!(saga = D::NAME, instance = key, %error, "outcome not recorded");
                    span.record("commerce.command.outcome", "rejected")
                }
            };
            self.reached(&format!("after:{}", record.boundary));
        }
        Ok(round)
    }

    /// Starts every instance the feed's events after the checkpoint start, advances them,
    /// then moves the checkpoint. Returns how many feed events were consumed.
    ///
    /// Only starts need the feed: `advance` runs an instance until it finishes, waits on a
    /// durable deadline, or schedules a retry, and the checkpoint moves only after that. So an
    /// instance behind the checkpoint is never left without something to bring it back, and
    /// the outcomes the runner records itself need no second look. A start that fails for now
    /// stops the batch there; the checkpoint does not move past it.
    pub async fn run_feed_once(
        &self,
        feed: &dyn EventFeed,
        checkpoints: &dyn ProjectionStore,
    ) -> Result<usize, SagaError> {
        let from = self.checkpoint.scanned(checkpoints).await?;
        let batch = feed.read_after(from, 500).await?;
        let mut to: Option<Cursor> = None;
        let mut consumed = 0;
        let mut ids = Vec::new();
        for event in &batch {
            match self.definition.started_by(event).await {
                Ok(Some(id)) => {
                    // The instance's own first event: any advance since has seen it. A later
                    // event may bring it something new, and always advances it.
                    let first = event.sequence == 1
                        && event.aggregate_type == <D::Aggregate as Aggregate>::TYPE
                        && event.aggregate_id == id.to_string();
                    ids.push((id, first));
                }
                Ok(None) => {}
                Err(StepFailure(reason)) => {
                    tracing::warn!(saga = D::NAME, %reason, "a start failed; retried from the feed");
                    break;
                }
            }
            to = Some(event.cursor);
            consumed += 1;
        }
        let Some(to) = to else {
            self.checkpoint.skipped(checkpoints, from).await?;
            return Ok(0);
        };
        // One entry per instance, which may be skipped only if all it got was its first event.
        ids.sort();
        let mut instances: Vec<(D::Id, bool)> = Vec::with_capacity(ids.len());
        for (id, first) in ids {
            match instances.last_mut() {
                Some((last, only_first)) if *last == id => *only_first &= first,
                _ => instances.push((id, first)),
            }
        }
        // Nothing started, or only instances this process had already settled: the
        // checkpoint moves in memory, and is stored now and then (after a crash those starts
        // are read again and find their instances finished or waiting on a deadline).
        let held = if instances.is_empty() || self.advance_all(instances).await? == 0 {
            self.checkpoint.skipped(checkpoints, to).await?
        } else {
            self.checkpoint.commit(checkpoints, to, Vec::new()).await?
        };
        Ok(if held { consumed } else { 0 })
    }

    /// Advances every instance whose deadline has come. A deadline is cleared only after its
    /// instance advanced, so a crash in between leaves it due; advancing may move it, and
    /// clearing leaves a moved deadline alone. Other sagas' deadlines are left to them.
    pub async fn run_deadlines_once(&self) -> Result<usize, SagaError> {
        let due: Vec<(Deadline, D::Id)> = self
            .deadlines
            .due(self.clock.now(), 200)
            .await?
            .into_iter()
            .filter_map(|deadline| Self::instance_of(&deadline).map(|id| (deadline, id)))
            .collect();
        let mut ids: Vec<(D::Id, bool)> = due.iter().map(|(_, id)| (*id, false)).collect();
        ids.sort();
        ids.dedup();
        self.advance_all(ids).await?;
        for (deadline, _) in &due {
            self.deadlines.clear(deadline).await?;
        }
        Ok(due.len())
    }

    /// Advances each instance of `ids`, or, where its flag says the feed only started it,
    /// skips it if this process settled it (see `advance_started`). Returns how many it
    /// advanced or scheduled a retry for.
    async fn advance_all(&self, ids: Vec<(D::Id, bool)>) -> Result<usize, SagaError> {
        let results = futures::future::join_all(ids.iter().map(|&(id, only_started)| async move {
            if only_started {
                self.advance_started(id).await
            } else {
                self.advance(id).await.map(|()| true)
            }
        }))
        .await;
        let mut advanced = 0;
        for ((id, _), result) in ids.iter().zip(results) {
            match result {
                Ok(true) => advanced += 1,
                Ok(false) => {}
                Err(error) => {
                    // Never lose it: come back to it later, whatever the feed does.
                    tracing::warn!(saga = D::NAME, instance = %id, %error, "could not advance");
                    self.deadlines
                        .schedule(&Self::retry_key(*id), self.clock.now() + self.retry.backoff)
                        .await?;
                    advanced += 1;
                }
            }
        }
        Ok(advanced)
    }

    /// The runner loop: feed and deadlines, until `shutdown` turns true.
    pub async fn run(
        self: Arc<Self>,
        feed: Arc<dyn EventFeed>,
        checkpoints: Arc<dyn ProjectionStore>,
        mut wake: watch::Receiver<u64>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let idle = StdDuration::from_millis(100);
        let mut deadlines_polled: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let fed = match self
                .run_feed_once(feed.as_ref(), checkpoints.as_ref())
                .await
            {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(saga = D::NAME, %error, "feed batch failed");
                    0
                }
            };
            // Deadlines are due by the clock, not by the feed: under load, asking after every
            // batch would query them many times a second for nothing.
            if deadlines_polled.is_none_or(|at| at.elapsed() >= idle) {
                deadlines_polled = Some(tokio::time::Instant::now());
                if let Err(error) = self.run_deadlines_once().await {
                    tracing::warn!(saga = D::NAME, %error, "deadlines failed");
                }
            }
            if fed > 0 {
                // Instances started in this process are advanced at once (the REST kick); the
                // feed only catches the rest, so it can wait for a few to accumulate.
                tokio::time::sleep(StdDuration::from_millis(20)).await;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    woken = wake.changed() => {
                        if woken.is_err() {
                            tokio::time::sleep(idle).await;
                        }
                    }
                    stopped = shutdown.changed() => {
                        if stopped.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        if let Err(error) = self.checkpoint.flush(checkpoints.as_ref()).await {
            tracing::warn!(saga = D::NAME, %error, "could not store the checkpoint at stop");
        }
        tracing::info!(saga = D::NAME, "saga runner stopped");
    }
}

/// A step's outcome to record, with the span of the step.
struct Record<D: SagaDefinition> {
    boundary: &'static str,
    command: <D::Aggregate as Aggregate>::Command,
    span: tracing::Span,
}

/// The span of one step of instance `key`, a child of the span that appended the saga's
/// latest event (the request that started it, or the step recorded before).
fn step_span<D: SagaDefinition>(
    key: &str,
    step: &'static str,
    loaded: &Loaded<D::Aggregate>,
) -> tracing::Span {
    let span = tracing::info_span!(
        parent: None,
        "saga step",
        otel.name = %format_args!("{} {step}", D::NAME),
        commerce.saga.name = D::NAME,
        commerce.saga.instance = key,
        commerce.saga.step = step,
        commerce.saga.step.outcome = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
        // The outcome the step records in the saga's own stream, traced here (ADR 0033).
        commerce.aggregate.type = tracing::field::Empty,
        commerce.aggregate.id = tracing::field::Empty,
        commerce.command.outcome = tracing::field::Empty,
        commerce.events.count = tracing::field::Empty,
        db.operation.name = tracing::field::Empty,
        db.collection.name = tracing::field::Empty,
        commerce.append.duration_us = tracing::field::Empty,
    );
    if let Some(event) = &loaded.last_event {
        runtime::telemetry::follow(&span, event);
    }
    span
}

/// The flow a step of instance `key` belongs to: the correlation id its events carry (the
/// instance's own id for one recorded before correlation ids ran through), caused by the
/// event the step is decided from.
fn cause_of<A: Aggregate>(key: &str, loaded: &Loaded<A>) -> Cause {
    let correlation_id = loaded
        .last_event
        .as_ref()
        .and_then(|metadata| metadata.correlation_id)
        .or_else(|| uuid::Uuid::parse_str(key).ok())
        .unwrap_or_else(uuid::Uuid::nil);
    Cause {
        correlation_id,
        causation_id: event_id(A::TYPE, key, loaded.version),
    }
}
