//! The store contract: what every storage adapter promises the runtime, checked against both
//! SQLite and PostgreSQL, each case on a fresh database.
//!
//! Each behaviour is one generic function over [`Store`]; `contract_suite!` runs it once per
//! adapter. The PostgreSQL-only feed regression (a transaction that commits late must not be
//! skipped) follows at the end.

use std::sync::Arc;

use acceptance::support::{self, read_feed};
use chrono::{Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::{Aggregate, DomainEvent};
use postgres_store::PostgresStore;
use runtime::{
    event_id, CommandError, CommandExecutor, CommandMetadata, CommitOutcome, Cursor, Deadlines,
    DocumentChange, EventFeed, EventSourcedExecutor, HealthCheck, IdempotencyClaim,
    IdempotencyStore, ListQuery, ProjectionStore, ReadModels, StoredResponse,
};
use runtime::{
    AttemptOutcome, DeliveryAttempt, DeliveryState, EndpointPatch, EndpointStatus, NewDelivery,
    WebhookEndpoint, WebhookPage, WebhookStore,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlite_store::SqliteStore;

// ---------------------------------------------------------------------------------------------
// A tiny aggregate to append events with.

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Counter {
    value: u64,
}

#[derive(Debug, Clone)]
enum CounterCommand {
    Increment,
    IncrementTwice,
    /// Accepted, emits nothing.
    Touch,
    /// Refused by the aggregate.
    Refuse,
    /// Increments, but only a counter already at this value or more; refused below it.
    IncrementFrom(u64),
    /// Writes an increment, then refuses: what it wrote must count for nothing.
    IncrementThenRefuse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum CounterEvent {
    #[serde(rename = "CounterIncremented")]
    Incremented { value: u64 },
}

impl DomainEvent for CounterEvent {
    fn event_type(&self) -> String {
        match self {
            CounterEvent::Incremented { .. } => "CounterIncremented".to_owned(),
        }
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}

#[derive(Debug, PartialEq)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

impl std::error::Error for Refused {}

impl Aggregate for Counter {
    const TYPE: &'static str = "test_counter";
    type Command = CounterCommand;
    type Event = CounterEvent;
    type Error = Refused;
    type Services = ();

    async fn handle(
        &mut self,
        command: CounterCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refused> {
        let times = match command {
            CounterCommand::Increment => 1,
            CounterCommand::IncrementTwice => 2,
            CounterCommand::Touch => 0,
            CounterCommand::Refuse => return Err(Refused),
            CounterCommand::IncrementFrom(at_least) if self.value < at_least => {
                return Err(Refused)
            }
            CounterCommand::IncrementFrom(_) => 1,
            CounterCommand::IncrementThenRefuse => {
                let value = self.value + 1;
                sink.write(CounterEvent::Incremented { value }, self).await;
                return Err(Refused);
            }
        };
        for _ in 0..times {
            let value = self.value + 1;
            sink.write(CounterEvent::Incremented { value }, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: CounterEvent) {
        match event {
            CounterEvent::Incremented { value } => self.value = value,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What the suite needs from a store beyond the runtime ports.

trait Store:
    EventFeed
    + ProjectionStore
    + ReadModels
    + IdempotencyStore
    + HealthCheck
    + Deadlines
    + WebhookStore
    + accounts::ApiKeys
    + accounts::ServerSecrets
    + accounts::Customers
    + accounts::CustomerProfiles
    + Clone
    + 'static
{
    type Repository: PersistedEventRepository + 'static;

    fn repository(&self) -> Self::Repository;

    async fn has_events(&self) -> bool;

    /// Runs one SQL statement directly, answering the database's error as text.
    async fn raw(&self, sql: &str) -> Result<u64, String>;
}

impl Store for SqliteStore {
    type Repository = sqlite_store::SqliteEventRepository;

    fn repository(&self) -> Self::Repository {
        self.event_repository()
    }

    async fn has_events(&self) -> bool {
        SqliteStore::has_events(self).await.unwrap()
    }

    async fn raw(&self, sql: &str) -> Result<u64, String> {
        sqlx::query(sql)
            .execute(self.pool())
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| e.to_string())
    }
}

impl Store for PostgresStore {
    type Repository = postgres_store::PostgresEventRepository;

    fn repository(&self) -> Self::Repository {
        self.event_repository()
    }

    async fn has_events(&self) -> bool {
        PostgresStore::has_events(self).await.unwrap()
    }

    async fn raw(&self, sql: &str) -> Result<u64, String> {
        sqlx::query(sql)
            .execute(self.pool())
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| e.to_string())
    }
}

fn counters<S: Store>(store: &S) -> EventSourcedExecutor<S::Repository, Counter> {
    EventSourcedExecutor::new(store.repository(), ())
}

fn metadata() -> CommandMetadata {
    CommandMetadata::new("contract-test")
}

async fn append<S: Store>(store: &S, id: &str, command: CounterCommand) -> u64 {
    counters(store)
        .execute(id, command, None, &metadata())
        .await
        .unwrap()
        .version
}

// ---------------------------------------------------------------------------------------------
// Events and the feed.

async fn feed_returns_events_in_commit_order_with_stable_ids<S: Store>(store: S) {
    append(&store, "a", CounterCommand::IncrementTwice).await;
    append(&store, "b", CounterCommand::Increment).await;
    append(&store, "a", CounterCommand::Increment).await;

    let events = read_feed(&store, Cursor::START, 4).await;

    let order: Vec<(&str, u64)> = events
        .iter()
        .map(|e| (e.aggregate_id.as_str(), e.sequence))
        .collect();
    assert_eq!(order, [("a", 1), ("a", 2), ("b", 1), ("a", 3)]);
    assert!(events.windows(2).all(|w| w[0].cursor < w[1].cursor));
    for event in &events {
        assert_eq!(event.aggregate_type, "test_counter");
        assert_eq!(event.event_type, "CounterIncremented");
        assert_eq!(event.event_version, "2");
        assert_eq!(
            event.event_id,
            event_id("test_counter", &event.aggregate_id, event.sequence)
        );
        assert_eq!(event.metadata["actor"], "contract-test");
        let metadata = event.metadata();
        assert!(metadata.correlation_id.is_some());
        assert!(metadata.occurred_at.is_some());
    }
    // Plain data: the payload carries no Rust variant name.
    assert_eq!(*events[3].payload, json!({"value": 3}));
    assert_eq!(
        events[3].decode::<Counter>().unwrap().unwrap(),
        CounterEvent::Incremented { value: 3 }
    );
    let again = read_feed(&store, Cursor::START, 4).await;
    assert_eq!(
        again, events,
        "a second read delivers the same events and ids"
    );
}

async fn read_after_resumes_exactly_after_the_cursor<S: Store>(store: S) {
    for id in ["a", "b", "c", "d", "e"] {
        append(&store, id, CounterCommand::Increment).await;
    }
    let all = read_feed(&store, Cursor::START, 5).await;
    assert_eq!(all.len(), 5);

    let first = store.read_after(Cursor::START, 2).await.unwrap();
    let second = store.read_after(first[1].cursor, 2).await.unwrap();
    let rest = store.read_after(second[1].cursor, 10).await.unwrap();
    let past_the_end = store.read_after(rest[0].cursor, 10).await.unwrap();

    let pages: Vec<_> = [first, second, rest].concat();
    assert_eq!(pages, all);
    assert!(past_the_end.is_empty());
    assert!(store.read_after(Cursor::START, 0).await.unwrap().is_empty());
}

async fn has_events_tells_an_empty_store_apart<S: Store>(store: S) {
    assert!(!store.has_events().await);
    append(&store, "a", CounterCommand::Increment).await;
    assert!(store.has_events().await);
}

async fn events_are_append_only<S: Store>(store: S) {
    append(&store, "a", CounterCommand::Increment).await;
    let before = read_feed(&store, Cursor::START, 1).await;

    let update = store
        .raw("UPDATE events SET event_type = 'Rewritten'")
        .await;
    let delete = store.raw("DELETE FROM events").await;

    assert!(
        update.as_ref().is_err_and(|e| e.contains("append-only")),
        "{update:?}"
    );
    assert!(
        delete.as_ref().is_err_and(|e| e.contains("append-only")),
        "{delete:?}"
    );
    assert_eq!(store.read_after(Cursor::START, 10).await.unwrap(), before);
}

// ---------------------------------------------------------------------------------------------
// Command execution on the store's event repository.

async fn execute_returns_the_new_version<S: Store>(store: S) {
    let counters = counters(&store);
    let metadata = metadata();
    let run = |command| counters.execute("a", command, None, &metadata);

    let once = run(CounterCommand::Increment).await.unwrap();
    let twice = run(CounterCommand::IncrementTwice).await.unwrap();
    let touched = run(CounterCommand::Touch).await.unwrap();
    let refused = run(CounterCommand::Refuse).await;

    assert_eq!((once.version, once.events_appended), (1, 1));
    assert_eq!((twice.version, twice.events_appended), (3, 2));
    assert_eq!((touched.version, touched.events_appended), (3, 0));
    assert!(matches!(refused, Err(CommandError::Rejected(Refused))));
    let loaded = counters.load("a").await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.value), (3, 3));
    assert_eq!(counters.load("never-written").await.unwrap().version, 0);
}

async fn a_pinned_version_that_moved_fails_the_precondition<S: Store>(store: S) {
    let counters = counters(&store);
    let metadata = metadata();
    let run = |expected| counters.execute("a", CounterCommand::Increment, expected, &metadata);

    assert_eq!(run(Some(0)).await.unwrap().version, 1);
    let stale = run(Some(0)).await;
    assert!(
        matches!(
            stale,
            Err(CommandError::PreconditionFailed {
                expected: 0,
                actual: 1
            })
        ),
        "{stale:?}"
    );
    assert_eq!(run(Some(1)).await.unwrap().version, 2);
}

async fn concurrent_commands_on_one_aggregate_never_lose_an_update<S: Store>(store: S) {
    // Four executors stand for four app instances: within one, writers queue on a lock;
    // across them they race, and only the store's optimistic concurrency keeps them honest.
    let instances: Vec<_> = (0..4)
        .map(|_| Arc::new(counters(&store).with_max_attempts(3)))
        .collect();
    let counters = Arc::clone(&instances[0]);
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let counters = Arc::clone(&instances[i % instances.len()]);
            tokio::spawn(async move {
                counters
                    .execute("hot", CounterCommand::Increment, None, &metadata())
                    .await
            })
        })
        .collect();

    let mut landed = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => landed += 1,
            Err(CommandError::Conflict) => {}
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }

    assert!(landed > 0);
    let loaded = counters.load("hot").await.unwrap();
    assert_eq!(loaded.aggregate.value, landed);
    assert_eq!(loaded.version, landed);
    let events = read_feed(&store, Cursor::START, landed as usize).await;
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=landed).collect::<Vec<_>>());
}

async fn a_long_stream_stays_exact_when_two_instances_take_turns<S: Store>(store: S) {
    // Long enough for the executors' state cache to hold it; each instance must still see
    // every event the other appended.
    let first = counters(&store).with_max_attempts(1);
    let second = counters(&store).with_max_attempts(1);
    for n in 1..=40_u64 {
        let instance = if n % 2 == 0 { &first } else { &second };
        let executed = instance
            .execute("long", CounterCommand::Increment, None, &metadata())
            .await
            .unwrap_or_else(|e| panic!("increment {n}: {e}"));
        assert_eq!((executed.version, executed.state.value), (n, n));
    }
    assert_eq!(first.load("long").await.unwrap().aggregate.value, 40);
    assert_eq!(second.load("long").await.unwrap().version, 40);
}

// ---------------------------------------------------------------------------------------------
// Projection checkpoints and read-model documents.

fn upsert(view: &str, id: &str, body: serde_json::Value) -> DocumentChange {
    DocumentChange::Upsert {
        view: view.to_owned(),
        id: id.to_owned(),
        body,
    }
}

fn delete(view: &str, id: &str) -> DocumentChange {
    DocumentChange::Delete {
        view: view.to_owned(),
        id: id.to_owned(),
    }
}

const FIRST: Cursor = Cursor { tx: 7, position: 3 };
const SECOND: Cursor = Cursor { tx: 9, position: 5 };
const THIRD: Cursor = Cursor { tx: 9, position: 8 };

async fn a_checkpoint_moves_only_from_where_it_is<S: Store>(store: S) {
    assert_eq!(store.checkpoint("p").await.unwrap(), Cursor::START);

    let first = store
        .commit("p", Cursor::START, FIRST, vec![upsert("v", "1", json!(1))])
        .await
        .unwrap();
    let replayed = store
        .commit("p", Cursor::START, SECOND, vec![upsert("v", "2", json!(2))])
        .await
        .unwrap();
    let skipping = store
        .commit("p", SECOND, THIRD, vec![upsert("v", "3", json!(3))])
        .await
        .unwrap();

    assert_eq!(first, CommitOutcome::Committed);
    assert_eq!(replayed, CommitOutcome::CheckpointMoved);
    assert_eq!(skipping, CommitOutcome::CheckpointMoved);
    assert_eq!(store.checkpoint("p").await.unwrap(), FIRST);
    assert_eq!(store.get("v", "1").await.unwrap(), Some(json!(1)));
    assert_eq!(store.get("v", "2").await.unwrap(), None);
    assert_eq!(store.get("v", "3").await.unwrap(), None);

    let next = store.commit("p", FIRST, SECOND, vec![]).await.unwrap();
    assert_eq!(next, CommitOutcome::Committed);
    assert_eq!(store.checkpoint("p").await.unwrap(), SECOND);
    assert_eq!(store.checkpoint("other").await.unwrap(), Cursor::START);
}

async fn of_concurrent_commits_from_one_checkpoint_exactly_one_wins<S: Store>(store: S) {
    for from in [Cursor::START, FIRST] {
        let to = if from == Cursor::START { FIRST } else { SECOND };
        let commits: Vec<_> = (0..6)
            .map(|n| {
                let store = store.clone();
                let change = upsert("v", &format!("{}-{n}", to.position), json!(n));
                tokio::spawn(async move { store.commit("p", from, to, vec![change]).await })
            })
            .collect();
        let mut committed = 0;
        for commit in commits {
            if commit.await.unwrap().unwrap() == CommitOutcome::Committed {
                committed += 1;
            }
        }
        assert_eq!(committed, 1, "commits from {from:?}");
        assert_eq!(store.checkpoint("p").await.unwrap(), to);
        let written = store.list(ListQuery::new("v", 100)).await.unwrap();
        let prefix = format!("{}-", to.position);
        assert_eq!(
            written
                .iter()
                .filter(|(id, _)| id.starts_with(&prefix))
                .count(),
            1
        );
    }
}

async fn documents_are_upserted_deleted_and_listed_in_pages<S: Store>(store: S) {
    let mut changes: Vec<_> = (1..=5)
        .map(|n| upsert("things", &format!("t{n}"), json!({"n": n})))
        .collect();
    changes.push(upsert("others", "t0", json!({"other": true})));
    store
        .commit("p", Cursor::START, FIRST, changes)
        .await
        .unwrap();
    store
        .commit(
            "p",
            FIRST,
            SECOND,
            vec![
                upsert("things", "t3", json!({"n": 33})),
                delete("things", "t2"),
                delete("things", "missing"),
            ],
        )
        .await
        .unwrap();

    assert_eq!(
        store.get("things", "t3").await.unwrap(),
        Some(json!({"n": 33}))
    );
    assert_eq!(
        store.load_document("things", "t3").await.unwrap(),
        Some(json!({"n": 33}))
    );
    assert_eq!(store.get("things", "t2").await.unwrap(), None);
    assert_eq!(store.get("others", "t1").await.unwrap(), None);

    let ids = |page: Vec<(String, serde_json::Value)>| -> Vec<String> {
        page.into_iter().map(|(id, _)| id).collect()
    };
    let first = store.list(ListQuery::new("things", 2)).await.unwrap();
    assert_eq!(first[1], ("t3".to_owned(), json!({"n": 33})));
    assert_eq!(ids(first), ["t1", "t3"]);
    assert_eq!(
        ids(store
            .list(ListQuery::new("things", 2).starting_after(Some("t3")))
            .await
            .unwrap()),
        ["t4", "t5"]
    );
    assert!(store
        .list(ListQuery::new("things", 2).starting_after(Some("t5")))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list(ListQuery::new("things", 0))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store.list(ListQuery::new("others", 10)).await.unwrap()),
        ["t0"]
    );

    let newest_first = ListQuery::new("things", 2).descending();
    assert_eq!(ids(store.list(newest_first).await.unwrap()), ["t5", "t4"]);
    assert_eq!(
        ids(store
            .list(newest_first.starting_after(Some("t4")))
            .await
            .unwrap()),
        ["t3", "t1"]
    );
    let mut found = ids(store
        .get_many(
            "things",
            &["t1".to_owned(), "t2".to_owned(), "t5".to_owned()],
        )
        .await
        .unwrap());
    found.sort();
    assert_eq!(found, ["t1", "t5"], "missing documents are left out");
    assert!(store.get_many("things", &[]).await.unwrap().is_empty());
}

async fn secondary_indexes_list_by_prefix<S: Store>(store: S) {
    let changes = [
        "alice/1", "alice/2", "alice/3", "alicea/1", "bob/1", "alic/9",
    ]
    .iter()
    .map(|id| upsert("by_customer", id, json!({"id": id})))
    .collect();
    store
        .commit("p", Cursor::START, FIRST, changes)
        .await
        .unwrap();
    let ids = |page: Vec<(String, serde_json::Value)>| -> Vec<String> {
        page.into_iter().map(|(id, _)| id).collect()
    };
    let alice = ListQuery::new("by_customer", 10).with_prefix("alice/");
    assert_eq!(
        ids(store.list(alice).await.unwrap()),
        ["alice/1", "alice/2", "alice/3"]
    );
    assert_eq!(
        ids(store.list(alice.descending()).await.unwrap()),
        ["alice/3", "alice/2", "alice/1"]
    );
    let page = ListQuery::new("by_customer", 1)
        .with_prefix("alice/")
        .starting_after(Some("alice/1"));
    assert_eq!(ids(store.list(page).await.unwrap()), ["alice/2"]);
    assert!(store
        .list(ListQuery::new("by_customer", 10).with_prefix("carol/"))
        .await
        .unwrap()
        .is_empty());
}

async fn deadlines_come_due_in_time_order_and_survive_being_moved<S: Store>(store: S) {
    let now = chrono::Utc::now();
    let at = |seconds: i64| now + chrono::Duration::seconds(seconds);
    store.schedule("late", at(-1)).await.unwrap();
    store.schedule("early", at(-5)).await.unwrap();
    store.schedule("future", at(60)).await.unwrap();
    let due = store.due(now, 10).await.unwrap();
    let keys: Vec<&str> = due.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["early", "late"]);
    assert_eq!(store.due(now, 1).await.unwrap().len(), 1);

    // Moved after being read: completing the old reading must not remove the new timer.
    store.schedule("early", at(30)).await.unwrap();
    store.clear(&due[0]).await.unwrap();
    store.clear(&due[1]).await.unwrap();
    assert!(store.due(now, 10).await.unwrap().is_empty());
    let later: Vec<String> = store
        .due(at(45), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(later, ["early"]);
    store.cancel("early").await.unwrap();
    store.cancel("never-scheduled").await.unwrap();
    let last: Vec<String> = store
        .due(at(90), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(last, ["future"]);
}

// ---------------------------------------------------------------------------------------------
// Idempotency keys.

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        headers: vec![("location".to_owned(), "/v1/carts/1".to_owned())],
        body: body.to_owned(),
    }
}

async fn an_idempotency_key_replays_its_completed_response<S: Store>(store: S) {
    let now = Utc::now();
    let stale = Duration::minutes(5);

    let first = store.claim("k", "f1", now, stale).await.unwrap();
    let while_running = store.claim("k", "f1", now, stale).await.unwrap();
    let other_request = store.claim("k", "f2", now, stale).await.unwrap();
    store.complete("k", &response("{}"), now).await.unwrap();
    let repeated = store.claim("k", "f1", now, stale).await.unwrap();
    let mismatched = store.claim("k", "f2", now, stale).await.unwrap();

    assert_eq!(first, IdempotencyClaim::Acquired);
    assert_eq!(while_running, IdempotencyClaim::InFlight);
    assert_eq!(other_request, IdempotencyClaim::Mismatch);
    assert_eq!(repeated, IdempotencyClaim::Replay(response("{}")));
    assert_eq!(mismatched, IdempotencyClaim::Mismatch);
}

async fn a_released_idempotency_key_can_be_claimed_again<S: Store>(store: S) {
    let now = Utc::now();
    let stale = Duration::minutes(5);

    store.claim("k", "f1", now, stale).await.unwrap();
    store.release("k").await.unwrap();
    let again = store.claim("k", "f1", now, stale).await.unwrap();
    store.complete("k", &response("done"), now).await.unwrap();
    store.release("k").await.unwrap();
    let after_completion = store.claim("k", "f1", now, stale).await.unwrap();

    assert_eq!(again, IdempotencyClaim::Acquired);
    assert_eq!(after_completion, IdempotencyClaim::Replay(response("done")));
}

async fn a_stale_in_flight_key_is_taken_over_by_exactly_one_claimant<S: Store>(store: S) {
    let start = Utc::now();
    let stale = Duration::seconds(60);

    store.claim("k", "f", start, stale).await.unwrap();
    let fresh = store
        .claim("k", "f", start + Duration::seconds(30), stale)
        .await
        .unwrap();
    assert_eq!(fresh, IdempotencyClaim::InFlight);

    let later = start + Duration::seconds(120);
    let claims: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim("k", "f", later, stale).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for claim in claims {
        outcomes.push(claim.await.unwrap().unwrap());
    }

    let acquired = outcomes
        .iter()
        .filter(|o| **o == IdempotencyClaim::Acquired)
        .count();
    assert_eq!(acquired, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, IdempotencyClaim::Acquired | IdempotencyClaim::InFlight)));
}

async fn purging_forgets_only_old_idempotency_keys<S: Store>(store: S) {
    let start = Utc::now() - Duration::days(2);
    let stale = Duration::minutes(5);
    let recent = start + Duration::days(1) + Duration::hours(12);

    store.claim("old", "f", start, stale).await.unwrap();
    store
        .complete("old", &response("old"), start)
        .await
        .unwrap();
    store.claim("recent", "f", recent, stale).await.unwrap();
    store
        .complete("recent", &response("recent"), recent)
        .await
        .unwrap();

    let purged = store
        .purge_older_than(start + Duration::days(1))
        .await
        .unwrap();

    assert_eq!(purged, 1);
    let now = Utc::now();
    assert_eq!(
        store.claim("old", "other", now, stale).await.unwrap(),
        IdempotencyClaim::Acquired
    );
    assert_eq!(
        store.claim("recent", "f", now, stale).await.unwrap(),
        IdempotencyClaim::Replay(response("recent"))
    );
}

// ---------------------------------------------------------------------------------------------
// Webhooks.

/// Now, at the microsecond precision both stores keep.
fn micros_now() -> chrono::DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

fn endpoint(url: &str, types: &[&str]) -> WebhookEndpoint {
    let now = micros_now();
    WebhookEndpoint {
        id: uuid::Uuid::now_v7(),
        url: url.to_owned(),
        description: format!("receives {url}"),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==".to_owned(),
        status: EndpointStatus::Enabled,
        created_at: now,
        updated_at: now,
    }
}

async fn registered<S: Store>(store: &S, url: &str) -> WebhookEndpoint {
    let endpoint = endpoint(url, &["orders.*"]);
    assert!(store.create_endpoint(&endpoint).await.unwrap());
    endpoint
}

fn delivery(endpoint: &WebhookEndpoint, event: u128) -> NewDelivery {
    let event_id = uuid::Uuid::from_u128(event);
    NewDelivery {
        id: uuid::Uuid::now_v7(),
        endpoint_id: endpoint.id,
        message_id: event_id.to_string(),
        event_id,
        event_type: "orders.order_placed".to_owned(),
        payload: format!("{{\"id\":\"{event_id}\",\"data\":{{\"n\":{event}}}}}"),
        created_at: micros_now(),
    }
}

fn cursor(position: i64) -> Cursor {
    Cursor { tx: 0, position }
}

fn page(limit: usize, starting_after: Option<uuid::Uuid>) -> WebhookPage {
    WebhookPage {
        limit,
        starting_after,
    }
}

fn attempt(number: u32, status: Option<u16>, error: Option<&str>) -> DeliveryAttempt {
    DeliveryAttempt {
        number,
        attempted_at: micros_now(),
        duration_ms: 12,
        response_status: status,
        error: error.map(str::to_owned),
    }
}

/// Which delivery heads each endpoint's queue, as (endpoint, delivery) pairs.
async fn heads<S: Store>(store: &S) -> Vec<(uuid::Uuid, uuid::Uuid)> {
    let mut heads: Vec<_> = store
        .next_deliveries()
        .await
        .unwrap()
        .into_iter()
        .map(|queued| (queued.endpoint_id, queued.delivery_id))
        .collect();
    heads.sort();
    heads
}

async fn webhook_endpoints_are_created_listed_changed_and_deleted<S: Store>(store: S) {
    let a = registered(&store, "https://a.example/hook").await;
    let b = registered(&store, "https://b.example/hook").await;
    let c = registered(&store, "https://c.example/hook").await;

    // A second creation with the same id changes nothing.
    let mut again = a.clone();
    again.url = "https://elsewhere.example/".to_owned();
    assert!(!store.create_endpoint(&again).await.unwrap());
    assert_eq!(store.endpoint(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.endpoint(uuid::Uuid::now_v7()).await.unwrap(), None);

    let ids = |endpoints: Vec<WebhookEndpoint>| endpoints.iter().map(|e| e.id).collect::<Vec<_>>();
    let first = store.list_endpoints(page(2, None)).await.unwrap();
    assert_eq!(ids(first), [c.id, b.id]);
    let rest = store.list_endpoints(page(2, Some(b.id))).await.unwrap();
    assert_eq!(ids(rest), [a.id]);
    let unknown = store
        .list_endpoints(page(2, Some(uuid::Uuid::now_v7())))
        .await
        .unwrap();
    assert!(unknown.is_empty());

    let later = micros_now() + Duration::seconds(1);
    let patch = EndpointPatch {
        url: Some("https://b.example/v2".to_owned()),
        event_types: Some(vec!["orders.order_placed".to_owned(), "carts.*".to_owned()]),
        ..EndpointPatch::default()
    };
    let changed = store
        .update_endpoint(b.id, &patch, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.url, "https://b.example/v2");
    assert_eq!(changed.event_types, ["orders.order_placed", "carts.*"]);
    assert_eq!(changed.description, b.description);
    assert_eq!(changed.updated_at, later);
    assert_eq!(store.endpoint(b.id).await.unwrap(), Some(changed));

    let disabled = store
        .disable_endpoint(c.id, "paused by an administrator", later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        disabled.status,
        EndpointStatus::Disabled {
            reason: "paused by an administrator".to_owned(),
            since: later
        }
    );
    assert_eq!(ids(store.enabled_endpoints().await.unwrap()), [a.id, b.id]);
    store.enable_endpoint(c.id, later).await.unwrap().unwrap();
    assert_eq!(
        ids(store.enabled_endpoints().await.unwrap()),
        [a.id, b.id, c.id]
    );

    let nobody = uuid::Uuid::now_v7();
    assert_eq!(
        store.update_endpoint(nobody, &patch, later).await.unwrap(),
        None
    );
    assert!(store.delete_endpoint(a.id).await.unwrap());
    assert!(!store.delete_endpoint(a.id).await.unwrap());
    assert_eq!(store.endpoint(a.id).await.unwrap(), None);
    assert_eq!(ids(store.enabled_endpoints().await.unwrap()), [b.id, c.id]);
}

async fn deliveries_are_queued_with_the_dispatcher_checkpoint_exactly_once<S: Store>(store: S) {
    let a = registered(&store, "https://a.example/hook").await;
    let b = registered(&store, "https://b.example/hook").await;
    let gone = endpoint("https://gone.example/", &["orders.*"]);
    assert_eq!(store.dispatcher_checkpoint().await.unwrap(), Cursor::START);

    let batch = [
        delivery(&a, 1),
        delivery(&b, 1),
        delivery(&gone, 1),
        delivery(&a, 2),
    ];
    let outcome = store
        .enqueue(Cursor::START, cursor(5), &batch)
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Committed);
    assert_eq!(store.dispatcher_checkpoint().await.unwrap(), cursor(5));

    // A second dispatcher that read the same batch writes nothing.
    let stale = [delivery(&a, 1)];
    let outcome = store
        .enqueue(Cursor::START, cursor(5), &stale)
        .await
        .unwrap();
    assert_eq!(outcome, CommitOutcome::CheckpointMoved);
    assert_eq!(store.dispatcher_checkpoint().await.unwrap(), cursor(5));

    let of_a = store.deliveries(a.id, page(100, None)).await.unwrap();
    let events: Vec<u128> = of_a.iter().map(|d| d.event_id.as_u128()).collect();
    assert_eq!(events, [2, 1], "newest first, and nothing queued twice");
    let first = &of_a[1];
    assert_eq!(first.id, batch[0].id);
    assert_eq!(first.message_id, batch[0].message_id);
    assert_eq!(first.payload, batch[0].payload);
    assert_eq!(first.state, DeliveryState::Pending);
    assert_eq!(first.next_attempt_at, Some(batch[0].created_at));
    assert!(first.attempts.is_empty());
    assert_eq!(
        store.deliveries(b.id, page(100, None)).await.unwrap().len(),
        1
    );
    assert!(store
        .deliveries(gone.id, page(100, None))
        .await
        .unwrap()
        .is_empty());

    // An empty batch still moves the checkpoint.
    let outcome = store.enqueue(cursor(5), cursor(9), &[]).await.unwrap();
    assert_eq!(outcome, CommitOutcome::Committed);
    assert_eq!(store.dispatcher_checkpoint().await.unwrap(), cursor(9));
}

async fn each_enabled_endpoint_offers_only_the_head_of_its_queue<S: Store>(store: S) {
    let a = registered(&store, "https://a.example/hook").await;
    let b = registered(&store, "https://b.example/hook").await;
    let batch = [
        delivery(&a, 1),
        delivery(&b, 2),
        delivery(&a, 3),
        delivery(&a, 4),
    ];
    store
        .enqueue(Cursor::START, cursor(4), &batch)
        .await
        .unwrap();

    let mut expected = vec![(a.id, batch[0].id), (b.id, batch[1].id)];
    expected.sort();
    assert_eq!(heads(&store).await, expected);
    let queued = store.next_deliveries().await.unwrap();
    let head_of_a = queued.iter().find(|q| q.endpoint_id == a.id).unwrap();
    assert_eq!(head_of_a.url, a.url);
    assert_eq!(head_of_a.secret, a.secret);
    assert_eq!(head_of_a.payload, batch[0].payload);
    assert_eq!(head_of_a.attempts_made, 0);
    assert_eq!(head_of_a.due_at, batch[0].created_at);

    // A retry keeps its place at the head: the next delivery waits behind it.
    let retry_at = micros_now() + Duration::minutes(5);
    let failed = attempt(1, Some(500), None);
    let recorded = store
        .record_attempt(batch[0].id, &failed, &AttemptOutcome::RetryAt(retry_at))
        .await
        .unwrap();
    assert!(
        matches!(recorded, runtime::AttemptRecorded::Recorded { next: None }),
        "a retry names no next delivery: {recorded:?}"
    );
    let queued = store.next_deliveries().await.unwrap();
    let head_of_a = queued.iter().find(|q| q.endpoint_id == a.id).unwrap();
    assert_eq!(head_of_a.delivery_id, batch[0].id);
    assert_eq!(head_of_a.attempts_made, 1);
    assert_eq!(head_of_a.due_at, retry_at);

    let succeeded = attempt(2, Some(204), None);
    store
        .record_attempt(batch[0].id, &succeeded, &AttemptOutcome::Succeeded)
        .await
        .unwrap();
    let mut expected = vec![(a.id, batch[2].id), (b.id, batch[1].id)];
    expected.sort();
    assert_eq!(heads(&store).await, expected);

    // A disabled endpoint offers nothing until it is enabled again.
    store
        .disable_endpoint(b.id, "paused", micros_now())
        .await
        .unwrap();
    assert_eq!(heads(&store).await, [(a.id, batch[2].id)]);
    store.enable_endpoint(b.id, micros_now()).await.unwrap();
    assert_eq!(heads(&store).await.len(), 2);
}

async fn attempts_are_recorded_once_and_giving_up_disables_the_endpoint<S: Store>(store: S) {
    let a = registered(&store, "https://a.example/hook").await;
    let batch = [delivery(&a, 1), delivery(&a, 2)];
    store
        .enqueue(Cursor::START, cursor(2), &batch)
        .await
        .unwrap();
    let id = batch[0].id;

    let first = attempt(1, None, Some("connection refused"));
    let retry = AttemptOutcome::RetryAt(micros_now());
    assert!(store
        .record_attempt(id, &first, &retry)
        .await
        .unwrap()
        .was_recorded());
    // The same attempt again, or one that skips a number, changes nothing.
    assert!(!store
        .record_attempt(id, &first, &retry)
        .await
        .unwrap()
        .was_recorded());
    let skipped = attempt(3, Some(500), None);
    assert!(!store
        .record_attempt(id, &skipped, &retry)
        .await
        .unwrap()
        .was_recorded());
    let unknown = uuid::Uuid::now_v7();
    assert!(!store
        .record_attempt(unknown, &first, &retry)
        .await
        .unwrap()
        .was_recorded());

    let last = attempt(2, Some(503), None);
    let gave_up = AttemptOutcome::GaveUp {
        reason: "delivery failed 2 times".to_owned(),
    };
    assert!(store
        .record_attempt(id, &last, &gave_up)
        .await
        .unwrap()
        .was_recorded());
    let finished = attempt(3, Some(200), None);
    assert!(!store
        .record_attempt(id, &finished, &AttemptOutcome::Succeeded)
        .await
        .unwrap()
        .was_recorded());

    let endpoint = store.endpoint(a.id).await.unwrap().unwrap();
    assert_eq!(
        endpoint.status,
        EndpointStatus::Disabled {
            reason: "delivery failed 2 times".to_owned(),
            since: last.attempted_at
        }
    );
    assert!(
        heads(&store).await.is_empty(),
        "the rest of the queue waits"
    );

    let log = store.deliveries(a.id, page(100, None)).await.unwrap();
    let given_up = log.iter().find(|d| d.id == id).unwrap();
    assert_eq!(given_up.state, DeliveryState::Failed);
    assert_eq!(given_up.next_attempt_at, None);
    assert_eq!(given_up.finished_at, Some(last.attempted_at));
    assert_eq!(given_up.attempts, [first, last]);

    // Enabled again, the delivery behind the failed one is next.
    store.enable_endpoint(a.id, micros_now()).await.unwrap();
    assert_eq!(heads(&store).await, [(a.id, batch[1].id)]);
}

async fn deliveries_are_listed_in_pages_and_redelivered_behind_the_queue<S: Store>(store: S) {
    let a = registered(&store, "https://a.example/hook").await;
    let b = registered(&store, "https://b.example/hook").await;
    let batch = [delivery(&a, 1), delivery(&a, 2), delivery(&a, 3)];
    store
        .enqueue(Cursor::START, cursor(3), &batch)
        .await
        .unwrap();
    let done = attempt(1, Some(200), None);
    store
        .record_attempt(batch[0].id, &done, &AttemptOutcome::Succeeded)
        .await
        .unwrap();

    let ids = |log: Vec<runtime::WebhookDelivery>| log.iter().map(|d| d.id).collect::<Vec<_>>();
    let first = store.deliveries(a.id, page(2, None)).await.unwrap();
    assert_eq!(ids(first), [batch[2].id, batch[1].id]);
    let rest = store
        .deliveries(a.id, page(2, Some(batch[1].id)))
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].id, batch[0].id);
    assert_eq!(rest[0].state, DeliveryState::Succeeded);
    assert_eq!(rest[0].attempts, std::slice::from_ref(&done));

    let copy_id = uuid::Uuid::now_v7();
    let now = micros_now();
    let copy = store
        .redeliver(a.id, batch[0].id, copy_id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(copy.id, copy_id);
    assert_eq!(copy.redelivery_of, Some(batch[0].id));
    assert_eq!(copy.message_id, batch[0].message_id);
    assert_eq!(copy.event_id, batch[0].event_id);
    assert_eq!(copy.payload, batch[0].payload);
    assert_eq!(copy.state, DeliveryState::Pending);
    assert_eq!(copy.next_attempt_at, Some(now));
    assert!(copy.attempts.is_empty());
    let newest = store.deliveries(a.id, page(1, None)).await.unwrap();
    assert_eq!(ids(newest), [copy_id]);
    let other = uuid::Uuid::now_v7();
    assert_eq!(
        store
            .redeliver(b.id, batch[0].id, other, now)
            .await
            .unwrap(),
        None,
        "a delivery is redelivered only through its own endpoint"
    );

    // The copy waits behind what was already queued.
    for (n, delivery) in batch[1..].iter().enumerate() {
        assert_eq!(heads(&store).await, [(a.id, delivery.id)], "step {n}");
        let recorded = store
            .record_attempt(delivery.id, &done, &AttemptOutcome::Succeeded)
            .await
            .unwrap();
        // Recording names the endpoint's next delivery, as a fresh read would.
        let runtime::AttemptRecorded::Recorded { next } = recorded else {
            panic!("step {n}: not recorded");
        };
        let next = next.map(|next| (next.endpoint_id, next.delivery_id));
        assert_eq!(
            next.into_iter().collect::<Vec<_>>(),
            heads(&store).await,
            "step {n}"
        );
    }
    assert_eq!(heads(&store).await, [(a.id, copy_id)]);

    // Deleting the endpoint takes its log with it.
    assert!(store.delete_endpoint(a.id).await.unwrap());
    assert!(store
        .deliveries(a.id, page(100, None))
        .await
        .unwrap()
        .is_empty());
    assert!(heads(&store).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// API keys.

async fn api_keys_are_found_by_hash_until_revoked_and_listed_with_revoked_ones<S: Store>(store: S) {
    use accounts::{ApiKey, Area, Grants, Scope};
    let key = |name: &str, grants: Grants| ApiKey {
        id: uuid::Uuid::now_v7(),
        name: name.to_owned(),
        prefix: format!("ck_{name}"),
        grants,
        created_at: micros_now(),
        revoked_at: None,
    };
    let tools = key(
        "tools",
        Grants::Scopes([Scope::Write(Area::Catalog), Scope::Read(Area::Events)].into()),
    );
    let everything = key("all", Grants::Everything);
    store.insert_key(&tools, "hash-tools").await.unwrap();
    store.insert_key(&everything, "hash-all").await.unwrap();
    // A second key with the same secret hash is refused, never stored beside the first.
    assert!(store
        .insert_key(&key("twin", Grants::Everything), "hash-tools")
        .await
        .is_err());

    assert_eq!(
        store.active_key("hash-tools").await.unwrap(),
        Some(tools.clone())
    );
    assert_eq!(
        store.active_key("hash-all").await.unwrap(),
        Some(everything.clone())
    );
    assert_eq!(store.active_key("hash-none").await.unwrap(), None);

    let revoked_at = micros_now();
    assert!(store.revoke_key(tools.id, revoked_at).await.unwrap());
    assert!(
        !store.revoke_key(tools.id, revoked_at).await.unwrap(),
        "revoked twice"
    );
    assert!(!store
        .revoke_key(uuid::Uuid::now_v7(), revoked_at)
        .await
        .unwrap());
    assert_eq!(store.active_key("hash-tools").await.unwrap(), None);
    assert_eq!(
        store.list_keys().await.unwrap(),
        vec![
            ApiKey {
                revoked_at: Some(revoked_at),
                ..tools
            },
            everything
        ]
    );
}

async fn a_server_secret_is_kept_by_the_first_and_shared_with_every_later_caller<S: Store>(
    store: S,
) {
    let callers = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .kept_secret("token", &format!("candidate-{n}"))
                .await
                .unwrap()
        })
    });
    let kept: std::collections::BTreeSet<String> = futures::future::join_all(callers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "callers at once saw different secrets: {kept:?}"
    );
    let first = kept.into_iter().next().unwrap();
    assert!(first.starts_with("candidate-"));
    assert_eq!(store.kept_secret("token", "later").await.unwrap(), first);
    assert_eq!(store.kept_secret("other", "own").await.unwrap(), "own");
}

async fn an_address_book_is_its_customers_alone_and_forgotten_whole<S: Store>(store: S) {
    use accounts::{AddressSaved, Customer, SavedAddress, MAX_SAVED_ADDRESSES};
    use shared_kernel::{AddressData, CustomerId, PostalAddress};
    let customer = |email: &str| Customer {
        id: CustomerId::new(),
        email: email.to_owned(),
        name: "Ada".to_owned(),
        created_at: micros_now(),
    };
    let (ada, bob) = (customer("ada@example.com"), customer("bob@example.com"));
    for account in [&ada, &bob] {
        assert!(store.insert_customer(account, "hash").await.unwrap());
    }
    let address = |line1: &str| SavedAddress {
        id: uuid::Uuid::now_v7(),
        address: PostalAddress::new(AddressData {
            name: "Ada Lovelace".to_owned(),
            line1: line1.to_owned(),
            line2: Some("Flat 2".to_owned()),
            city: "London".to_owned(),
            postal_code: "SW1Y 4JH".to_owned(),
            region: None,
            country: "gb".to_owned(),
            phone: Some("+44 20 7946 0000".to_owned()),
        })
        .unwrap(),
        created_at: micros_now(),
    };
    let (home, work) = (address("12 St James's Square"), address("1 Work Lane"));
    let bobs = address("3 Other Road");
    for (owner, saved) in [(&ada, &home), (&ada, &work), (&bob, &bobs)] {
        assert_eq!(
            store.save_address(owner.id, saved).await.unwrap(),
            AddressSaved::Kept
        );
    }
    assert_eq!(
        store.saved_addresses(ada.id).await.unwrap(),
        vec![home.clone(), work.clone()],
        "read back as saved, oldest first"
    );

    // Another customer's address reads as missing and stays.
    assert!(!store.delete_address(bob.id, home.id).await.unwrap());
    assert!(store.delete_address(ada.id, home.id).await.unwrap());
    assert!(!store.delete_address(ada.id, home.id).await.unwrap());
    assert_eq!(store.saved_addresses(ada.id).await.unwrap(), vec![work]);

    // The book has a limit; a save beyond it keeps nothing.
    for n in 1..MAX_SAVED_ADDRESSES {
        assert_eq!(
            store
                .save_address(ada.id, &address(&format!("{n} Full Street")))
                .await
                .unwrap(),
            AddressSaved::Kept
        );
    }
    assert_eq!(
        store
            .save_address(ada.id, &address("One Too Many"))
            .await
            .unwrap(),
        AddressSaved::BookFull
    );
    assert_eq!(
        store.saved_addresses(ada.id).await.unwrap().len(),
        MAX_SAVED_ADDRESSES
    );

    let renamed = store.rename_customer(ada.id, "Augusta").await.unwrap();
    assert_eq!(renamed.map(|c| c.name), Some("Augusta".to_owned()));
    assert_eq!(
        store
            .rename_customer(CustomerId::new(), "Nobody")
            .await
            .unwrap(),
        None
    );

    // Forgetting a profile empties the book, only that customer's, and can be repeated.
    store.forget_profile(ada.id).await.unwrap();
    store.forget_profile(ada.id).await.unwrap();
    assert!(store.saved_addresses(ada.id).await.unwrap().is_empty());
    assert_eq!(store.saved_addresses(bob.id).await.unwrap(), vec![bobs]);

    // Deleting the account (the erasure of a person) takes its address book with it, and a
    // save for it afterwards (an access token outlives the account) keeps nothing.
    assert!(store.delete_customer(bob.id).await.unwrap());
    assert!(store.saved_addresses(bob.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .save_address(bob.id, &address("After The End"))
            .await
            .unwrap(),
        AddressSaved::NoSuchCustomer
    );
    assert!(store.saved_addresses(bob.id).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The shipping zone directory: a country belongs to at most one zone.

fn countries(codes: &[&str]) -> shipping::CountrySet {
    shipping::CountrySet::parse(codes.iter().copied()).unwrap()
}

fn country(code: &str) -> shared_kernel::CountryCode {
    shared_kernel::CountryCode::parse(code).unwrap()
}

/// The store as the directory (its `claim` shares a name with the idempotency store's).
fn directory<S: Store + shipping::ZoneDirectory>(store: &S) -> &dyn shipping::ZoneDirectory {
    store
}

async fn holders(
    store: &dyn shipping::ZoneDirectory,
    codes: &[&str],
) -> Vec<Option<shipping::ShippingZoneId>> {
    let mut held = Vec::new();
    for code in codes {
        held.push(store.zone_of(country(code)).await.unwrap());
    }
    held
}

async fn a_zone_claims_countries_all_or_none_and_never_one_another_zone_holds<
    S: Store + shipping::ZoneDirectory,
>(
    store: S,
) {
    use shipping::{ShippingZoneId, ZoneDirectoryError};
    let directory = directory(&store);
    let europe = ShippingZoneId::new();
    let nordics = ShippingZoneId::new();
    directory
        .claim(europe, &countries(&["DE", "FR"]))
        .await
        .unwrap();
    // Claiming again, or a subset, is a no-op that succeeds.
    directory
        .claim(europe, &countries(&["DE", "FR"]))
        .await
        .unwrap();
    directory.claim(europe, &countries(&["FR"])).await.unwrap();

    // A claim touching a held country takes nothing (not even AT, before DE in code order),
    // and names the first taken country.
    let refused = directory
        .claim(nordics, &countries(&["SE", "FR", "DK", "DE", "AT"]))
        .await;
    match refused {
        Err(ZoneDirectoryError::CountryTaken { country, zone_id }) => {
            assert_eq!((country.as_str(), zone_id), ("DE", europe));
        }
        other => panic!("expected CountryTaken, got {other:?}"),
    }
    assert_eq!(
        holders(directory, &["DE", "FR", "SE", "DK", "AT"]).await,
        [Some(europe), Some(europe), None, None, None],
        "a refused claim took some of its countries"
    );
    directory
        .claim(nordics, &countries(&["SE", "DK"]))
        .await
        .unwrap();
    assert_eq!(
        holders(directory, &["SE", "DK"]).await,
        [Some(nordics), Some(nordics)]
    );
}

async fn a_zone_releases_only_its_own_countries_that_it_does_not_keep<
    S: Store + shipping::ZoneDirectory,
>(
    store: S,
) {
    let directory = directory(&store);
    use shipping::ShippingZoneId;
    let europe = ShippingZoneId::new();
    let nordics = ShippingZoneId::new();
    directory
        .claim(europe, &countries(&["AT", "DE", "FR"]))
        .await
        .unwrap();
    directory.claim(nordics, &countries(&["SE"])).await.unwrap();

    directory
        .release_except(europe, Some(&countries(&["DE"])))
        .await
        .unwrap();
    // Again: a no-op.
    directory
        .release_except(europe, Some(&countries(&["DE"])))
        .await
        .unwrap();
    assert_eq!(
        holders(directory, &["AT", "DE", "FR", "SE"]).await,
        [None, Some(europe), None, Some(nordics)]
    );
    // Released countries are free for another zone.
    directory.claim(nordics, &countries(&["FR"])).await.unwrap();

    directory.release_except(europe, None).await.unwrap();
    directory.release_except(europe, None).await.unwrap();
    assert_eq!(
        holders(directory, &["DE", "FR", "SE"]).await,
        [None, Some(nordics), Some(nordics)]
    );
}

async fn a_repair_releases_only_claims_older_than_it_is_told<S: Store + shipping::ZoneDirectory>(
    store: S,
) {
    use shipping::ShippingZoneId;
    let directory = directory(&store);
    let europe = ShippingZoneId::new();
    directory
        .claim(europe, &countries(&["AT", "DE", "FR"]))
        .await
        .unwrap();
    let before_the_claims = Utc::now() - Duration::hours(1);
    let after_the_claims = Utc::now() + Duration::seconds(5);

    // A claim younger than the bound may belong to a command in flight: it stays.
    directory
        .release_stale_except(europe, Some(&countries(&["DE"])), before_the_claims)
        .await
        .unwrap();
    assert_eq!(
        holders(directory, &["AT", "DE", "FR"]).await,
        [Some(europe), Some(europe), Some(europe)]
    );
    // Older ones the zone does not keep go, and again is a no-op.
    for _ in 0..2 {
        directory
            .release_stale_except(europe, Some(&countries(&["DE"])), after_the_claims)
            .await
            .unwrap();
    }
    assert_eq!(
        holders(directory, &["AT", "DE", "FR"]).await,
        [None, Some(europe), None]
    );
    directory
        .release_stale_except(europe, None, after_the_claims)
        .await
        .unwrap();
    assert_eq!(holders(directory, &["DE"]).await, [None]);
}

async fn of_zones_claiming_one_country_at_once_exactly_one_holds_it<
    S: Store + shipping::ZoneDirectory,
>(
    store: S,
) {
    let directory = directory(&store);
    use shipping::{ShippingZoneId, ZoneDirectoryError};
    const ZONES: usize = 12;
    let own = [
        "AT", "BE", "CH", "CZ", "DK", "ES", "FI", "GR", "IE", "IT", "NL", "PL",
    ];
    let zones: Vec<ShippingZoneId> = (0..ZONES).map(|_| ShippingZoneId::new()).collect();
    // Each zone wants DE and FR, and a country of its own, all or none.
    let claims = zones.iter().zip(own).map(|(&zone, code)| {
        let store = store.clone();
        tokio::spawn(async move {
            let wanted = countries(&["DE", "FR", code]);
            (
                zone,
                shipping::ZoneDirectory::claim(&store, zone, &wanted).await,
            )
        })
    });
    let outcomes: Vec<_> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<ShippingZoneId> = outcomes
        .iter()
        .filter(|(_, outcome)| outcome.is_ok())
        .map(|(zone, _)| *zone)
        .collect();
    assert_eq!(winners.len(), 1, "several zones won: {outcomes:?}");
    let winner = winners[0];
    for (_, outcome) in &outcomes {
        if let Err(error) = outcome {
            assert!(
                matches!(error, ZoneDirectoryError::CountryTaken { zone_id, .. } if zone_id == &winner),
                "a loser was refused otherwise: {error:?}"
            );
        }
    }
    assert_eq!(
        holders(directory, &["DE", "FR"]).await,
        [Some(winner), Some(winner)]
    );
    for (zone, code) in zones.iter().zip(own) {
        let expected = (*zone == winner).then_some(winner);
        assert_eq!(
            holders(directory, &[code]).await,
            [expected],
            "{code}: a losing zone kept part of its claim"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Health.

async fn a_reachable_store_is_ready<S: Store>(store: S) {
    store.ready().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Order numbers (ADR 0036).

fn order(n: u128) -> shared_kernel::OrderId {
    shared_kernel::OrderId::from_uuid(uuid::Uuid::from_u128(0x0D00 + n))
}

async fn an_order_keeps_its_number_and_is_found_by_it<S: Store + orders::OrderNumbers>(store: S) {
    let first = store.number_for(order(1)).await.unwrap();
    assert_eq!(first.get(), orders::OrderNumber::FIRST);
    let second = store.number_for(order(2)).await.unwrap();
    assert!(second > first, "{second} after {first}");
    // Asking again, as a retried placement does, answers the same number.
    assert_eq!(store.number_for(order(1)).await.unwrap(), first);
    let third = store.number_for(order(3)).await.unwrap();
    assert!(third > second, "{third} after {second}");
    assert_eq!(store.order_numbered(second).await.unwrap(), Some(order(2)));
    assert_eq!(
        store
            .order_numbered(orders::OrderNumber::new(third.get() + 100))
            .await
            .unwrap(),
        None
    );
}

async fn orders_numbered_at_once_never_share_a_number<S: Store + orders::OrderNumbers>(store: S) {
    let numbering = (0..40u128).map(|n| {
        let store = store.clone();
        tokio::spawn(async move { store.number_for(order(n % 20)).await.unwrap() })
    });
    let numbers: Vec<_> = futures::future::join_all(numbering)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Twenty orders, each asked for twice: twenty distinct numbers, each order's the same.
    for n in 0..20usize {
        assert_eq!(numbers[n], numbers[n + 20], "order {n}");
    }
    let distinct: std::collections::BTreeSet<_> = numbers.iter().collect();
    assert_eq!(distinct.len(), 20, "{numbers:?}");
}

// ---------------------------------------------------------------------------------------------

/// A command learns where its events landed in the feed (ADR 0040): the cursor of its last
/// event, recorded for the scope that ran it; nothing when it appended nothing.
async fn an_append_records_the_feed_position_of_its_last_event<S: Store>(store: S) {
    let (_, first) =
        runtime::consistency::recording(append(&store, "a", CounterCommand::Increment)).await;
    let (_, second) =
        runtime::consistency::recording(append(&store, "b", CounterCommand::IncrementTwice)).await;
    let (_, touched) =
        runtime::consistency::recording(append(&store, "b", CounterCommand::Touch)).await;

    let events = read_feed(&store, Cursor::START, 3).await;
    assert_eq!(first, Some(events[0].cursor));
    assert_eq!(
        second,
        Some(events[2].cursor),
        "the last of the command's two events"
    );
    assert_eq!(
        (events[2].aggregate_id.as_str(), events[2].sequence),
        ("b", 2)
    );
    assert_eq!(touched, None);
}

/// Appending at a sequence another writer took is a write conflict, and appends nothing of
/// the batch: the executor retries on fresh state instead of failing the command.
async fn an_append_at_a_taken_sequence_is_a_conflict_and_appends_nothing<S: Store>(store: S) {
    append(&store, "a", CounterCommand::Increment).await;
    let row = |sequence: usize| {
        cqrs_es::persist::SerializedEvent::new(
            "a".to_owned(),
            sequence,
            "test_counter".to_owned(),
            "CounterIncremented".to_owned(),
            "2".to_owned(),
            json!({"value": sequence}),
            json!({}),
        )
    };
    let repository = store.repository();
    let clash = repository.persist::<Counter>(&[row(1), row(2)], None).await;
    assert!(
        matches!(
            clash,
            Err(cqrs_es::persist::PersistenceError::OptimisticLockError)
        ),
        "{clash:?}"
    );
    assert_eq!(read_feed(&store, Cursor::START, 1).await.len(), 1);
    assert_eq!(store.read_after(Cursor::START, 10).await.unwrap().len(), 1);
    repository
        .persist::<Counter>(&[row(2), row(3)], None)
        .await
        .unwrap();
    let loaded = counters(&store).load("a").await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.value), (3, 3));
}

async fn run_on<R: PersistedEventRepository + 'static>(
    executor: &EventSourcedExecutor<R, Counter>,
    command: CounterCommand,
) -> Result<runtime::Executed<Counter>, CommandError<Refused>> {
    executor.execute("c", command, None, &metadata()).await
}

/// Two instances deciding on their cached states (ADR 0042): neither answers from a state
/// the other has moved past, whether the stale decision would append (the append conflicts
/// and it is decided again) or refuse (a refusal is taken again on the stored state).
async fn a_trusted_cache_never_answers_from_a_state_another_instance_moved_past<S: Store>(
    store: S,
) {
    let a = EventSourcedExecutor::<_, Counter>::new(store.repository(), ()).trusting_cache();
    let b = EventSourcedExecutor::<_, Counter>::new(store.repository(), ()).trusting_cache();
    assert_eq!(
        run_on(&a, CounterCommand::Increment).await.unwrap().version,
        1
    );
    assert_eq!(
        run_on(&b, CounterCommand::Increment).await.unwrap().version,
        2
    );
    // `a` holds the counter at 1, where this is refused; the stored counter is at 2.
    let accepted = run_on(&a, CounterCommand::IncrementFrom(2)).await.unwrap();
    assert_eq!((accepted.version, accepted.state.value), (3, 3));
    // `b` holds it at 2: its append at 3 conflicts, and is decided again at 3.
    let appended = run_on(&b, CounterCommand::Increment).await.unwrap();
    assert_eq!((appended.version, appended.state.value), (4, 4));
    // A refusal on the stored state stands.
    let refused = run_on(&a, CounterCommand::IncrementFrom(10)).await;
    assert!(matches!(refused, Err(CommandError::Rejected(Refused))));
    // So does a no-op, and nothing was appended twice.
    assert_eq!(run_on(&a, CounterCommand::Touch).await.unwrap().version, 4);
    let events = read_feed(&store, Cursor::START, 4).await;
    let values: Vec<u64> = events
        .iter()
        .map(|event| match event.decode::<Counter>().unwrap().unwrap() {
            CounterEvent::Incremented { value } => value,
        })
        .collect();
    assert_eq!(values, [1, 2, 3, 4]);
}

/// Commands executed together (ADR 0043) are decided one after the other, each on the state
/// the ones before it left, and appended together; a refused one leaves no trace, even one
/// that wrote before refusing. A list decided on a stale cached state that refuses or does
/// nothing is decided again on the stored state, as a single command is (ADR 0042).
async fn commands_executed_together_append_once_and_leave_the_refused_out<S: Store>(store: S) {
    use CounterCommand::{Increment, IncrementFrom, IncrementThenRefuse, Refuse, Touch};
    let executor = counters(&store);
    let flow = metadata();
    let each = executor
        .execute_each(
            "c",
            vec![
                Increment,
                IncrementThenRefuse,
                IncrementFrom(1),
                Touch,
                Refuse,
            ],
            &flow,
        )
        .await
        .unwrap();
    let accepted: Vec<bool> = each.outcomes.iter().map(Result::is_ok).collect();
    assert_eq!(accepted, [true, false, true, true, false]);
    assert_eq!(
        (
            each.events_appended,
            each.loaded.version,
            each.loaded.aggregate.value
        ),
        (2, 2, 2)
    );
    let last = each
        .loaded
        .last_event
        .expect("the metadata of the last event");
    assert_eq!(last.correlation_id, Some(flow.correlation_id));
    let stored = counters(&store).load("c").await.unwrap();
    assert_eq!((stored.version, stored.aggregate.value), (2, 2));
    let events = read_feed(&store, Cursor::START, 10).await;
    let values: Vec<u64> = events
        .iter()
        .map(|event| match event.decode::<Counter>().unwrap().unwrap() {
            CounterEvent::Incremented { value } => value,
        })
        .collect();
    assert_eq!(values, [1, 2]);

    let a = EventSourcedExecutor::<_, Counter>::new(store.repository(), ()).trusting_cache();
    let b = EventSourcedExecutor::<_, Counter>::new(store.repository(), ()).trusting_cache();
    run_on(&a, Increment).await.unwrap();
    assert_eq!(run_on(&b, Increment).await.unwrap().version, 4);
    // `a` holds the counter at 3, where the first is refused and the second does nothing.
    let each = a
        .execute_each("c", vec![IncrementFrom(4), Touch], &metadata())
        .await
        .unwrap();
    assert!(
        each.outcomes.iter().all(Result::is_ok),
        "{:?}",
        each.outcomes
    );
    assert_eq!((each.loaded.version, each.loaded.aggregate.value), (5, 5));
}

/// An executor told which states it may hold (ADR 0045) keeps the others out of memory, and
/// forgets a stream's cached state as soon as the stream reaches one.
async fn states_that_may_not_be_cached_never_stay_in_memory<S: Store>(store: S) {
    let executor = EventSourcedExecutor::<_, Counter>::new(store.repository(), ())
        .trusting_cache()
        .caching_only(|counter: &Counter| counter.value < 2);
    assert_eq!(
        run_on(&executor, CounterCommand::Increment)
            .await
            .unwrap()
            .version,
        1
    );
    let held = executor.cached("c").expect("a state it may hold is held");
    assert_eq!((held.version, held.aggregate.value), (1, 1));
    assert_eq!(
        run_on(&executor, CounterCommand::Increment)
            .await
            .unwrap()
            .version,
        2
    );
    assert!(executor.cached("c").is_none(), "the state at 2 is held");
    let loaded = executor.load("c").await.unwrap();
    assert_eq!((loaded.version, loaded.aggregate.value), (2, 2));
    assert!(executor.cached("c").is_none(), "a load put it back");
    let next = run_on(&executor, CounterCommand::Increment).await.unwrap();
    assert_eq!((next.version, next.state.value), (3, 3));
    assert!(executor.cached("c").is_none());
}

macro_rules! contract_suite {
    ($($behaviour:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    super::$behaviour(acceptance::support::fresh_sqlite().await).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $behaviour() {
                    super::$behaviour(acceptance::support::fresh_postgres().await).await;
                }
            )+
        }
    };
}

contract_suite!(
    feed_returns_events_in_commit_order_with_stable_ids,
    read_after_resumes_exactly_after_the_cursor,
    has_events_tells_an_empty_store_apart,
    events_are_append_only,
    execute_returns_the_new_version,
    an_append_records_the_feed_position_of_its_last_event,
    an_append_at_a_taken_sequence_is_a_conflict_and_appends_nothing,
    a_trusted_cache_never_answers_from_a_state_another_instance_moved_past,
    commands_executed_together_append_once_and_leave_the_refused_out,
    states_that_may_not_be_cached_never_stay_in_memory,
    a_pinned_version_that_moved_fails_the_precondition,
    concurrent_commands_on_one_aggregate_never_lose_an_update,
    a_long_stream_stays_exact_when_two_instances_take_turns,
    a_checkpoint_moves_only_from_where_it_is,
    of_concurrent_commits_from_one_checkpoint_exactly_one_wins,
    documents_are_upserted_deleted_and_listed_in_pages,
    secondary_indexes_list_by_prefix,
    deadlines_come_due_in_time_order_and_survive_being_moved,
    an_idempotency_key_replays_its_completed_response,
    a_released_idempotency_key_can_be_claimed_again,
    a_stale_in_flight_key_is_taken_over_by_exactly_one_claimant,
    purging_forgets_only_old_idempotency_keys,
    a_reachable_store_is_ready,
    api_keys_are_found_by_hash_until_revoked_and_listed_with_revoked_ones,
    a_server_secret_is_kept_by_the_first_and_shared_with_every_later_caller,
    an_address_book_is_its_customers_alone_and_forgotten_whole,
    a_zone_claims_countries_all_or_none_and_never_one_another_zone_holds,
    a_zone_releases_only_its_own_countries_that_it_does_not_keep,
    of_zones_claiming_one_country_at_once_exactly_one_holds_it,
    a_repair_releases_only_claims_older_than_it_is_told,
    webhook_endpoints_are_created_listed_changed_and_deleted,
    deliveries_are_queued_with_the_dispatcher_checkpoint_exactly_once,
    each_enabled_endpoint_offers_only_the_head_of_its_queue,
    attempts_are_recorded_once_and_giving_up_disables_the_endpoint,
    deliveries_are_listed_in_pages_and_redelivered_behind_the_queue,
    an_order_keeps_its_number_and_is_found_by_it,
    orders_numbered_at_once_never_share_a_number,
);

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a transaction that commits after a later-numbered one is not skipped.

async fn append_raw(tx: &mut sqlx::PgConnection, aggregate_id: &str) {
    sqlx::query(
        "INSERT INTO events \
             (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('test_counter', $1, 1, 'CounterIncremented', '1', \
                 '{\"Incremented\": {\"value\": 1}}', '{}')",
    )
    .bind(aggregate_id)
    .execute(tx)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_feed_does_not_pass_a_transaction_still_in_flight() {
    let store = support::fresh_postgres().await;

    // Given T1 appends first (drawing the lower position) and stays open,
    let mut t1 = store.pool().begin().await.unwrap();
    append_raw(&mut t1, "t1").await;
    // and T2 appends after it and commits,
    let mut t2 = store.pool().begin().await.unwrap();
    append_raw(&mut t2, "t2").await;
    t2.commit().await.unwrap();

    // then T2's event is visible to a plain query, but the feed does not pass T1.
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(visible, 1);
    assert!(store
        .read_after(Cursor::START, 100)
        .await
        .unwrap()
        .is_empty());

    // When T1 commits, the feed returns T1 then T2.
    t1.commit().await.unwrap();
    let events = read_feed(&store, Cursor::START, 2).await;
    let ids: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(ids, ["t1", "t2"]);
    assert!(events[0].cursor < events[1].cursor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_wakes_feed_readers_when_another_connection_commits_events() {
    let store = support::fresh_postgres().await;
    let signal = runtime::FeedSignal::new();
    let mut woken = signal.subscribe();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = {
        let (store, signal) = (store.clone(), signal.clone());
        tokio::spawn(async move { store.forward_appends(signal, stopped).await })
    };
    // The listener signals once when it starts listening; wait for that, then forget it.
    tokio::time::timeout(std::time::Duration::from_secs(10), woken.changed())
        .await
        .expect("the listener starts")
        .unwrap();
    woken.borrow_and_update();

    // An append that commits on a connection of its own (as another instance's would) wakes
    // this process's readers, though nothing in this process appended or polled.
    let mut other = store.pool().begin().await.unwrap();
    append_raw(&mut other, "elsewhere").await;
    assert!(
        !woken.has_changed().unwrap(),
        "nothing is sent before the commit"
    );
    other.commit().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), woken.changed())
        .await
        .expect("the commit wakes the readers")
        .unwrap();

    stop.send(true).unwrap();
    listener.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_wakes_waiters_on_a_checkout_when_another_instance_appends_to_it() {
    let (store, url) = support::fresh_postgres_with_url().await;
    // Another instance: a store of its own on the same database.
    let elsewhere = PostgresStore::connect(&url).await.unwrap();
    let signal = runtime::FeedSignal::new();
    let mut woken = signal.subscribe();
    let checkouts = std::sync::Arc::new(runtime::AppendWatch::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = {
        let (store, signal, checkouts) = (store.clone(), signal.clone(), checkouts.clone());
        tokio::spawn(async move {
            store
                .forward_notifications(signal, Some(checkouts), stopped)
                .await;
        })
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), woken.changed())
        .await
        .expect("the listener starts")
        .unwrap();

    // A shopper waits on one checkout; another instance appends to another checkout, then
    // to this one: only the second append wakes the waiter, and without any local append.
    let watching = checkouts.watch("c-waited");
    let changed = watching.changed();
    tokio::pin!(changed);
    changed.as_mut().enable();
    for (aggregate_type, id) in [("checkout", "c-other"), ("test_counter", "c-waited")] {
        let mut other = elsewhere.pool().begin().await.unwrap();
        sqlx::query(
            "INSERT INTO events \
                 (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                  metadata) \
             VALUES ($1, $2, 1, 'Anything', '1', '{}', '{}')",
        )
        .bind(aggregate_type)
        .bind(id)
        .execute(&mut *other)
        .await
        .unwrap();
        other.commit().await.unwrap();
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), changed.as_mut())
            .await
            .is_err(),
        "appends to other streams do not wake the waiter"
    );
    let mut other = elsewhere.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events \
             (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
              metadata) \
         VALUES ('checkout', 'c-waited', 1, 'Anything', '1', '{}', '{}')",
    )
    .execute(&mut *other)
    .await
    .unwrap();
    other.commit().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), changed)
        .await
        .expect("the append to the waited checkout wakes its waiter");
    assert!(
        watching.appended_elsewhere(),
        "the waiter learns the append is not in this process's memory"
    );
    assert!(!watching.appended_elsewhere(), "told once");

    // This instance's own append wakes its waiters directly: its notification is not
    // taken for another instance's.
    let changed = watching.changed();
    tokio::pin!(changed);
    changed.as_mut().enable();
    let mut own = store.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO events \
             (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
              metadata) \
         VALUES ('checkout', 'c-waited', 2, 'Anything', '1', '{}', '{}')",
    )
    .execute(&mut *own)
    .await
    .unwrap();
    own.commit().await.unwrap();
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(500), changed.as_mut())
            .await
            .is_err(),
        "an append of this instance's is not announced again"
    );
    assert!(!watching.appended_elsewhere());

    stop.send(true).unwrap();
    listener.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_lease_is_taken_over_when_its_holder_dies() {
    use runtime::Leases;
    let store = support::fresh_postgres().await;
    let mut holder = store
        .try_acquire("relay")
        .await
        .unwrap()
        .expect("a free lease is granted");
    assert!(holder.is_held().await);
    assert!(
        store.try_acquire("relay").await.unwrap().is_none(),
        "a held lease is refused"
    );
    assert!(store.try_acquire("webhooks").await.unwrap().is_some());

    // The holder's process dies: the database ends its session (here, by hand; only in this
    // test's database, where other tests' advisory locks, migrations say, never are).
    let ended: i64 = sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(ended >= 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut taken = None;
    while taken.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease was never released"
        );
        taken = store.try_acquire("relay").await.unwrap();
    }
    assert!(
        !holder.is_held().await,
        "the old holder learns it lost the lease"
    );
}

// ---------------------------------------------------------------------------------------------
// Idempotency claims live as long as their holder.

async fn taken_over_once_gone<S: Store>(first: S, second: S) {
    let now = Utc::now();
    let stale = Duration::seconds(60);
    assert_eq!(
        first.claim("k", "f", now, stale).await.unwrap(),
        IdempotencyClaim::Acquired
    );
    drop(first);
    // Its holder is gone: taken over at once, long before it would be stale.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match second.claim("k", "f", now, stale).await.unwrap() {
            IdempotencyClaim::Acquired => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "a dead holder's claim was never taken over: {other:?}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        second.claim("k", "f", now, stale).await.unwrap(),
        IdempotencyClaim::InFlight,
        "the new holder is alive"
    );
}

#[tokio::test]
async fn sqlite_a_claim_of_an_earlier_run_is_taken_over_at_once() {
    let (first, path) = acceptance::support::fresh_sqlite_with_path().await;
    let second = sqlite_store::SqliteStore::connect(path.to_str().unwrap())
        .await
        .unwrap();
    taken_over_once_gone(first, second).await;
}

#[tokio::test]
async fn postgres_a_claim_whose_holder_died_is_taken_over_at_once() {
    let (first, url) = acceptance::support::fresh_postgres_with_url().await;
    let second = postgres_store::PostgresStore::connect(&url).await.unwrap();
    taken_over_once_gone(first, second).await;
}

#[tokio::test]
async fn postgres_a_live_instances_claim_is_not_taken_over() {
    let (first, url) = acceptance::support::fresh_postgres_with_url().await;
    let second = postgres_store::PostgresStore::connect(&url).await.unwrap();
    let now = Utc::now();
    let stale = Duration::seconds(60);
    assert_eq!(
        first.claim("k", "f", now, stale).await.unwrap(),
        IdempotencyClaim::Acquired
    );
    assert_eq!(
        second.claim("k", "f", now, stale).await.unwrap(),
        IdempotencyClaim::InFlight
    );
    // Stale, its live holder is presumed stuck: taken over all the same.
    assert_eq!(
        second
            .claim("k", "f", now + Duration::seconds(61), stale)
            .await
            .unwrap(),
        IdempotencyClaim::Acquired
    );
}
