//! One aggregate's stream as it was recorded: every event, decoded, with the metadata stored
//! beside it (when it happened, who asked, which flow). For reads that must explain how an
//! aggregate got where it is (an operator's timeline), which the current state alone cannot.
//!
//! Events are read exactly as the executor reads them: sealed personal fields are opened
//! through the [`Vault`] (or read as erased), and every payload goes through
//! [`codec::decode`], so old versions are upcast. Nothing here ever returns a raw row.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::Aggregate;

use crate::causation::EventMetadata;
use crate::codec;
use crate::personal::{RowMut, Vault};
use crate::StoreError;

/// One recorded event of a stream, decoded.
#[derive(Debug, Clone)]
pub struct Recorded<E> {
    /// Its place in the aggregate's stream, from 1.
    pub sequence: u64,
    /// The stored event type (the literal `event_type()` string).
    pub event_type: String,
    pub event: E,
    /// Read leniently: events of the first release have no `occurred_at`.
    pub metadata: EventMetadata,
}

/// Reads the recorded events of one aggregate of type `A`, oldest first. An aggregate that
/// was never written has no events (an empty list, not an error).
#[async_trait]
pub trait StreamHistory<A: Aggregate>: Send + Sync {
    async fn history(&self, aggregate_id: &str) -> Result<Vec<Recorded<A::Event>>, StoreError>;
}

/// [`StreamHistory`] over a cqrs-es persisted event repository (SQLite or PostgreSQL), for
/// any aggregate type.
pub struct StoredStreams<R> {
    repository: R,
    vault: Option<Arc<Vault>>,
}

impl<R: PersistedEventRepository> StoredStreams<R> {
    pub fn new(repository: R) -> Self {
        Self {
            repository,
            vault: None,
        }
    }

    /// Opens sealed personal fields as the executors do; without it, streams holding sealed
    /// rows fail to decode (never shown sealed).
    pub fn with_vault(mut self, vault: Arc<Vault>) -> Self {
        self.vault = Some(vault);
        self
    }

    /// This reader as the [`StreamHistory`] of aggregate type `A`.
    pub fn of<A: Aggregate + 'static>(self: &Arc<Self>) -> Arc<dyn StreamHistory<A>>
    where
        R: 'static,
    {
        Arc::new(Typed {
            streams: Arc::clone(self),
            aggregate: PhantomData,
        })
    }

    async fn read<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<Recorded<A::Event>>, StoreError> {
        let failed =
            |what: String| StoreError::new(format_args!("{} {aggregate_id}: {what}", A::TYPE));
        let mut rows = self
            .repository
            .get_events::<A>(aggregate_id)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if let Some(vault) = &self.vault {
            let opening = rows.iter_mut().map(|row| RowMut {
                aggregate_type: &row.aggregate_type,
                aggregate_id: &row.aggregate_id,
                event_type: &row.event_type,
                event_version: &mut row.event_version,
                payload: &mut row.payload,
            });
            vault
                .open_rows(opening)
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        rows.into_iter()
            .map(|row| {
                let event = codec::decode::<A>(&row.event_type, &row.event_version, &row.payload)
                    .map_err(|e| failed(format!("event {}: {e}", row.sequence)))?;
                Ok(Recorded {
                    sequence: row.sequence as u64,
                    event_type: row.event_type,
                    event,
                    metadata: EventMetadata::from_json(&row.metadata),
                })
            })
            .collect()
    }
}

/// [`StoredStreams`] fixed to one aggregate type, so that it can be held as a trait object.
struct Typed<R, A> {
    streams: Arc<StoredStreams<R>>,
    aggregate: PhantomData<fn() -> A>,
}

#[async_trait]
impl<R, A> StreamHistory<A> for Typed<R, A>
where
    R: PersistedEventRepository + 'static,
    A: Aggregate + 'static,
{
    async fn history(&self, aggregate_id: &str) -> Result<Vec<Recorded<A::Event>>, StoreError> {
        self.streams.read::<A>(aggregate_id).await
    }
}
