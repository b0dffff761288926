//! What happened to refunds. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{Money, OrderId, PaymentId, RefundId};

use crate::values::RefundOrigin;

/// Units of one line to restock, as `RefundStarted` records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestockLineData {
    pub sku: String,
    pub quantity: u32,
}

/// Events of the [`Refund`](crate::Refund) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundEvent {
    /// The refund the order set aside started, approved by its origin.
    RefundStarted {
        refund_id: RefundId,
        order_id: OrderId,
        payment_id: PaymentId,
        amount: Money,
        restock: Vec<RestockLineData>,
        origin: RefundOrigin,
        started_at: DateTime<Utc>,
    },
    /// The provider gave `amount` back (the pivot: from here on the refund only moves forward).
    PaymentRefunded {
        amount: Money,
    },
    /// The provider refused to give the money back, for good.
    PaymentRefundRefused {
        reason: String,
    },
    /// Inventory booked the units of `sku` back into stock.
    Restocked {
        sku: String,
        quantity: u32,
    },
    /// The order recorded the refund.
    OrderRefunded {},
    /// The order released what the refund had set aside.
    OrderReleased {},
    RefundCompleted {},
    /// The refund ended without giving money back; `reason` is the provider's.
    RefundFailed {
        reason: String,
    },
}

impl DomainEvent for RefundEvent {
    fn event_type(&self) -> String {
        match self {
            RefundEvent::RefundStarted { .. } => "RefundStarted",
            RefundEvent::PaymentRefunded { .. } => "PaymentRefunded",
            RefundEvent::PaymentRefundRefused { .. } => "PaymentRefundRefused",
            RefundEvent::Restocked { .. } => "Restocked",
            RefundEvent::OrderRefunded {} => "OrderRefunded",
            RefundEvent::OrderReleased {} => "OrderReleased",
            RefundEvent::RefundCompleted {} => "RefundCompleted",
            RefundEvent::RefundFailed { .. } => "RefundFailed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
