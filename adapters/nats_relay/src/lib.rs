//! The NATS JetStream relay: every published event, in feed order, on a durable stream that
//! internal services consume from any point (ADR 0015).
//!
//! # What it does
//!
//! [`NatsRelay`] reads the published feed ([`runtime::PublishedFeed`]) after its checkpoint
//! and publishes each event to `<prefix>.<type>` (`commerce.orders.order_placed`) on the
//! stream it owns (`COMMERCE`, capturing `commerce.>`, file storage, created on start if
//! missing). The body is the public envelope ([`runtime::PublishedEvent`]) as JSON, the same
//! bytes every other delivery sends; the headers carry `Nats-Msg-Id` (the event id) and, so
//! that consumers can route without parsing, the type, version and feed cursor
//! ([`headers`]). It only runs when the composition root configures it (`NATS_URL`).
//!
//! # What it guarantees
//!
//! - **Nothing is skipped.** The checkpoint (`nats_relay`, a projection checkpoint moved by
//!   compare-and-set) moves only after JetStream acknowledged every event it covers, that
//!   is after the stream stored them. It is recorded at most every `checkpoint_every` (a
//!   quarter of a second) rather than per batch: what was relayed since is published again
//!   after a crash and dropped by JetStream, and the database is spared a commit per batch.
//!   A batch that fails in any way (NATS down, an ack that
//!   does not come, the store unavailable) is published again from the checkpoint, after a
//!   pause that grows to five seconds. An event the contracts cannot decode stops the relay
//!   there; it is never stepped over.
//! - **Feed order, so each aggregate's events in sequence order.** Within a batch the
//!   publishes are pipelined (all sent, then the last one's ack awaited) to keep the
//!   commit-to-publish latency low. Pipelining alone could reorder the stream: if the connection drops after
//!   event 1 went out but with event 2 still in a buffer, event 3 may be sent on the new
//!   connection and stored before the retry brings event 2. So each pipelined message
//!   carries `Nats-Expected-Last-Sequence`, the sequence its predecessor is stored at: once
//!   one is lost, JetStream refuses every later one of the batch, and the retry starts at the
//!   hole. That chain is also why only the batch's last message asks for an ack: it is stored
//!   at the sequence it expects plus one only if every message before it was stored, in
//!   order, so its ack acknowledges the whole batch (the others are plain NATS publishes,
//!   which the stream captures without answering). When the relay does not know where the stream ends (after a start, a failure or a
//!   duplicate) it publishes one event at a time, each only after the previous one was
//!   acknowledged, which keeps the order without any expectation; the first acknowledgement
//!   of a new event tells it where the stream ends, and pipelining resumes.
//! - **At least once, deduplicated twice.** A crash between the acks and the checkpoint (or
//!   a lease that changes hands mid-batch) publishes some events again. JetStream drops a
//!   message whose `Nats-Msg-Id` it saw within the stream's duplicate window (five minutes
//!   on a stream the relay creates), so a relay restarted by its supervisor stores nothing
//!   twice. A republish after the window is stored again, which is why consumers deduplicate
//!   by the envelope's `id` as well (the example `warehouse` consumer shows how); the first
//!   copy of each event is always in order, so a consumer that drops ids it has already
//!   processed sees each event once, in order.
//! - **One relay at a time.** The worker runs under the `nats_relay` lease
//!   ([`runtime::lease::run_exclusively`]): with several instances only the holder publishes,
//!   and another takes over within about a second of the holder stopping or dying. A lease
//!   is not a fence, so for a moment two relays may publish the same events; the
//!   deduplication above and the expected sequences make that harmless.
//!
//! # Crash behaviour
//!
//! Killed anywhere, the relay loses at most the batch in flight: the next holder starts from
//! the stored checkpoint, republishes what the dead one had published but not checkpointed
//! (dropped by JetStream within the window, by consumers beyond it), and goes on. A broken
//! NATS connection is re-established by the client with backoff; a batch with acks
//! outstanding when it broke is retried at once (those acks can never come), later ones
//! fail and are retried until it is back, and appends keep committing: the feed is the
//! outbox. Stopping (shutdown, a lost lease) abandons only what the relay waits for from
//! NATS; the checkpoint commit runs in a task of its own and finishes even if the worker is
//! dropped, since a store transaction cut halfway could keep SQLite's write lock.
//!
//! # Latency
//!
//! The relay wakes on the in-process [`runtime::FeedSignal`] right after an append commits
//! (after a round that found only a few events it first lets appends gather for
//! `coalesce`, 5 ms, so that rounds under load carry several),
//! so an event appended in the relaying instance is typically on the stream a few
//! milliseconds later (one feed read, one JetStream round trip; on the development machine,
//! append to consumer took 3 ms at the median and 7 ms at the 99th percentile on SQLite).
//! Appends in other instances reach the same signal through PostgreSQL's NOTIFY, which the
//! composition root forwards; polling, every 200 ms by default, stays the authority.
//!
//! # Operations
//!
//! The stream keeps everything by default (limits retention without limits), so a new
//! consumer can start from the beginning of history; set limits on the stream with the NATS
//! tools if needed, the relay never changes an existing stream. Pointing the relay at a new,
//! empty stream does not refill it: the checkpoint says what was already relayed, so reset
//! the `nats_relay` checkpoint to the start to publish the history again.

mod config;
mod message;
mod relay;

pub use config::RelayConfig;
pub use relay::{NatsRelay, RelayError, RelayStats, CHECKPOINT, LEASE};

/// The headers of every message the relay publishes, besides `Content-Type`.
pub mod headers {
    pub use crate::message::{CORRELATION_ID, CURSOR, EVENT_TYPE, EVENT_VERSION, MSG_ID};
}
