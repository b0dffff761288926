//! Refunds context: giving money back for an order, and the units with it.
//!
//! Owns: the [`Refund`] aggregate, which is the refund saga's state (one per refund), and the
//! saga's decision logic ([`saga`]): which step comes next, how each outcome is recorded, and
//! what undoes a step that cannot be completed.
//! Also owns returns ([`Return`]): goods a shopper sends back, approved by staff, refunded on
//! receipt for the units received, restocking only those that can be sold again.
//! Does not own: whether a refund fits in what was paid (the order's refundable balance, ADR
//! 0018, decides that before a refund starts), the payment or its provider (payments), stock
//! (inventory), or why goods came back (returns).
//!
//! A refund starts once its order has set its amount and units aside, so it is approved when
//! it starts: staff refunds are approved by the member of staff who asked, a return's refund by
//! the approval and receipt of the return, a cancellation's by the cancellation.
//!
//! Invariant: a refund gives the payment back at most once, under a provider key derived from
//! the refund id, and restocks each line at most once, under an id derived from the refund and
//! the SKU; repeating any step is a no-op for its participant.
//! Invariant: once the payment refund succeeded (the pivot), the refund only moves forward:
//! restocking and recording it on the order are retried until they succeed.
//! Invariant: a refund whose payment refund was refused releases what the order set aside,
//! then ends as failed with the provider's reason; it never restocks.

pub mod aggregate;
pub mod commands;
pub mod errors;
pub mod events;
pub mod returns;
pub mod saga;
pub mod values;

pub use aggregate::Refund;
pub use commands::RefundCommand;
pub use errors::RefundError;
pub use events::{RefundEvent, RestockLineData};
pub use returns::{
    ReceivedLine, ReceivedLineData, Return, ReturnCommand, ReturnError, ReturnEvent, ReturnId,
    ReturnLine, ReturnLineData, ReturnStatus, ReturnStep, RETURN_STEPS,
};
pub use saga::{
    after_payment_trouble, next_steps, AfterTrouble, PaymentTrouble, SagaStep, StepKind, StepSpec,
    PROVIDER_OUTAGE_LIMIT, STEPS,
};
pub use values::{restock_id, RefundOrigin, RefundStatus, RestockLine, MAX_REASON_CHARS};
