//! The records a simulated provider keeps where every instance sees them (ADR 0041).
//!
//! The sandbox payment gateway keeps, per idempotency key, what it answered and, per
//! authorization, what it holds. One process can keep that in memory; instances sharing a
//! store must keep it in that store, or a capture one instance asks for is refused because
//! the authorization was placed by another. This port lets the sandbox do that without
//! knowing any store: it names the records one request touches, gets them locked against
//! every instance on the store, decides, and writes back what changed in one transaction.

use async_trait::async_trait;

use crate::StoreError;

/// One record: its kind (`hold`, `capture`...) and its key within the kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LedgerKey {
    pub kind: &'static str,
    pub key: String,
}

impl LedgerKey {
    pub fn new(kind: &'static str, key: impl Into<String>) -> Self {
        Self {
            kind,
            key: key.into(),
        }
    }
}

/// The records of one request, locked until committed or dropped (dropping writes nothing).
#[async_trait]
pub trait LedgerEntry: Send {
    /// The records that exist among those asked for, each a JSON document.
    fn records(&self) -> &[(LedgerKey, String)];

    /// Writes `writes` (each replacing its record, if any) and releases the locks.
    async fn commit(self: Box<Self>, writes: Vec<(LedgerKey, String)>) -> Result<(), StoreError>;
}

/// A provider's records, shared by every instance on one store.
#[async_trait]
pub trait ProviderLedger: Send + Sync {
    /// Locks `keys` against every other request on the store naming any of them, then reads
    /// them. Locks are taken in a fixed order, so requests naming the same keys never
    /// deadlock.
    async fn open(&self, keys: &[LedgerKey]) -> Result<Box<dyn LedgerEntry>, StoreError>;
}
