//! What can be asked of a checkout.
//!
//! `StartCheckout` comes from the REST adapter (through the application). Every other command
//! is sent by the saga runner and records the outcome of one step that [`crate::saga`] asked
//! for. Each `Record*` is idempotent: recording an outcome already recorded succeeds without
//! new events, and so does an outcome arriving late, after the checkout has moved past the
//! step. An outcome the checkout never asked for is refused (`NotAllowed`).

use chrono::{DateTime, Utc};
use shared_kernel::{
    CartId, CheckoutId, Currency, CustomerId, EmailAddress, OrderId, PostalAddress, Sku,
};

use crate::values::{AppliedPromotion, AppliedShipping, AppliedTax, CheckoutLine};

/// Commands for the [`Checkout`](crate::Checkout) aggregate.
// `StartCheckout` carries the lines and the shipping details and is much larger than the
// others. A command is built, handled once and dropped, so boxing it buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutCommand {
    /// Starts turning the cart's `lines` into an order. Repeating it with the same content is
    /// a no-op (`started_at` may differ: a retry is stamped anew); other content is refused.
    StartCheckout {
        checkout_id: CheckoutId,
        cart_id: CartId,
        customer_id: Option<CustomerId>,
        email: EmailAddress,
        shipping: PostalAddress,
        currency: Currency,
        lines: Vec<CheckoutLine>,
        /// From the application's clock.
        started_at: DateTime<Utc>,
        /// The cart's code and what it takes off each line; `None` without a code.
        promotion: Option<AppliedPromotion>,
        /// The shipping method and its price; `None` when the cart chose none.
        shipping_method: Option<AppliedShipping>,
        /// The tax on the lines and the shipping; `None` when the shop charges no tax.
        tax: Option<AppliedTax>,
    },
    /// Inventory holds the line's units.
    RecordStockReserved {
        sku: Sku,
    },
    /// Inventory could not hold the line's units.
    RecordStockUnavailable {
        sku: Sku,
    },
    /// The provider authorized the payment (possibly after its outcome was unknown).
    RecordPaymentAuthorized,
    /// The provider declined; `message` is its shopper-readable text.
    RecordPaymentDeclined {
        message: String,
    },
    /// The provider's answer was lost; the runner waits until `deadline` for it.
    RecordPaymentOutcomeUnknown {
        deadline: DateTime<Utc>,
    },
    /// The runner's payment deadline fired.
    RecordPaymentDeadlinePassed,
    /// The orders context placed the order (the pivot).
    RecordOrderPlaced {
        order_id: OrderId,
    },
    /// The orders context refused the order; `reason` is for staff.
    RecordOrderRejected {
        reason: String,
    },
    RecordPaymentCaptured,
    /// The order recorded that the captured payment settled it. Only after the capture.
    RecordOrderPaid,
    RecordReservationCommitted {
        sku: Sku,
    },
    RecordCartCheckedOut,
    RecordStockReleased {
        sku: Sku,
    },
    RecordPaymentVoided,
    RecordCartReleased,
    /// The promotion holds a use for the checkout.
    RecordPromotionRedeemed,
    /// The promotion refused the use: `refusal` is its stable code, `message` its sentence
    /// for the shopper.
    RecordPromotionRefused {
        refusal: String,
        message: String,
    },
    /// The held use is spent (after the pivot).
    RecordRedemptionConfirmed,
    /// The held use is given back (compensation).
    RecordRedemptionReleased,
    /// A participant refused `step` after the pivot for good, for `reason`: the checkout
    /// needs staff. Only while finalizing; repeating it is a no-op.
    RecordStepRefused {
        step: String,
        reason: String,
    },
}

impl CheckoutCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            CheckoutCommand::StartCheckout { .. } => "StartCheckout",
            CheckoutCommand::RecordStockReserved { .. } => "RecordStockReserved",
            CheckoutCommand::RecordStockUnavailable { .. } => "RecordStockUnavailable",
            CheckoutCommand::RecordPaymentAuthorized => "RecordPaymentAuthorized",
            CheckoutCommand::RecordPaymentDeclined { .. } => "RecordPaymentDeclined",
            CheckoutCommand::RecordPaymentOutcomeUnknown { .. } => "RecordPaymentOutcomeUnknown",
            CheckoutCommand::RecordPaymentDeadlinePassed => "RecordPaymentDeadlinePassed",
            CheckoutCommand::RecordOrderPlaced { .. } => "RecordOrderPlaced",
            CheckoutCommand::RecordOrderRejected { .. } => "RecordOrderRejected",
            CheckoutCommand::RecordPaymentCaptured => "RecordPaymentCaptured",
            CheckoutCommand::RecordOrderPaid => "RecordOrderPaid",
            CheckoutCommand::RecordPromotionRedeemed => "RecordPromotionRedeemed",
            CheckoutCommand::RecordPromotionRefused { .. } => "RecordPromotionRefused",
            CheckoutCommand::RecordRedemptionConfirmed => "RecordRedemptionConfirmed",
            CheckoutCommand::RecordRedemptionReleased => "RecordRedemptionReleased",
            CheckoutCommand::RecordReservationCommitted { .. } => "RecordReservationCommitted",
            CheckoutCommand::RecordCartCheckedOut => "RecordCartCheckedOut",
            CheckoutCommand::RecordStockReleased { .. } => "RecordStockReleased",
            CheckoutCommand::RecordPaymentVoided => "RecordPaymentVoided",
            CheckoutCommand::RecordCartReleased => "RecordCartReleased",
            CheckoutCommand::RecordStepRefused { .. } => "RecordStepRefused",
        }
    }
}
