//! The refund saga, written once as a list: each step, how its outcome is recorded, and what
//! undoes it. The runner, the tests and the crash tests' boundaries all read [`STEPS`]; the
//! pure [`next_steps`] says which of them a refund needs now.
//!
//! | # | step                                  | kind           | outcome recorded with                                  | compensation       |
//! |---|---------------------------------------|----------------|--------------------------------------------------------|--------------------|
//! | 0 | set the refund aside on the order     | compensatable  | (before the saga: the order's `RequestRefund`)         | `release_on_order` |
//! | 1 | `refund_payment`                      | pivot          | `RecordPaymentRefunded` / `RecordPaymentRefundRefused` | none               |
//! | 2 | `restock`, per line to restock        | retriable      | `RecordRestocked`                                      | none               |
//! | 3 | `record_on_order`                     | retriable      | `RecordOrderRefunded`                                  | none               |
//!
//! The pivot is the payment: before it nothing has left the merchant, so a refusal only has
//! to give the order back what it set aside (`release_on_order`, recorded with
//! `RecordOrderReleased`). After it the money is gone, so the rest only moves forward:
//! restocking and recording on the order cannot be refused for a business reason and are
//! retried until done. An answer that never came is not a refusal: `refund_payment` is
//! repeated under the same provider key (derived from the refund id) until the provider says
//! what it did, so an unknown outcome is reconciled, never guessed. A provider that is merely
//! unavailable did nothing, so after [`PROVIDER_OUTAGE_LIMIT`] of that the refund gives up
//! and fails with the provider's reason ([`after_payment_trouble`]). Restocking comes after the
//! pivot so that units go back on sale only for refunds that happened.
//!
//! Restocking comes before recording on the order, so an order shown as refunded has its
//! units back in stock. Steps returned together (the restock of each line) are independent and
//! may run in any order or in parallel; running one twice is a repeat its participant ignores
//! (keys derived from the refund).

use chrono::{DateTime, Duration, Utc};
use shared_kernel::{Money, OrderId, PaymentId, Quantity, RefundId, Sku};
use uuid::Uuid;

use crate::aggregate::Refund;
use crate::values::{restock_id, RefundStatus};

pub use shared_kernel::saga::{StepKind, StepSpec};

/// The refund saga, in order. `set_aside` happens on the order before the refund starts.
pub const STEPS: [StepSpec; 5] = [
    StepSpec {
        name: "set_aside",
        kind: StepKind::Compensatable,
        outcomes: &[],
        compensation: Some("release_on_order"),
    },
    StepSpec {
        name: "refund_payment",
        kind: StepKind::Pivot,
        outcomes: &["RecordPaymentRefunded", "RecordPaymentRefundRefused"],
        compensation: None,
    },
    StepSpec {
        name: "restock",
        kind: StepKind::Retriable,
        outcomes: &["RecordRestocked"],
        compensation: None,
    },
    StepSpec {
        name: "record_on_order",
        kind: StepKind::Retriable,
        outcomes: &["RecordOrderRefunded"],
        compensation: None,
    },
    StepSpec {
        name: "release_on_order",
        kind: StepKind::Compensation,
        outcomes: &["RecordOrderReleased"],
        compensation: None,
    },
];

/// One thing the runner should do for a refund, with everything needed to do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SagaStep {
    /// Give `amount` back on the payment under `refund_id`. Outcome: `RecordPaymentRefunded`,
    /// or `RecordPaymentRefundRefused` when the provider refuses for good. No answer, or a
    /// transient failure: run it again (same key), record nothing.
    RefundPayment {
        payment_id: PaymentId,
        refund_id: RefundId,
        amount: Money,
    },
    /// Book `quantity` of `sku` back into stock under `restock_id`. Outcome: `RecordRestocked`.
    Restock {
        sku: Sku,
        restock_id: Uuid,
        quantity: Quantity,
    },
    /// Tell the order the money went back. Outcome: `RecordOrderRefunded`.
    RecordOnOrder {
        order_id: OrderId,
        refund_id: RefundId,
    },
    /// Give the order back what the refund set aside. Outcome: `RecordOrderReleased`.
    ReleaseOnOrder {
        order_id: OrderId,
        refund_id: RefundId,
        reason: String,
    },
}

impl SagaStep {
    /// The step's entry in [`STEPS`].
    pub fn spec(&self) -> &'static StepSpec {
        let name = match self {
            SagaStep::RefundPayment { .. } => "refund_payment",
            SagaStep::Restock { .. } => "restock",
            SagaStep::RecordOnOrder { .. } => "record_on_order",
            SagaStep::ReleaseOnOrder { .. } => "release_on_order",
        };
        STEPS
            .iter()
            .find(|spec| spec.name == name)
            .expect("every step is in the list")
    }
}

/// How long a refund keeps asking a payment provider that is unavailable before it gives up:
/// an unavailable provider did nothing, so giving up (releasing what the order set aside) is
/// safe. An unknown outcome is never given up on: the provider may have paid.
pub const PROVIDER_OUTAGE_LIMIT: Duration = Duration::hours(1);

/// Why the provider did not give the money back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentTrouble {
    /// It did nothing and may do it later (an outage).
    Unavailable,
    /// It may or may not have done it (a timeout).
    OutcomeUnknown,
    /// It refused, for good.
    Refused,
}

/// What a refund does about a payment step that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterTrouble {
    /// Ask again later, under the same key.
    AskAgain,
    /// Record the refusal: the refund fails and the order gets back what it set aside.
    GiveUp,
}

/// Decides what a refund started at `started_at` does at `now` about `trouble`.
pub fn after_payment_trouble(
    trouble: PaymentTrouble,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AfterTrouble {
    match trouble {
        PaymentTrouble::Refused => AfterTrouble::GiveUp,
        PaymentTrouble::OutcomeUnknown => AfterTrouble::AskAgain,
        PaymentTrouble::Unavailable if now - started_at >= PROVIDER_OUTAGE_LIMIT => {
            AfterTrouble::GiveUp
        }
        PaymentTrouble::Unavailable => AfterTrouble::AskAgain,
    }
}

/// The steps a refund needs now, in the order to prefer. Empty before it started and once it
/// completed or failed.
pub fn next_steps(refund: &Refund) -> Vec<SagaStep> {
    let (Some(status), Some(refund_id), Some(order_id), Some(payment_id), Some(amount)) = (
        refund.status(),
        refund.id(),
        refund.order_id(),
        refund.payment_id(),
        refund.amount(),
    ) else {
        return vec![];
    };
    match status {
        RefundStatus::RefundingPayment => vec![SagaStep::RefundPayment {
            payment_id,
            refund_id,
            amount,
        }],
        RefundStatus::Finalizing => {
            let restocks: Vec<SagaStep> = refund
                .restock_lines()
                .filter(|(_, _, done)| !done)
                .filter_map(|(sku, quantity, _)| {
                    Some(SagaStep::Restock {
                        sku: sku.clone(),
                        restock_id: restock_id(refund_id, sku),
                        quantity: Quantity::new(quantity).ok()?,
                    })
                })
                .collect();
            // The order learns of the refund once its units are back, so that an order shown
            // as refunded never has units still on their way into stock.
            if !restocks.is_empty() {
                return restocks;
            }
            (!refund.order_settled())
                .then_some(SagaStep::RecordOnOrder {
                    order_id,
                    refund_id,
                })
                .into_iter()
                .collect()
        }
        RefundStatus::Releasing => vec![SagaStep::ReleaseOnOrder {
            order_id,
            refund_id,
            reason: refund
                .failure_reason()
                .unwrap_or("refused by the payment provider")
                .to_owned(),
        }],
        RefundStatus::Completed | RefundStatus::Failed => vec![],
    }
}

#[cfg(test)]
mod tests;
