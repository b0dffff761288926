//! Hot read-model documents served from memory (ADR 0044).
//!
//! [`DocumentCache`] wraps the [`ReadModels`] of the store for a configured set of views and
//! answers `get`, `get_many` and `list` of those views from memory when it can, reading the
//! store and keeping the answer when it cannot. Every other view passes through untouched.
//!
//! It is kept right by the projector runners of this process, never by a time to live: after
//! the store holds a batch's documents, and before the runner reports the batch's position to
//! the readers that wait for it ([`crate::ReadProgress`]), the runner forgets the documents the
//! batch touched ([`DocumentCache::invalidate`]), or every document of its views when it
//! cannot tell which another instance's commit touched ([`DocumentCache::forget_projection`]).
//!
//! A read that misses may race such a forget: it read the store before the commit, and would
//! keep that older document after the forget. So each read takes a ticket before it reads the
//! store: the generation of the key's stripe and the epoch of its view. A forget bumps them;
//! the document is kept only if its ticket is still current, checked under the same lock the
//! forget takes. Hence every document the cache holds was read from the store after the last
//! forget of its key, so after every commit that forget followed.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde_json::Value;

use crate::projection::{ListQuery, ReadModels};
use crate::StoreError;

/// Shards of the document map, each behind its own lock.
const SHARDS: usize = 16;
/// Generation counters per shard: a forget refuses the fills in flight of the keys that share
/// its key's stripe (1 in `SHARDS * STRIPES`), never those of other keys.
const STRIPES: usize = 64;
/// Listing pages kept per view; when full, the view's pages are all dropped.
const LIST_PAGES: usize = 32;
/// A listing page larger than this (JSON text) is not kept.
const LIST_PAGE_MAX_BYTES: usize = 256 * 1024;
/// What an entry costs beyond its JSON text: the map slot, the key, the tree's nodes.
const ENTRY_OVERHEAD: usize = 96;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A view the cache keeps.
struct CachedView {
    name: &'static str,
    /// The projection (checkpoint name) whose runner maintains it.
    projection: &'static str,
    /// Bumped when the whole view is forgotten.
    epoch: AtomicU64,
    lists: Mutex<Lists>,
}

#[derive(Default)]
struct Lists {
    /// Bumped when any document of the view is forgotten: any page may have changed.
    generation: u64,
    pages: HashMap<ListKey, Vec<(String, Value)>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ListKey {
    prefix: String,
    starting_after: Option<String>,
    limit: usize,
    descending: bool,
}

impl ListKey {
    fn of(query: &ListQuery<'_>) -> Self {
        Self {
            prefix: query.prefix.to_owned(),
            starting_after: query.starting_after.map(str::to_owned),
            limit: query.limit,
            descending: query.descending,
        }
    }
}

struct Entry {
    /// `None`: the store has no such document (kept too: it is forgotten the same way).
    document: Option<Value>,
    bytes: usize,
}

struct Shard {
    /// Per cached view (by index), the documents by id.
    documents: Vec<HashMap<String, Entry>>,
    generations: [u64; STRIPES],
    bytes: usize,
}

/// Taken before a read of the store: the document read may be kept only if it is unchanged.
#[derive(Clone, Copy)]
struct Ticket {
    view: usize,
    shard: usize,
    stripe: usize,
    generation: u64,
    epoch: u64,
}

/// A read-through cache of read-model documents (see the module docs).
pub struct DocumentCache {
    store: Arc<dyn ReadModels>,
    views: Vec<CachedView>,
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    shard_budget: usize,
}

impl DocumentCache {
    /// A cache in front of `store` that keeps documents worth about `max_bytes` of JSON text
    /// (the heap they take is a few times that), for the views [`Self::caching`] names.
    pub fn new(store: Arc<dyn ReadModels>, max_bytes: usize) -> Self {
        Self {
            store,
            views: Vec::new(),
            shards: Vec::new(),
            hasher: RandomState::new(),
            shard_budget: max_bytes / SHARDS,
        }
    }

    /// Keeps `view`, whose documents the runner of `projection` maintains.
    #[must_use]
    pub fn caching(mut self, view: &'static str, projection: &'static str) -> Self {
        self.views.push(CachedView {
            name: view,
            projection,
            epoch: AtomicU64::new(0),
            lists: Mutex::new(Lists::default()),
        });
        let views = self.views.len();
        self.shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    documents: (0..views).map(|_| HashMap::new()).collect(),
                    generations: [0; STRIPES],
                    bytes: 0,
                })
            })
            .collect();
        self
    }

    /// The projections whose runners must keep this cache right.
    pub fn projections(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.views.iter().map(|v| v.projection).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    fn view(&self, name: &str) -> Option<usize> {
        self.views.iter().position(|view| view.name == name)
    }

    fn place(&self, view: usize, id: &str) -> (usize, usize) {
        let hash = self.hasher.hash_one((view, id));
        let hash = usize::try_from(hash).unwrap_or(usize::MAX);
        (hash % SHARDS, (hash / SHARDS) % STRIPES)
    }

    /// The cached document (`Some(None)`: cached as absent), or a ticket to read the store.
    fn lookup(&self, view: usize, id: &str) -> Result<Option<Value>, Ticket> {
        let (shard, stripe) = self.place(view, id);
        let guard = lock(&self.shards[shard]);
        if let Some(entry) = guard.documents[view].get(id) {
            return Ok(entry.document.clone());
        }
        Err(Ticket {
            view,
            shard,
            stripe,
            generation: guard.generations[stripe],
            // Read under the shard lock, as `forget_view` clears the shards after bumping it.
            epoch: self.views[view].epoch.load(Ordering::SeqCst),
        })
    }

    /// Keeps `document`, read from the store after `ticket` was taken, unless something
    /// forgot its key since.
    fn fill(&self, ticket: Ticket, id: &str, document: Option<Value>) {
        let bytes = ENTRY_OVERHEAD + id.len() + document.as_ref().map_or(0, json_len);
        if bytes > self.shard_budget {
            return;
        }
        let mut guard = lock(&self.shards[ticket.shard]);
        if guard.generations[ticket.stripe] != ticket.generation
            || self.views[ticket.view].epoch.load(Ordering::SeqCst) != ticket.epoch
        {
            return;
        }
        let shard = &mut *guard;
        while shard.bytes + bytes > self.shard_budget {
            // Full: drop an arbitrary document (the map's first, which its hashing scatters).
            let Some((view, evicted)) = shard
                .documents
                .iter()
                .enumerate()
                .find_map(|(view, ids)| ids.keys().next().map(|id| (view, id.clone())))
            else {
                break;
            };
            if let Some(entry) = shard.documents[view].remove(&evicted) {
                shard.bytes -= entry.bytes;
            }
        }
        if let Some(old) =
            shard.documents[ticket.view].insert(id.to_owned(), Entry { document, bytes })
        {
            shard.bytes -= old.bytes;
        }
        shard.bytes += bytes;
    }

    /// Forgets the documents `keys` name (as a projection's `documents_for` gives them; views
    /// not cached are ignored), and every listing of their views. Call it after the store
    /// holds their new state and before anyone is told it does.
    pub fn invalidate(&self, keys: &[(&str, String)]) {
        let mut touched = vec![false; self.views.len()];
        for (view, id) in keys {
            let Some(index) = self.view(view) else {
                continue;
            };
            touched[index] = true;
            let (shard, stripe) = self.place(index, id);
            let mut guard = lock(&self.shards[shard]);
            guard.generations[stripe] = guard.generations[stripe].wrapping_add(1);
            if let Some(entry) = guard.documents[index].remove(id.as_str()) {
                guard.bytes -= entry.bytes;
            }
        }
        for (index, touched) in touched.into_iter().enumerate() {
            if touched {
                self.forget_lists(index);
            }
        }
    }

    /// Forgets every document of the views `projection` maintains: for when its store state
    /// moved in ways this process cannot name (another instance committed).
    pub fn forget_projection(&self, projection: &str) {
        for index in 0..self.views.len() {
            if self.views[index].projection == projection {
                self.forget_view(index);
            }
        }
    }

    fn forget_view(&self, index: usize) {
        // Bumped first: a fill that checks it after this cannot keep what it read before.
        self.views[index].epoch.fetch_add(1, Ordering::SeqCst);
        for shard in &self.shards {
            let mut guard = lock(shard);
            let forgotten: usize = guard.documents[index].values().map(|e| e.bytes).sum();
            guard.documents[index].clear();
            guard.bytes -= forgotten;
        }
        self.forget_lists(index);
    }

    fn forget_lists(&self, index: usize) {
        let mut lists = lock(&self.views[index].lists);
        lists.generation = lists.generation.wrapping_add(1);
        lists.pages.clear();
    }

    /// How many documents it holds (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                lock(shard)
                    .documents
                    .iter()
                    .map(HashMap::len)
                    .sum::<usize>()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The length of `value` as JSON text.
fn json_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[async_trait]
impl ReadModels for DocumentCache {
    async fn get(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
        let Some(index) = self.view(view) else {
            return self.store.get(view, id).await;
        };
        let ticket = match self.lookup(index, id) {
            Ok(cached) => return Ok(cached),
            Err(ticket) => ticket,
        };
        let document = self.store.get(view, id).await?;
        self.fill(ticket, id, document.clone());
        Ok(document)
    }

    async fn get_many(
        &self,
        view: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let Some(index) = self.view(view) else {
            return self.store.get_many(view, ids).await;
        };
        let mut found = Vec::with_capacity(ids.len());
        let mut missing: Vec<(String, Ticket)> = Vec::new();
        for id in ids {
            match self.lookup(index, id) {
                Ok(Some(document)) => found.push((id.clone(), document)),
                Ok(None) => {}
                Err(ticket) => {
                    if !missing.iter().any(|(known, _)| known == id) {
                        missing.push((id.clone(), ticket));
                    }
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let wanted: Vec<String> = missing.iter().map(|(id, _)| id.clone()).collect();
        let mut read: HashMap<String, Value> = self
            .store
            .get_many(view, &wanted)
            .await?
            .into_iter()
            .collect();
        for (id, ticket) in missing {
            let document = read.remove(&id);
            self.fill(ticket, &id, document.clone());
            if let Some(document) = document {
                found.push((id, document));
            }
        }
        Ok(found)
    }

    async fn list(&self, query: ListQuery<'_>) -> Result<Vec<(String, Value)>, StoreError> {
        let Some(index) = self.view(query.view) else {
            return self.store.list(query).await;
        };
        let key = ListKey::of(&query);
        let generation = {
            let lists = lock(&self.views[index].lists);
            if let Some(page) = lists.pages.get(&key) {
                return Ok(page.clone());
            }
            lists.generation
        };
        let page = self.store.list(query).await?;
        let bytes: usize = page
            .iter()
            .map(|(id, body)| id.len() + json_len(body))
            .sum();
        if bytes <= LIST_PAGE_MAX_BYTES {
            let mut lists = lock(&self.views[index].lists);
            if lists.generation == generation {
                if lists.pages.len() >= LIST_PAGES {
                    lists.pages.clear();
                }
                lists.pages.insert(key, page.clone());
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tokio::sync::Notify;

    /// A store of documents whose reads can be held at a gate, to interleave them.
    #[derive(Default)]
    struct Documents {
        documents: Mutex<HashMap<(String, String), Value>>,
        reads: AtomicU64,
        /// When set, a read takes its snapshot, then waits for `release`.
        gate: Mutex<Option<Arc<Notify>>>,
        reading: Notify,
    }

    impl Documents {
        fn put(&self, view: &str, id: &str, body: Value) {
            lock(&self.documents).insert((view.to_owned(), id.to_owned()), body);
        }

        fn hold_reads(&self) -> Arc<Notify> {
            let release = Arc::new(Notify::new());
            *lock(&self.gate) = Some(release.clone());
            release
        }

        async fn snapshot_then_wait<T>(&self, read: impl FnOnce(&Self) -> T) -> T {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let snapshot = read(self);
            let gate = lock(&self.gate).take();
            if let Some(release) = gate {
                let released = release.notified();
                self.reading.notify_one();
                released.await;
            }
            snapshot
        }
    }

    #[async_trait]
    impl ReadModels for Documents {
        async fn get(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
            Ok(self
                .snapshot_then_wait(|s| {
                    lock(&s.documents)
                        .get(&(view.to_owned(), id.to_owned()))
                        .cloned()
                })
                .await)
        }
        async fn get_many(
            &self,
            view: &str,
            ids: &[String],
        ) -> Result<Vec<(String, Value)>, StoreError> {
            Ok(self
                .snapshot_then_wait(|s| {
                    let documents = lock(&s.documents);
                    ids.iter()
                        .filter_map(|id| {
                            documents
                                .get(&(view.to_owned(), id.clone()))
                                .map(|body| (id.clone(), body.clone()))
                        })
                        .collect()
                })
                .await)
        }
        async fn list(&self, query: ListQuery<'_>) -> Result<Vec<(String, Value)>, StoreError> {
            Ok(self
                .snapshot_then_wait(|s| {
                    let documents = lock(&s.documents);
                    let mut page: Vec<(String, Value)> = documents
                        .iter()
                        .filter(|((view, _), _)| view == query.view)
                        .map(|((_, id), body)| (id.clone(), body.clone()))
                        .collect();
                    page.sort_by(|a, b| a.0.cmp(&b.0));
                    page.truncate(query.limit);
                    page
                })
                .await)
        }
    }

    fn cache_of(store: &Arc<Documents>) -> Arc<DocumentCache> {
        Arc::new(
            DocumentCache::new(store.clone(), 1 << 20)
                .caching("stock", "stock_levels")
                .caching("products", "catalog"),
        )
    }

    #[tokio::test]
    async fn a_document_is_read_once_then_served_from_memory_until_forgotten() {
        let store = Arc::new(Documents::default());
        store.put("stock", "A", json!({"available": 3}));
        let cache = cache_of(&store);
        for _ in 0..3 {
            assert_eq!(
                cache.get("stock", "A").await.unwrap(),
                Some(json!({"available": 3}))
            );
            assert_eq!(cache.get("stock", "none").await.unwrap(), None);
        }
        assert_eq!(store.reads.load(Ordering::SeqCst), 2, "absence is kept too");
        store.put("stock", "A", json!({"available": 2}));
        assert_eq!(
            cache.get("stock", "A").await.unwrap(),
            Some(json!({"available": 3})),
            "still the kept one until forgotten"
        );
        cache.invalidate(&[("stock", "A".to_owned()), ("other", "A".to_owned())]);
        assert_eq!(
            cache.get("stock", "A").await.unwrap(),
            Some(json!({"available": 2}))
        );
        // A view it does not keep is read from the store every time.
        store.put("other", "A", json!(1));
        cache.get("other", "A").await.unwrap();
        cache.get("other", "A").await.unwrap();
        assert_eq!(store.reads.load(Ordering::SeqCst), 5);
    }

    /// A read of the store that started before a commit and its forget must not leave the
    /// older document behind after the forget.
    async fn a_fill_racing_a_forget(forget: impl FnOnce(&DocumentCache)) {
        let store = Arc::new(Documents::default());
        store.put("stock", "A", json!({"available": 3}));
        let cache = cache_of(&store);
        let release = store.hold_reads();
        let reader = tokio::spawn({
            let cache = cache.clone();
            async move { cache.get_many("stock", &["A".to_owned()]).await.unwrap() }
        });
        store.reading.notified().await;
        // The reader holds the old document; the commit lands, then its forget.
        store.put("stock", "A", json!({"available": 2}));
        forget(&cache);
        release.notify_one();
        assert_eq!(
            reader.await.unwrap(),
            vec![("A".to_owned(), json!({"available": 3}))]
        );
        assert_eq!(
            cache.get("stock", "A").await.unwrap(),
            Some(json!({"available": 2})),
            "the older document was not kept"
        );
    }

    #[tokio::test]
    async fn a_fill_racing_an_invalidation_never_keeps_the_older_document() {
        a_fill_racing_a_forget(|cache| cache.invalidate(&[("stock", "A".to_owned())])).await;
    }

    #[tokio::test]
    async fn a_fill_racing_a_forgotten_projection_never_keeps_the_older_document() {
        a_fill_racing_a_forget(|cache| cache.forget_projection("stock_levels")).await;
    }

    #[tokio::test]
    async fn a_listing_is_kept_until_any_document_of_its_view_is_forgotten() {
        let store = Arc::new(Documents::default());
        store.put("products", "p1", json!(1));
        let cache = cache_of(&store);
        let query = ListQuery::new("products", 10);
        assert_eq!(cache.list(query).await.unwrap().len(), 1);
        store.put("products", "p2", json!(2));
        assert_eq!(cache.list(query).await.unwrap().len(), 1);
        // A listing read before the commit, finished after its forget, is not kept either.
        let release = store.hold_reads();
        let reader = tokio::spawn({
            let cache = cache.clone();
            async move {
                cache.invalidate(&[("products", "p2".to_owned())]);
                cache.list(ListQuery::new("products", 10)).await.unwrap()
            }
        });
        store.reading.notified().await;
        store.put("products", "p3", json!(3));
        cache.invalidate(&[("products", "p3".to_owned())]);
        release.notify_one();
        assert_eq!(reader.await.unwrap().len(), 2);
        assert_eq!(cache.list(query).await.unwrap().len(), 3);
        // Forgetting another view's documents leaves it.
        store.put("products", "p4", json!(4));
        cache.invalidate(&[("stock", "p4".to_owned())]);
        assert_eq!(cache.list(query).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn it_keeps_within_its_budget() {
        let store = Arc::new(Documents::default());
        let cache = Arc::new(
            DocumentCache::new(store.clone(), SHARDS * 4 * (ENTRY_OVERHEAD + 40))
                .caching("stock", "stock_levels"),
        );
        let ids: Vec<String> = (0..1000).map(|i| format!("SKU-{i:04}")).collect();
        for id in &ids {
            store.put("stock", id, json!({"available": 1}));
        }
        assert_eq!(cache.get_many("stock", &ids).await.unwrap().len(), 1000);
        let kept = cache.len();
        assert!(kept > 0 && kept <= SHARDS * 4, "{kept}");
        cache.forget_projection("stock_levels");
        assert!(cache.is_empty());
        assert!(lock(&cache.shards[0]).bytes == 0);
    }
}

/// The projector runner keeps the cache right (ADR 0044).
#[cfg(test)]
mod with_a_runner {
    use super::*;
    use crate::consistency::ReadProgress;
    use crate::feed::{Cursor, EventFeed, FeedEvent};
    use crate::projection::{
        CommitOutcome, DocumentChange, Projection, ProjectionError, ProjectionStore,
        ProjectorRunner, WorkingSet,
    };
    use serde_json::json;
    use std::time::Duration;

    /// A feed, documents and checkpoints in memory, shared by the runners of two "instances".
    #[derive(Default)]
    struct Memory {
        events: Mutex<Vec<FeedEvent>>,
        documents: Mutex<HashMap<(String, String), Value>>,
        checkpoints: Mutex<HashMap<String, Cursor>>,
        reads: AtomicU64,
    }

    impl Memory {
        /// Appends an event of stock item `id`; its cursor.
        fn append(&self, id: &str) -> Cursor {
            let mut events = lock(&self.events);
            let position = i64::try_from(events.len()).unwrap() + 1;
            let cursor = Cursor { tx: 0, position };
            events.push(FeedEvent {
                cursor,
                event_id: uuid::Uuid::new_v4(),
                aggregate_type: "Stock".into(),
                aggregate_id: id.into(),
                sequence: u64::try_from(position).unwrap(),
                event_type: "Moved".into(),
                event_version: "1".into(),
                payload: Arc::new(json!({})),
                metadata: Arc::new(json!({})),
            });
            cursor
        }
    }

    #[async_trait]
    impl EventFeed for Memory {
        async fn read_after(
            &self,
            after: Cursor,
            limit: usize,
        ) -> Result<Vec<FeedEvent>, StoreError> {
            Ok(lock(&self.events)
                .iter()
                .filter(|event| event.cursor > after)
                .take(limit)
                .cloned()
                .collect())
        }
    }

    #[async_trait]
    impl ProjectionStore for Memory {
        async fn checkpoint(&self, projector: &str) -> Result<Cursor, StoreError> {
            Ok(lock(&self.checkpoints)
                .get(projector)
                .copied()
                .unwrap_or_default())
        }
        async fn load_document(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
            Ok(lock(&self.documents)
                .get(&(view.to_owned(), id.to_owned()))
                .cloned())
        }
        async fn commit(
            &self,
            projector: &str,
            from: Cursor,
            to: Cursor,
            changes: Vec<DocumentChange>,
        ) -> Result<CommitOutcome, StoreError> {
            let mut checkpoints = lock(&self.checkpoints);
            let at = checkpoints.entry(projector.to_owned()).or_default();
            if *at != from {
                return Ok(CommitOutcome::CheckpointMoved);
            }
            *at = to;
            let mut documents = lock(&self.documents);
            for change in changes {
                match change {
                    DocumentChange::Upsert { view, id, body } => {
                        documents.insert((view, id), body);
                    }
                    DocumentChange::Delete { view, id } => {
                        documents.remove(&(view, id));
                    }
                }
            }
            Ok(CommitOutcome::Committed)
        }
    }

    #[async_trait]
    impl ReadModels for Memory {
        async fn get(&self, view: &str, id: &str) -> Result<Option<Value>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.load_document(view, id).await
        }
        async fn get_many(
            &self,
            view: &str,
            ids: &[String],
        ) -> Result<Vec<(String, Value)>, StoreError> {
            let mut found = Vec::new();
            for id in ids {
                if let Some(body) = self.get(view, id).await? {
                    found.push((id.clone(), body));
                }
            }
            Ok(found)
        }
        async fn list(&self, _: ListQuery<'_>) -> Result<Vec<(String, Value)>, StoreError> {
            unimplemented!("not listed here")
        }
    }

    /// `stock/{id}`: how many events of the item it has seen.
    struct Counts;

    impl Projection for Counts {
        fn name(&self) -> &'static str {
            "stock_levels"
        }
        fn views(&self) -> &'static [&'static str] {
            &["stock"]
        }
        fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
            vec![("stock", event.aggregate_id.clone())]
        }
        fn apply(
            &self,
            event: &FeedEvent,
            documents: &mut WorkingSet,
        ) -> Result<(), ProjectionError> {
            let seen = documents
                .get("stock", &event.aggregate_id)
                .and_then(|body| body["seen"].as_u64())
                .unwrap_or(0);
            documents.put("stock", &event.aggregate_id, json!({ "seen": seen + 1 }));
            Ok(())
        }
    }

    struct Instance {
        cache: Arc<DocumentCache>,
        progress: Arc<ReadProgress>,
        runner: ProjectorRunner,
    }

    /// This instance: a cache of `stock`, kept right by its runner of [`Counts`].
    fn instance(memory: &Arc<Memory>, batch_size: usize) -> Instance {
        let cache =
            Arc::new(DocumentCache::new(memory.clone(), 1 << 20).caching("stock", "stock_levels"));
        let progress = Arc::new(
            ReadProgress::new(vec!["stock_levels"], memory.clone())
                .reported_only(cache.projections()),
        );
        let runner = ProjectorRunner::new(memory.clone(), memory.clone(), Arc::new(Counts))
            .with_batch_size(batch_size)
            .with_progress(progress.clone())
            .with_cache(cache.clone());
        Instance {
            cache,
            progress,
            runner,
        }
    }

    /// Another instance's runner: same store, no cache here.
    fn other(memory: &Arc<Memory>) -> ProjectorRunner {
        ProjectorRunner::new(memory.clone(), memory.clone(), Arc::new(Counts))
    }

    async fn seen(cache: &DocumentCache, id: &str) -> Option<u64> {
        cache
            .get("stock", id)
            .await
            .unwrap()
            .and_then(|body| body["seen"].as_u64())
    }

    async fn has_passed(progress: &ReadProgress, cursor: Cursor) -> bool {
        progress.wait_past(cursor, Duration::ZERO).await.unwrap()
    }

    #[tokio::test]
    async fn a_committed_batch_forgets_what_it_changed_before_reporting_it() {
        let memory = Arc::new(Memory::default());
        let this = instance(&memory, 100);
        memory.append("A");
        memory.append("B");
        this.runner.catch_up().await.unwrap();
        assert_eq!(seen(&this.cache, "A").await, Some(1));
        assert_eq!(seen(&this.cache, "B").await, Some(1));
        assert_eq!(seen(&this.cache, "C").await, None);
        let reads = memory.reads.load(Ordering::SeqCst);
        let at = memory.append("A");
        let created = memory.append("C");
        assert_eq!(this.runner.run_once().await.unwrap(), 2);
        assert!(has_passed(&this.progress, created).await);
        assert_eq!(seen(&this.cache, "A").await, Some(2), "changed at {at:?}");
        assert_eq!(
            seen(&this.cache, "C").await,
            Some(1),
            "absence forgotten too"
        );
        assert_eq!(seen(&this.cache, "B").await, Some(1));
        assert_eq!(
            memory.reads.load(Ordering::SeqCst),
            reads + 2,
            "only what the batch changed was read again"
        );
    }

    #[tokio::test]
    async fn a_batch_another_instance_committed_is_forgotten_before_it_is_reported() {
        let memory = Arc::new(Memory::default());
        let this = instance(&memory, 100);
        let that = other(&memory);
        memory.append("A");
        memory.append("B");
        this.runner.catch_up().await.unwrap();
        assert_eq!(seen(&this.cache, "A").await, Some(1));
        assert_eq!(seen(&this.cache, "B").await, Some(1));
        // The other instance commits the next batch first; this one loses the race for it.
        let at = memory.append("A");
        that.catch_up().await.unwrap();
        assert!(
            !has_passed(&this.progress, at).await,
            "the store's checkpoint is not taken as this cache's progress"
        );
        let reads = memory.reads.load(Ordering::SeqCst);
        assert_eq!(this.runner.run_once().await.unwrap(), 0, "lost");
        assert!(has_passed(&this.progress, at).await, "reported at once");
        assert_eq!(seen(&this.cache, "A").await, Some(2));
        assert_eq!(seen(&this.cache, "B").await, Some(1));
        assert_eq!(
            memory.reads.load(Ordering::SeqCst),
            reads + 1,
            "the lost batch ended where theirs did: only what it changed was forgotten"
        );
    }

    #[tokio::test]
    async fn a_checkpoint_moved_past_the_lost_batch_forgets_the_whole_view() {
        let memory = Arc::new(Memory::default());
        let this = instance(&memory, 1);
        let that = other(&memory);
        memory.append("A");
        memory.append("B");
        this.runner.catch_up().await.unwrap();
        assert_eq!(seen(&this.cache, "B").await, Some(1));
        // The other instance commits two events; this one's batch holds only the first.
        memory.append("A");
        let last = memory.append("B");
        that.catch_up().await.unwrap();
        assert_eq!(this.runner.run_once().await.unwrap(), 0, "lost");
        assert!(has_passed(&this.progress, last).await);
        assert_eq!(
            seen(&this.cache, "B").await,
            Some(2),
            "changed by an event this instance never projected"
        );
    }

    #[tokio::test]
    async fn a_runner_starting_from_the_stored_checkpoint_forgets_the_whole_view() {
        let memory = Arc::new(Memory::default());
        let this = instance(&memory, 100);
        memory.append("A");
        other(&memory).catch_up().await.unwrap();
        // Served before this instance's runner ever ran.
        assert_eq!(seen(&this.cache, "A").await, Some(1));
        let at = memory.append("A");
        other(&memory).catch_up().await.unwrap();
        assert_eq!(
            this.runner.run_once().await.unwrap(),
            0,
            "caught up already"
        );
        assert!(has_passed(&this.progress, at).await);
        assert_eq!(seen(&this.cache, "A").await, Some(2));
    }
}
