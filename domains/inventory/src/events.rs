//! What happened to stock. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{Quantity, ReservationId};
use uuid::Uuid;

use crate::values::AdjustmentReason;

/// Events of the [`StockItem`](crate::StockItem) aggregate.
///
/// Both events that can open a stream (`StockReceived`, `StockAdjusted`) carry the SKU, so the
/// item always knows which SKU it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockEvent {
    StockReceived {
        sku: String,
        quantity: Quantity,
        reference: Option<String>,
    },
    /// Units on hand changed by `delta` (never zero).
    StockAdjusted {
        sku: String,
        delta: i64,
        reason: AdjustmentReason,
    },
    StockReserved {
        reservation_id: ReservationId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
    },
    /// The reservation's units are available again.
    ReservationReleased { reservation_id: ReservationId },
    /// The reservation's `quantity` units left stock (sold).
    ReservationCommitted {
        reservation_id: ReservationId,
        quantity: Quantity,
    },
    /// The reservation ran past its deadline; its units are available again.
    ReservationExpired { reservation_id: ReservationId },
    /// `quantity` units came back (a refund's restock) and are in stock again.
    StockReturned { return_id: Uuid, quantity: Quantity },
}

impl DomainEvent for StockEvent {
    fn event_type(&self) -> String {
        match self {
            StockEvent::StockReceived { .. } => "StockReceived",
            StockEvent::StockAdjusted { .. } => "StockAdjusted",
            StockEvent::StockReserved { .. } => "StockReserved",
            StockEvent::ReservationReleased { .. } => "ReservationReleased",
            StockEvent::ReservationCommitted { .. } => "ReservationCommitted",
            StockEvent::ReservationExpired { .. } => "ReservationExpired",
            StockEvent::StockReturned { .. } => "StockReturned",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
