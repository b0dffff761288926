//! Read models built from the global feed.
//!
//! A [`Projection`] is a pure mapping from feed events to JSON documents. The
//! [`ProjectorRunner`] reads a batch after the projection's checkpoint, applies it to a
//! [`WorkingSet`] of documents, and hands the changed documents and the new checkpoint to the
//! store in one transaction, guarded by the checkpoint it started from. A crash at any point
//! either loses the whole batch (it is read again) or commits all of it: nothing is missed and
//! nothing is applied twice (ADR 0005).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::watch;

use crate::consistency::ReadProgress;
use crate::document_cache::DocumentCache;
use crate::feed::{Cursor, EventFeed, FeedEvent};
use crate::telemetry;
use crate::StoreError;

/// A change to one read-model document.
#[derive(Debug, Clone, PartialEq)]
pub enum DocumentChange {
    Upsert {
        view: String,
        id: String,
        body: Value,
    },
    Delete {
        view: String,
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    /// Another runner moved the checkpoint first; nothing was written.
    CheckpointMoved,
}

/// Where projections keep their documents and checkpoints.
#[async_trait]
pub trait ProjectionStore: Send + Sync {
    /// The cursor after the last event the projector committed ([`Cursor::START`] if none).
    async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError>;

    async fn load_document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError>;

    /// Writes `changes` and moves the checkpoint from `from` to `to` in one transaction.
    /// If the stored checkpoint is no longer `from`, writes nothing and says so.
    async fn commit(
        &self,
        projector: &str,
        from: Cursor,
        to: Cursor,
        changes: Vec<DocumentChange>,
    ) -> Result<CommitOutcome, StoreError>;

    /// How many times a rebuild switched `projector`'s read model in (ADR 0049), kept as the
    /// position of the checkpoint named [`crate::rebuild::switch_marker`]: a runner that sees
    /// it change forgets what it holds of the old read model.
    async fn switches(&self, projector: &str) -> Result<u64, StoreError> {
        let marker = self
            .checkpoint(&crate::rebuild::switch_marker(projector))
            .await?;
        Ok(u64::try_from(marker.position).unwrap_or(0))
    }
}

/// Which documents of a view to list, in id order.
///
/// Secondary indexes are views whose ids start with the index key, e.g.
/// `"{customer_id}/{order_id}"`: listing with `prefix = "{customer_id}/"` pages through one
/// customer's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListQuery<'a> {
    pub view: &'a str,
    /// Only ids that start with this; empty for the whole view.
    pub prefix: &'a str,
    /// A full id (prefix included): the page starts after it in the listing order.
    pub starting_after: Option<&'a str>,
    pub limit: usize,
    /// Descending id order (newest first for time-ordered UUID v7 ids).
    pub descending: bool,
}

impl<'a> ListQuery<'a> {
    pub fn new(view: &'a str, limit: usize) -> Self {
        Self {
            view,
            prefix: "",
            starting_after: None,
            limit,
            descending: false,
        }
    }

    pub fn with_prefix(mut self, prefix: &'a str) -> Self {
        self.prefix = prefix;
        self
    }

    pub fn starting_after(mut self, id: Option<&'a str>) -> Self {
        self.starting_after = id;
        self
    }

    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// The smallest string greater than every id with the prefix, if the prefix is not empty.
    pub fn prefix_end(&self) -> Option<String> {
        let mut chars: Vec<char> = self.prefix.chars().collect();
        let last = chars.pop()?;
        let next = char::from_u32(u32::from(last) + 1).unwrap_or(char::MAX);
        chars.push(next);
        Some(chars.into_iter().collect())
    }
}

/// Queries over read-model documents.
#[async_trait]
pub trait ReadModels: Send + Sync {
    async fn get(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError>;

    /// The documents of `view` among `ids` that exist, in no particular order.
    async fn get_many(
        &self,
        view: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError>;

    /// Documents matching `query`, at most `query.limit`, in id order.
    async fn list(&self, query: ListQuery<'_>) -> Result<Vec<(String, Value)>, StoreError>;
}

/// The documents one batch reads and writes. Loaded lazily, written back only if changed.
#[derive(Debug, Default)]
pub struct WorkingSet {
    documents: BTreeMap<(String, String), Option<Value>>,
    changed: HashSet<(String, String)>,
}

impl WorkingSet {
    pub fn get(&self, view: &str, id: &str) -> Option<&Value> {
        self.documents
            .get(&(view.to_owned(), id.to_owned()))
            .and_then(Option::as_ref)
    }

    pub fn put(&mut self, view: &str, id: &str, body: Value) {
        let key = (view.to_owned(), id.to_owned());
        self.documents.insert(key.clone(), Some(body));
        self.changed.insert(key);
    }

    pub fn delete(&mut self, view: &str, id: &str) {
        let key = (view.to_owned(), id.to_owned());
        self.documents.insert(key.clone(), None);
        self.changed.insert(key);
    }

    fn is_loaded(&self, view: &str, id: &str) -> bool {
        self.documents
            .contains_key(&(view.to_owned(), id.to_owned()))
    }

    fn preload(&mut self, view: &str, id: &str, body: Option<Value>) {
        self.documents
            .insert((view.to_owned(), id.to_owned()), body);
    }

    fn into_changes(self) -> Vec<DocumentChange> {
        let mut documents = self.documents;
        let mut changes: Vec<DocumentChange> = self
            .changed
            .into_iter()
            .map(
                |(view, id)| match documents.remove(&(view.clone(), id.clone())).flatten() {
                    Some(body) => DocumentChange::Upsert { view, id, body },
                    None => DocumentChange::Delete { view, id },
                },
            )
            .collect();
        changes.sort_by(|a, b| change_key(a).cmp(&change_key(b)));
        changes
    }
}

fn change_key(change: &DocumentChange) -> (&str, &str) {
    match change {
        DocumentChange::Upsert { view, id, .. } | DocumentChange::Delete { view, id } => (view, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    /// A stored checkpoint per name, moved only from where it is.
    #[derive(Default)]
    struct Stored(std::sync::Mutex<std::collections::HashMap<String, Cursor>>);

    impl Stored {
        fn at(&self, name: &str) -> Cursor {
            self.0
                .lock()
                .unwrap()
                .get(name)
                .copied()
                .unwrap_or_default()
        }
    }

    #[async_trait]
    impl ProjectionStore for Stored {
        async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
            Ok(self.at(projector))
        }
        async fn load_document(&self, _: &str, _: &str) -> Result<Option<Value>, StoreError> {
            Ok(None)
        }
        async fn commit(
            &self,
            projector: &str,
            from: Cursor,
            to: Cursor,
            _: Vec<DocumentChange>,
        ) -> Result<CommitOutcome, StoreError> {
            let mut stored = self.0.lock().unwrap();
            let at = stored.entry(projector.to_owned()).or_default();
            if *at != from {
                return Ok(CommitOutcome::CheckpointMoved);
            }
            *at = to;
            Ok(CommitOutcome::Committed)
        }
    }

    fn at(position: i64) -> Cursor {
        Cursor { tx: 0, position }
    }

    #[tokio::test(start_paused = true)]
    async fn a_checkpoint_that_changed_nothing_is_stored_now_and_then_and_on_flush() {
        let store = Stored::default();
        let checkpoint = TrackedCheckpoint::new("p");
        assert!(checkpoint.skipped(&store, at(3)).await.unwrap());
        assert_eq!(checkpoint.scanned(&store).await.unwrap(), at(3));
        assert_eq!(store.at("p"), Cursor::START, "not stored yet");
        tokio::time::advance(CHECKPOINT_EVERY).await;
        assert!(checkpoint.skipped(&store, at(5)).await.unwrap());
        assert_eq!(store.at("p"), at(5), "stored once a while has passed");
        assert!(checkpoint.skipped(&store, at(6)).await.unwrap());
        checkpoint.flush(&store).await.unwrap();
        assert_eq!(store.at("p"), at(6));
        // A batch that changes something is stored at once.
        assert!(checkpoint.commit(&store, at(8), Vec::new()).await.unwrap());
        assert_eq!(store.at("p"), at(8));
    }

    #[tokio::test]
    async fn a_checkpoint_another_runner_moved_is_read_again() {
        let store = Stored::default();
        let checkpoint = TrackedCheckpoint::new("p");
        assert_eq!(checkpoint.scanned(&store).await.unwrap(), Cursor::START);
        store.0.lock().unwrap().insert("p".into(), at(9));
        assert!(!checkpoint.commit(&store, at(4), Vec::new()).await.unwrap());
        assert_eq!(store.at("p"), at(9), "nothing written over theirs");
        assert_eq!(checkpoint.scanned(&store).await.unwrap(), at(9));
    }

    #[test]
    fn a_prefix_ends_just_after_its_last_character() {
        let query = ListQuery::new("orders_by_customer", 10).with_prefix("abc/");
        assert_eq!(query.prefix_end().as_deref(), Some("abc0"));
        assert!("abc/zzz" < "abc0" && "abc/" < "abc0");
        assert_eq!(ListQuery::new("v", 1).prefix_end(), None);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("event {event_id} could not be projected: {reason}")]
    Malformed {
        event_id: uuid::Uuid,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A read model maintained from the feed. Implementations are pure: all I/O is the runner's.
pub trait Projection: Send + Sync {
    /// The checkpoint name; changing it rebuilds the read model from the start.
    fn name(&self) -> &'static str;

    /// Every view it writes, and no view another projection writes: what a rebuild replaces.
    fn views(&self) -> &'static [&'static str];

    /// The documents `event` may read or write, as (view, id); empty if it is not of interest.
    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)>;

    /// Applies `event` to the documents loaded for it.
    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError>;
}

/// How long a caught-up projector lets appends accumulate before its next cycle.
const COALESCE: Duration = Duration::from_millis(20);

/// A batch that changes nothing moves the stored checkpoint at most this often: a crash then
/// reads those events again, which changes nothing again, so committing each such batch
/// would only load the database (every consumer sees every event, and most events concern
/// few of them). A batch that changes something always commits it with its checkpoint.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How far a consumer has read, and how far its stored checkpoint says.
#[derive(Debug, Clone, Copy)]
struct Position {
    stored: Cursor,
    scanned: Cursor,
    stored_at: tokio::time::Instant,
}

/// A feed consumer's checkpoint, kept in memory between batches instead of read before each.
///
/// Every commit is still guarded by the stored checkpoint it starts from, so when another
/// runner moved it the commit writes nothing, and the next batch starts from the store again.
/// Events that needed no write move the stored checkpoint lazily, at most every
/// [`CHECKPOINT_EVERY`]: after a crash they are read again and again need nothing.
pub struct TrackedCheckpoint {
    name: String,
    position: std::sync::Mutex<Option<Position>>,
}

impl TrackedCheckpoint {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            position: std::sync::Mutex::new(None),
        }
    }

    /// Lets go of the position held: the next read of it adopts the stored one.
    fn forget(&self) {
        self.set(None);
    }

    /// Whether it holds a position; if not, the next read of it adopts the stored one.
    fn tracked(&self) -> bool {
        self.get().is_some()
    }

    fn get(&self) -> Option<Position> {
        *self
            .position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set(&self, position: Option<Position>) {
        *self
            .position
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = position;
    }

    async fn position(&self, store: &dyn ProjectionStore) -> Result<Position, StoreError> {
        if let Some(position) = self.get() {
            return Ok(position);
        }
        let stored = store.checkpoint(&self.name).await?;
        let position = Position {
            stored,
            scanned: stored,
            stored_at: tokio::time::Instant::now(),
        };
        self.set(Some(position));
        Ok(position)
    }

    /// The cursor after the last event this consumer has handled: where to read on.
    pub async fn scanned(&self, store: &dyn ProjectionStore) -> Result<Cursor, StoreError> {
        Ok(self.position(store).await?.scanned)
    }

    /// The events up to `to` needed no write: remembered, and stored if the stored checkpoint
    /// is older than [`CHECKPOINT_EVERY`]. Whether this consumer still holds its checkpoint
    /// (false: another runner moved it; the next batch starts from theirs).
    pub async fn skipped(
        &self,
        store: &dyn ProjectionStore,
        to: Cursor,
    ) -> Result<bool, StoreError> {
        let mut position = self.position(store).await?;
        position.scanned = position.scanned.max(to);
        if position.scanned != position.stored && position.stored_at.elapsed() >= CHECKPOINT_EVERY {
            return self.commit(store, position.scanned, Vec::new()).await;
        }
        self.set(Some(position));
        Ok(true)
    }

    /// Writes `changes` and moves the stored checkpoint to `to` in one transaction; whether
    /// it did (false: another runner had moved it, and the next batch starts from theirs).
    pub async fn commit(
        &self,
        store: &dyn ProjectionStore,
        to: Cursor,
        changes: Vec<DocumentChange>,
    ) -> Result<bool, StoreError> {
        let position = self.position(store).await?;
        match store
            .commit(&self.name, position.stored, to, changes)
            .await?
        {
            CommitOutcome::Committed => {
                self.set(Some(Position {
                    stored: to,
                    scanned: to,
                    stored_at: tokio::time::Instant::now(),
                }));
                Ok(true)
            }
            CommitOutcome::CheckpointMoved => {
                self.set(None);
                Ok(false)
            }
        }
    }

    /// Stores the checkpoint of events handled but not yet recorded, so that the store says
    /// exactly how far this consumer got.
    pub async fn flush(&self, store: &dyn ProjectionStore) -> Result<(), StoreError> {
        if let Some(position) = self.get() {
            if position.scanned != position.stored {
                self.commit(store, position.scanned, Vec::new()).await?;
            }
        }
        Ok(())
    }
}

/// Documents named as (view, id), as [`Projection::documents_for`] names them.
type Documents = Vec<(&'static str, String)>;

/// Drives one projection from the feed with a durable checkpoint ([`TrackedCheckpoint`]).
pub struct ProjectorRunner {
    feed: Arc<dyn EventFeed>,
    store: Arc<dyn ProjectionStore>,
    projection: Arc<dyn Projection>,
    batch_size: usize,
    idle_poll: Duration,
    progress: Option<Arc<ReadProgress>>,
    cache: Option<Arc<DocumentCache>>,
    /// A batch whose commit another runner beat: where it ended, and the documents it touched.
    lost: std::sync::Mutex<Option<(Cursor, Documents)>>,
    checkpoint: TrackedCheckpoint,
    /// The store's count of rebuilds switched in, as last seen, and when it was asked.
    switches: std::sync::Mutex<Option<(u64, tokio::time::Instant)>>,
}

impl ProjectorRunner {
    pub fn new(
        feed: Arc<dyn EventFeed>,
        store: Arc<dyn ProjectionStore>,
        projection: Arc<dyn Projection>,
    ) -> Self {
        let checkpoint = TrackedCheckpoint::new(projection.name());
        Self {
            feed,
            store,
            projection,
            batch_size: 500,
            idle_poll: Duration::from_millis(250),
            progress: None,
            cache: None,
            lost: std::sync::Mutex::new(None),
            checkpoint,
            switches: std::sync::Mutex::new(None),
        }
    }

    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn with_idle_poll(mut self, idle_poll: Duration) -> Self {
        self.idle_poll = idle_poll;
        self
    }

    /// Reports every checkpoint it commits or finds to `progress`, so that reads waiting for
    /// a position wake as soon as this projection has passed it (ADR 0040).
    pub fn with_progress(mut self, progress: Arc<ReadProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Keeps `cache` right for this projection's views (ADR 0044): the documents a batch
    /// touched are forgotten once the store holds them, before the batch's position is
    /// reported; when another runner moved the checkpoint, what it wrote is forgotten before
    /// its checkpoint is reported.
    pub fn with_cache(mut self, cache: Arc<DocumentCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    fn forget(&self, documents: &[(&'static str, String)]) {
        if let Some(cache) = &self.cache {
            cache.invalidate(documents);
        }
    }

    /// Where to read on from, reported. When the position is taken from the store (at the
    /// start, or after another runner moved the checkpoint), the store may hold documents
    /// that runner wrote and this one never saw: the cached ones of this projection are
    /// forgotten before the position is reported. All of them, unless the stored checkpoint
    /// is exactly the end of the batch this runner lost, whose documents it knows.
    async fn start(&self) -> Result<Cursor, ProjectionError> {
        let adopting = !self.checkpoint.tracked();
        let from = self.checkpoint.scanned(self.store.as_ref()).await?;
        if adopting {
            let lost = self
                .lost
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(cache) = &self.cache {
                match lost {
                    Some((to, documents)) if to == from => cache.invalidate(&documents),
                    _ => cache.forget_projection(self.projection.name()),
                }
            }
        }
        self.report(from);
        Ok(from)
    }

    /// At most every [`CHECKPOINT_EVERY`], asks the store whether a rebuild switched this
    /// projection's read model in since it last looked (ADR 0049). If so, what this runner
    /// holds of the old read model goes: its checkpoint, taken again from the store, and,
    /// through [`Self::start`], every cached document of the projection.
    async fn notice_a_switch(&self) -> Result<(), ProjectionError> {
        let last = *self
            .switches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if matches!(last, Some((_, asked)) if asked.elapsed() < CHECKPOINT_EVERY) {
            return Ok(());
        }
        let switches = self.store.switches(self.projection.name()).await?;
        *self
            .switches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((switches, tokio::time::Instant::now()));
        if matches!(last, Some((seen, _)) if seen != switches) {
            self.lost
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            self.checkpoint.forget();
        }
        Ok(())
    }

    /// Another runner committed first: remembers what this batch touched, and takes the
    /// stored checkpoint at once, so that readers waiting for it are not kept waiting.
    async fn lost(&self, to: Cursor, documents: Documents) -> Result<(), ProjectionError> {
        *self
            .lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((to, documents));
        self.start().await?;
        Ok(())
    }

    fn report(&self, cursor: Cursor) {
        if let Some(progress) = &self.progress {
            progress.report(self.projection.name(), cursor);
        }
    }

    /// Projects one batch; returns how many feed events it consumed (0: caught up).
    pub async fn run_once(&self) -> Result<usize, ProjectionError> {
        let name = self.projection.name();
        let store = self.store.as_ref();
        self.notice_a_switch().await?;
        let from = self.start().await?;
        let batch = self.feed.read_after(from, self.batch_size).await?;
        let Some(last) = batch.last() else {
            self.checkpoint.skipped(store, from).await?;
            return Ok(0);
        };
        let to = last.cursor;
        let documents: Vec<_> = batch
            .iter()
            .map(|event| self.projection.documents_for(event))
            .collect();
        if documents.iter().all(Vec::is_empty) {
            // Nothing to write, and no span: it would cost more than the batch (ADR 0032).
            let held = self.checkpoint.skipped(store, to).await?;
            if held {
                self.report(to);
            } else {
                self.lost(to, Vec::new()).await?;
            }
            return Ok(if held { batch.len() } else { 0 });
        }
        // One span per batch that projects anything, linked to the spans that appended the
        // events it keeps documents for (ADR 0032).
        let batch_span = tracing::info_span!(
            parent: None,
            "projector batch",
            otel.name = %format_args!("project {name}"),
            otel.kind = "consumer",
            messaging.operation.type = "process",
            messaging.batch.message_count = batch.len(),
            commerce.projector = name,
        );
        let mut working_set = WorkingSet::default();
        let mut touched: Documents = Vec::new();
        for (event, documents) in batch.iter().zip(documents) {
            if !documents.is_empty() {
                telemetry::link_event(&batch_span, &event.metadata);
            }
            for (view, id) in documents {
                if !working_set.is_loaded(view, &id) {
                    let body =
                        telemetry::traced(batch_span.clone(), self.store.load_document(view, &id))
                            .await?;
                    working_set.preload(view, &id, body);
                    touched.push((view, id));
                }
            }
            self.projection.apply(event, &mut working_set)?;
        }
        let committed = telemetry::traced(
            batch_span,
            self.checkpoint
                .commit(store, to, working_set.into_changes()),
        )
        .await?;
        if committed {
            // Forgotten before reported: a reader woken at `to` finds the new documents.
            self.forget(&touched);
            self.report(to);
            Ok(batch.len())
        } else {
            // Someone else projected this batch; the next round starts from their checkpoint.
            self.lost(to, touched).await?;
            Ok(0)
        }
    }

    /// Stores the checkpoint of events read that changed nothing, so that the store says
    /// exactly how far this projector got.
    pub async fn flush(&self) -> Result<(), ProjectionError> {
        Ok(self.checkpoint.flush(self.store.as_ref()).await?)
    }

    /// Runs until every event visible now is projected, and stores its checkpoint.
    pub async fn catch_up(&self) -> Result<(), ProjectionError> {
        while self.run_once().await? > 0 {}
        self.flush().await
    }

    /// Runs until `shutdown` turns true, waking on `wake` or every idle-poll interval.
    pub async fn run(self, mut wake: watch::Receiver<u64>, mut shutdown: watch::Receiver<bool>) {
        let name = self.projection.name();
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let pause = match self.run_once().await {
                Ok(0) => {
                    failures = 0;
                    Some(self.idle_poll)
                }
                // A full batch means more is waiting: go on at once. A partial one means the
                // projector is caught up with a trickle of appends: let a few accumulate, so
                // that under load one cycle (checkpoint, feed read, commit) serves many events
                // instead of one.
                Ok(n) if n >= self.batch_size => {
                    failures = 0;
                    None
                }
                Ok(_) => {
                    failures = 0;
                    tokio::time::sleep(COALESCE).await;
                    None
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(projector = name, %error, failures, "projection batch failed");
                    Some(Duration::from_millis(100 * u64::from(failures.min(50))))
                }
            };
            if let Some(pause) = pause {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    woken = wake.changed() => {
                        // With no one left to wake it, fall back to polling alone.
                        if woken.is_err() {
                            tokio::time::sleep(pause).await;
                        }
                    }
                    stopped = shutdown.changed() => {
                        // A dropped sender means whoever could stop us is gone: stop.
                        if stopped.is_err() {
                            break;
                        }
                    }
                }
            }
        }
        if let Err(error) = self.flush().await {
            tracing::warn!(projector = name, %error, "could not store the checkpoint at stop");
        }
        tracing::info!(projector = name, "projector stopped");
    }
}
