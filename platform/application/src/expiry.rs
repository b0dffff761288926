//! Reservations expire: stock held by a checkout that never finished with it (a crash, a late
//! answer after the checkout failed, a lost release) is available again once its reservation
//! lifetime is over.
//!
//! Every reservation is given a durable deadline, `stock:<sku>:<reservation id>`, at its
//! expiry, before it is made ([`schedule`]); the worker turns due deadlines into
//! `ExpireReservations` on their stock item and clears them only after, so a crash in between
//! leaves them due. Expiring is idempotent: an item whose reservation was already released or
//! committed expires nothing.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use inventory::{StockCommand, StockItem};
use runtime::{CommandError, CommandExecutor, CommandMetadata, Deadline, Deadlines, StoreError};
use shared_kernel::{Clock, ReservationId, Sku};
use tokio::sync::watch;

const PREFIX: &str = "stock:";

fn key(sku: &Sku, reservation_id: ReservationId) -> String {
    format!("{PREFIX}{sku}:{reservation_id}")
}

/// The SKU a reservation deadline is for.
fn sku_of(deadline: &Deadline) -> Option<Sku> {
    let rest = deadline.key.strip_prefix(PREFIX)?;
    let (sku, _reservation) = rest.rsplit_once(':')?;
    Sku::parse(sku).ok()
}

/// Sets the deadline at which reservation `reservation_id` of `sku` expires. Call it before
/// making the reservation: a deadline for a reservation that was never made expires nothing.
pub async fn schedule(
    deadlines: &dyn Deadlines,
    sku: &Sku,
    reservation_id: ReservationId,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    deadlines
        .schedule(&key(sku, reservation_id), expires_at)
        .await
}

/// Expires reservations whose deadline has come.
pub struct ReservationExpiry {
    pub inventory: Arc<dyn CommandExecutor<StockItem>>,
    pub deadlines: Arc<dyn Deadlines>,
    pub clock: Arc<dyn Clock>,
}

impl ReservationExpiry {
    /// Expires what is due now; returns how many deadlines were handled. A stock item that
    /// cannot be reached keeps its deadlines for the next round.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let due: Vec<(Deadline, Sku)> = self
            .deadlines
            .due(now, 500)
            .await?
            .into_iter()
            .filter_map(|deadline| sku_of(&deadline).map(|sku| (deadline, sku)))
            .collect();
        let mut skus: Vec<&Sku> = due.iter().map(|(_, sku)| sku).collect();
        skus.sort();
        skus.dedup();
        let mut expired = Vec::new();
        for sku in skus {
            let command = StockCommand::ExpireReservations { now };
            match self
                .inventory
                .execute(
                    &StockItem::aggregate_id(sku),
                    command,
                    None,
                    &CommandMetadata::new("inventory-expiry"),
                )
                .await
            {
                Ok(_) => expired.push(sku.clone()),
                Err(CommandError::Rejected(error)) => {
                    // Only possible for an item that was never stocked: nothing to expire.
                    tracing::warn!(%sku, %error, "reservations could not expire");
                    expired.push(sku.clone());
                }
                Err(error) => tracing::warn!(%sku, %error, "reservations left to expire later"),
            }
        }
        let mut handled = 0;
        for (deadline, sku) in &due {
            if expired.contains(sku) {
                self.deadlines.clear(deadline).await?;
                handled += 1;
            }
        }
        Ok(handled)
    }

    /// Expires due reservations every `every` until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, every: StdDuration, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(error) = self.run_once().await {
                tracing::warn!(%error, "reservation expiry failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                stopped = shutdown.changed() => {
                    if stopped.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::info!("reservation expiry stopped");
    }
}
