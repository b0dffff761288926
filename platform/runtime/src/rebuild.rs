//! Rebuilding a read model beside the one being served (ADR 0049).
//!
//! A rebuild projects the whole feed, from its start, into a shadow of the projection's views
//! that no reader sees, while the live projection goes on serving and being maintained. It
//! then takes the live projection's checkpoint lock, brings the shadow up to the feed under
//! it, and switches in one transaction: the live views' documents are replaced by the
//! shadow's, the checkpoint is set to the shadow's, the shadow is dropped. A crash before
//! that commit leaves the live projection and its checkpoint untouched; the next rebuild
//! drops the leftover shadow and starts again.

use async_trait::async_trait;

use crate::feed::Cursor;
use crate::projection::{Projection, ProjectionStore};
use crate::StoreError;

/// The checkpoint name under which a store counts the rebuilds of `projector` switched in
/// (in its position): what tells a running projector that the read model it kept documents
/// of is gone ([`ProjectionStore::switches`]).
pub fn switch_marker(projector: &str) -> String {
    format!("{projector}:switched")
}

/// A shadow of one projection's views: a [`ProjectionStore`] for that projection alone, whose
/// documents no reader sees and whose checkpoint lives only as long as the rebuild.
#[async_trait]
pub trait ShadowProjection: ProjectionStore {
    /// Opens the switching transaction and takes the lock a commit of the live projection
    /// needs (its checkpoint row on PostgreSQL, the single write lock on SQLite), so that no
    /// batch of a running projector commits until the switch has; the shadow's own writes go
    /// through that transaction from now on. Answers the live checkpoint.
    async fn lock_live(&self) -> Result<Cursor, StoreError>;

    /// In the switching transaction: replaces every document of the projection's views with
    /// the shadow's, sets the live checkpoint to the shadow's, counts the switch under
    /// [`switch_marker`], drops the shadow and commits.
    /// Answers the checkpoint switched to. Refuses (writing nothing) when the live checkpoint
    /// is past the shadow's, which would make the running projector skip events.
    async fn switch_in(&self) -> Result<Cursor, StoreError>;
}

/// A store that can rebuild projections beside the live ones.
#[async_trait]
pub trait Rebuilds: Send + Sync {
    type Shadow: ShadowProjection + 'static;

    /// A new, empty shadow of `projection`'s views at the start of the feed. A shadow a
    /// crashed rebuild left behind is dropped first.
    async fn shadow(&self, projection: &dyn Projection) -> Result<Self::Shadow, StoreError>;
}

/// `rebuild_<projector>`, for a projector name that is a plain identifier.
pub fn shadow_table(projector: &str) -> Result<String, StoreError> {
    let plain = !projector.is_empty()
        && projector
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        Ok(format!("rebuild_{projector}"))
    } else {
        Err(StoreError::new(format_args!(
            "projection name {projector:?} is not a plain identifier"
        )))
    }
}
