//! What can be asked of a refund. The saga runner sends them: `StartRefund` when the order
//! set a refund aside, the others to record what a participant answered.

use chrono::{DateTime, Utc};
use shared_kernel::{Money, OrderId, PaymentId, RefundId, Sku};

use crate::values::{RefundOrigin, RestockLine};

/// Commands for the [`Refund`](crate::Refund) aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundCommand {
    /// Starts the refund the order set aside. Repeating it with the same content is a no-op.
    StartRefund {
        refund_id: RefundId,
        order_id: OrderId,
        payment_id: PaymentId,
        /// Whole minor units, not negative; zero when only units go back.
        amount: Money,
        /// Units to put back into stock; empty when nothing is restocked.
        restock: Vec<RestockLine>,
        origin: RefundOrigin,
        started_at: DateTime<Utc>,
    },
    /// The provider gave the money back. Repeating it is a no-op.
    RecordPaymentRefunded,
    /// The provider refused to give the money back, for good. Repeating it is a no-op.
    RecordPaymentRefundRefused { reason: String },
    /// Inventory booked the line's units back. Repeating it is a no-op.
    RecordRestocked { sku: Sku },
    /// The order recorded the refund. Repeating it is a no-op.
    RecordOrderRefunded,
    /// The order released what the refund had set aside. Repeating it is a no-op.
    RecordOrderReleased,
}

impl RefundCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            RefundCommand::StartRefund { .. } => "StartRefund",
            RefundCommand::RecordPaymentRefunded => "RecordPaymentRefunded",
            RefundCommand::RecordPaymentRefundRefused { .. } => "RecordPaymentRefundRefused",
            RefundCommand::RecordRestocked { .. } => "RecordRestocked",
            RefundCommand::RecordOrderRefunded => "RecordOrderRefunded",
            RefundCommand::RecordOrderReleased => "RecordOrderReleased",
        }
    }
}
