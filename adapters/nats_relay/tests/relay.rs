//! The relay, specified from a consumer's side: whatever happens to the relay or its
//! connection, a JetStream consumer that drops event ids it has already seen ends with
//! exactly the events of the feed, each aggregate's in sequence order. Each behaviour runs on
//! SQLite and on PostgreSQL, each case on a fresh database and a stream of its own.

mod support;

use std::time::Duration;

use nats_relay::{RelayConfig, CHECKPOINT};
use support::{
    assert_well_formed, first_copies, jetstream, nats_url, unique_config, CuttableProxy, Harness,
    StreamReader,
};

/// Runs each behaviour once per store.
macro_rules! on_both_stores {
    ($($behaviour:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::Harness::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    super::$behaviour(super::Harness::postgres().await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    relays_every_event_once_through_a_restart,
    republishes_what_it_published_but_did_not_checkpoint,
    consumers_drop_what_is_republished_after_the_duplicate_window,
    only_the_lease_holder_relays_and_another_takes_over,
    relays_every_event_in_order_through_broken_connections,
);

const TALLIES: [&str; 4] = ["a", "b", "c", "d"];

async fn relays_every_event_once_through_a_restart(store: Harness) {
    let context = jetstream().await;
    let config = unique_config(&nats_url());
    let first = store.start_relay(&config);
    let mut reader = StreamReader::open(&context, &config).await;

    store.bump_round_robin(&TALLIES, 5).await;
    // The relay is killed with some of the events out, while more are being appended.
    reader.read_until(5).await;
    let appending = store.bump_round_robin(&TALLIES, 5);
    let (_, ()) = tokio::join!(appending, first.kill());
    store.bump_round_robin(&TALLIES, 5).await;

    let second = store.start_relay(&config);
    store.bump_round_robin(&TALLIES, 5).await;
    reader.read_until(store.appended()).await;

    let expected = store.expected().await;
    assert_eq!(expected.len(), 80);
    assert_eq!(first_copies(&reader.received), expected);
    assert_well_formed(&reader.received, &config);
    store.wait_for_checkpoint(store.last_cursor().await).await;
    second.stop().await;
    reader.remove_stream(&context).await;
}

async fn republishes_what_it_published_but_did_not_checkpoint(store: Harness) {
    let context = jetstream().await;
    let config = unique_config(&nats_url());
    let first = store.start_relay(&config);
    let mut reader = StreamReader::open(&context, &config).await;
    store.bump_round_robin(&TALLIES, 5).await;
    reader.read_until(20).await;
    let published_to = store.last_cursor().await;
    store.wait_for_checkpoint(published_to).await;
    first.stop().await;

    // What a relay killed between the acks and its checkpoint commit leaves behind: the
    // stream holds events that the checkpoint does not cover.
    let covered = store.expected().await[4].cursor.clone();
    let covered = runtime::Cursor::from_token(&covered).unwrap();
    let moved = store
        .checkpoints
        .commit(CHECKPOINT, published_to, covered, Vec::new())
        .await
        .unwrap();
    assert_eq!(moved, runtime::CommitOutcome::Committed);
    store.bump_round_robin(&TALLIES, 2).await;

    let second = store.start_relay(&config);
    reader.read_until(store.appended()).await;
    store.wait_for_checkpoint(store.last_cursor().await).await;

    // The second relay published the 15 uncovered events again, and the 8 new ones...
    assert!(
        second.stats.acknowledged() >= 15 + 8,
        "the second relay had {} publishes acknowledged",
        second.stats.acknowledged()
    );
    // ...and JetStream, still within its duplicate window, stored none of them twice.
    assert_eq!(reader.stored().await, 28);
    assert_eq!(reader.received.len(), 28);
    assert_eq!(first_copies(&reader.received), store.expected().await);
    assert_well_formed(&reader.received, &config);
    second.stop().await;
    reader.remove_stream(&context).await;
}

async fn consumers_drop_what_is_republished_after_the_duplicate_window(store: Harness) {
    let context = jetstream().await;
    let window = Duration::from_millis(200);
    let config = unique_config(&nats_url()).with_duplicate_window(window);
    let first = store.start_relay(&config);
    let mut reader = StreamReader::open(&context, &config).await;
    store.bump_round_robin(&TALLIES, 3).await;
    reader.read_until(12).await;
    let published_to = store.last_cursor().await;
    store.wait_for_checkpoint(published_to).await;
    first.stop().await;

    // Published, not checkpointed, and restarted only after JetStream forgot the ids: time
    // itself is what this case needs to pass (JetStream purges ids a window or two late).
    let moved = store
        .checkpoints
        .commit(CHECKPOINT, published_to, runtime::Cursor::START, Vec::new())
        .await
        .unwrap();
    assert_eq!(moved, runtime::CommitOutcome::Committed);
    tokio::time::sleep(window * 4).await;
    store.bump_round_robin(&TALLIES, 1).await;

    let second = store.start_relay(&config);
    reader.read_until(store.appended()).await;
    store.wait_for_checkpoint(store.last_cursor().await).await;
    // The 12 republished events were stored again, after the first copies and before the 4
    // new ones; the consumer gets every copy.
    assert_eq!(reader.stored().await, 12 + 12 + 4);
    reader.read_messages(28).await;

    assert_eq!(first_copies(&reader.received), store.expected().await);
    assert_well_formed(&reader.received, &config);
    second.stop().await;
    reader.remove_stream(&context).await;
}

async fn only_the_lease_holder_relays_and_another_takes_over(store: Harness) {
    let context = jetstream().await;
    let config = unique_config(&nats_url());
    let relays = [store.start_relay(&config), store.start_relay(&config)];
    let mut reader = StreamReader::open(&context, &config).await;
    store.bump_round_robin(&TALLIES, 3).await;
    reader.read_until(12).await;

    let holders: Vec<usize> = (0..2)
        .filter(|&i| relays[i].stats.acknowledged() > 0)
        .collect();
    assert_eq!(holders.len(), 1, "exactly one relay published");
    let holder = holders[0];
    assert!(relays[holder].stats.is_active());
    assert!(!relays[1 - holder].stats.is_active());

    let [first, second] = relays;
    let (holder, standby) = if holder == 0 {
        (first, second)
    } else {
        (second, first)
    };
    holder.stop().await;
    store.bump_round_robin(&TALLIES, 3).await;
    reader.read_until(store.appended()).await;
    // Its acks are all counted once it moved the checkpoint.
    store.wait_for_checkpoint(store.last_cursor().await).await;

    assert!(standby.stats.is_active(), "the standby took the lease over");
    assert!(standby.stats.acknowledged() >= 12);
    assert_eq!(first_copies(&reader.received), store.expected().await);
    assert_well_formed(&reader.received, &config);
    standby.stop().await;
    reader.remove_stream(&context).await;
}

async fn relays_every_event_in_order_through_broken_connections(store: Harness) {
    let context = jetstream().await;
    let proxy = CuttableProxy::start(&nats_url()).await;
    let config = unique_config(&proxy.url).with_batch_size(8);
    let relay = store.start_relay(&config);
    let mut reader = StreamReader::open(&context, &config).await;
    store.bump_round_robin(&TALLIES, 2).await;
    reader.read_until(8).await;

    // Connections die again and again while appends keep batches in flight.
    let store = &store;
    let appending = async {
        futures::future::join_all(TALLIES.map(|id| async move {
            for _ in 0..15 {
                store.bump(id).await;
            }
        }))
        .await
    };
    let cutting = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            proxy.cut();
        }
    };
    tokio::join!(appending, cutting);
    reader.read_until(store.appended()).await;

    assert!(
        relay.stats.failed_cycles() > 0,
        "no cut hit a batch in flight: the case did not happen"
    );
    assert_eq!(first_copies(&reader.received), store.expected().await);
    assert_well_formed(&reader.received, &config);
    store.wait_for_checkpoint(store.last_cursor().await).await;
    relay.stop().await;
    reader.remove_stream(&context).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_within_milliseconds_of_the_commit() {
    let store = Harness::sqlite().await;
    let context = jetstream().await;
    let config: RelayConfig = unique_config(&nats_url());
    let relay = store.start_relay(&config);
    let mut reader = StreamReader::open(&context, &config).await;

    let mut latencies = Vec::new();
    for i in 0..100 {
        // Measured from before the append, so the append itself counts too.
        let appending = tokio::time::Instant::now();
        store.bump(TALLIES[i % TALLIES.len()]).await;
        reader.read_until(store.appended()).await;
        let arrived = reader.received.last().expect("received").at;
        latencies.push(arrived.duration_since(appending));
    }
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    println!("append to consumer: median {median:?}, p99 {p99:?}");
    // The bound leaves room for a busy test machine; an idle one does far better.
    assert!(
        median < Duration::from_millis(50),
        "median {median:?}, p99 {p99:?}"
    );
    relay.stop().await;
    reader.remove_stream(&context).await;
}
