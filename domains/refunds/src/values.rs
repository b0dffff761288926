//! Value types of the refunds context.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{deterministic_uuid, Quantity, RefundId, Sku};
use uuid::Uuid;

/// Longest reason a refund fails with, in characters (longer provider messages are cut).
pub const MAX_REASON_CHARS: usize = 500;

/// Where a refund stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Asking the payment provider to give the money back (skipped when the amount is zero).
    RefundingPayment,
    /// The money went back; restocking and recording it on the order.
    Finalizing,
    /// The provider refused; giving the order its amount and units back.
    Releasing,
    /// Done: money back, units restocked if asked, the order knows.
    Completed,
    /// The provider refused; the order's balance is whole again.
    Failed,
}

impl fmt::Display for RefundStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefundStatus::RefundingPayment => "refunding_payment",
            RefundStatus::Finalizing => "finalizing",
            RefundStatus::Releasing => "releasing",
            RefundStatus::Completed => "completed",
            RefundStatus::Failed => "failed",
        })
    }
}

/// Who asked for the refund. New origins may be added; none is ever removed or renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOrigin {
    Admin,
    Return,
    Cancellation,
}

/// Units of one line that go back into stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestockLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// The id under which inventory books the units of `sku` that refund `refund_id` puts back:
/// the same for every attempt, so a repeated restock is recognised and ignored.
pub fn restock_id(refund_id: RefundId, sku: &Sku) -> Uuid {
    deterministic_uuid(
        "refund-restock",
        &[&refund_id.as_uuid().to_string(), sku.as_str()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restock_ids_are_stable_per_refund_and_sku() {
        let refund = RefundId::from_uuid(Uuid::from_u128(1));
        let tee = Sku::parse("TEE-S").unwrap();
        let mug = Sku::parse("MUG").unwrap();
        assert_eq!(restock_id(refund, &tee), restock_id(refund, &tee));
        assert_ne!(restock_id(refund, &tee), restock_id(refund, &mug));
        assert_ne!(
            restock_id(refund, &tee),
            restock_id(RefundId::from_uuid(Uuid::from_u128(2)), &tee)
        );
    }
}
