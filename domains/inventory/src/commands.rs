//! What can be asked of a stock item. Time enters through commands (`expires_at`, `now`),
//! stamped by the application from its `shared_kernel::Clock`, so decisions replay the same.

use chrono::{DateTime, Utc};
use shared_kernel::{Quantity, ReservationId, Sku};
use uuid::Uuid;

use crate::values::AdjustmentReason;

/// Commands for the [`StockItem`](crate::StockItem) aggregate, whose id is the normalized SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockCommand {
    /// Books `quantity` units into stock; the first receipt creates the item. A blank
    /// `reference` (delivery note, purchase order) is recorded as none.
    ReceiveStock {
        sku: Sku,
        quantity: Quantity,
        reference: Option<String>,
    },
    /// Corrects the units on hand by `delta` (non-zero, either sign) for `reason`. May create
    /// the item, e.g. an initial count recorded as a `Recount`.
    AdjustStock {
        sku: Sku,
        delta: i64,
        reason: AdjustmentReason,
    },
    /// Holds `quantity` units for `reservation_id` until `expires_at`. Repeating it with the
    /// same id and quantity is a no-op, whatever became of the reservation since.
    ReserveStock {
        sku: Sku,
        reservation_id: ReservationId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
    },
    /// Gives a reservation's units back (a compensation). Already released or expired: no-op.
    ReleaseReservation { reservation_id: ReservationId },
    /// Takes a reservation's units out of stock for good (they are sold). Already committed:
    /// no-op.
    CommitReservation { reservation_id: ReservationId },
    /// Expires every active reservation whose `expires_at` is at or before `now`.
    ExpireReservations { now: DateTime<Utc> },
    /// Books `quantity` units that came back (a refund's restock) into stock under
    /// `return_id`. Repeating it with the same id and quantity is a no-op.
    ReturnStock {
        sku: Sku,
        return_id: Uuid,
        quantity: Quantity,
    },
}

impl StockCommand {
    /// The command's name as logs and errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            StockCommand::ReceiveStock { .. } => "ReceiveStock",
            StockCommand::AdjustStock { .. } => "AdjustStock",
            StockCommand::ReserveStock { .. } => "ReserveStock",
            StockCommand::ReleaseReservation { .. } => "ReleaseReservation",
            StockCommand::CommitReservation { .. } => "CommitReservation",
            StockCommand::ExpireReservations { .. } => "ExpireReservations",
            StockCommand::ReturnStock { .. } => "ReturnStock",
        }
    }
}
