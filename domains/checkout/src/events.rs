//! What happened to checkouts. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014).
//!
//! Secrets never enter these events: the shopper's payment method token waits in the payments
//! context's token store while the checkout needs it (ADR 0016). The first release's
//! `CheckoutStarted` did carry it; reading such an event drops it.
//!
//! Several names match events of other contexts (`StockReserved`, `OrderPlaced`, ...): these
//! record what the checkout learnt about its own steps, in the checkout's stream. Feed readers
//! tell them apart by aggregate type (`"checkout"`).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{
    AddressData, CartId, CheckoutId, Currency, CustomerId, Money, OrderId, ProductId, Quantity,
};

use crate::values::{AppliedPromotion, AppliedShipping, AppliedTax, FailureReason};

/// One line of a checkout, as `CheckoutStarted` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutLineData {
    pub sku: String,
    pub product_id: ProductId,
    pub title: String,
    pub quantity: Quantity,
    pub unit_price: Money,
}

/// Events of the [`Checkout`](crate::Checkout) aggregate.
// `CheckoutStarted` is much larger than the others, but a checkout has a few dozen events at
// most, so the padding costs nothing worth a `Box` in every constructor and pattern.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutEvent {
    /// The checkout exists with these lines, all in `currency`, worth `total`.
    CheckoutStarted {
        checkout_id: CheckoutId,
        cart_id: CartId,
        customer_id: Option<CustomerId>,
        /// As accepted: domain lowercased, local part as given.
        email: String,
        shipping: AddressData,
        currency: Currency,
        lines: Vec<CheckoutLineData>,
        /// What the payment authorizes: the sum of the line totals, less the promotion's
        /// discount, plus the shipping method's price (less a free-shipping code's part), plus
        /// the tax when prices do not include it.
        total: Money,
        started_at: DateTime<Utc>,
        /// The code the checkout redeems. Absent (never `null`) when there is none, so every
        /// checkout recorded before codes existed reads, and is stored, as it always was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        promotion: Option<AppliedPromotion>,
        /// The shipping method charged (ADR 0037). Absent (never `null`) without one, so
        /// every checkout recorded before shipping was priced reads, and is stored, as it
        /// always was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shipping_method: Option<AppliedShipping>,
        /// The tax charged (ADR 0038); `total` includes it either way. Absent (never `null`)
        /// when the shop charges no tax, so every checkout recorded before tax was calculated
        /// reads, and is stored, as it always was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tax: Option<AppliedTax>,
    },
    StockReserved {
        sku: String,
    },
    /// Every line is reserved: the payment is next.
    ReservationsCompleted {},
    StockUnavailable {
        sku: String,
    },
    PaymentAuthorized {},
    PaymentDeclined {
        message: String,
    },
    /// The provider's answer was lost; the runner waits for it until `deadline`.
    PaymentOutcomeUnknown {
        deadline: DateTime<Utc>,
    },
    /// The deadline passed with the outcome still unknown.
    PaymentTimedOut {},
    /// The pivot: from here on the checkout only moves forward.
    OrderPlaced {
        order_id: OrderId,
    },
    OrderRejected {
        reason: String,
    },
    PaymentCaptured {},
    /// The order recorded the captured payment. (Before this event existed, the capture step
    /// marked the order paid itself.)
    OrderMarkedPaid {},
    /// A step after the pivot was refused for good; staff must resolve it.
    CheckoutNeedsAttention {
        step: String,
        reason: String,
    },
    ReservationCommitted {
        sku: String,
    },
    CartCheckedOut {},
    CheckoutCompleted {
        order_id: OrderId,
    },
    StockReleased {
        sku: String,
    },
    PaymentVoided {},
    CartReleased {},
    /// Compensation is over; `reason` is what went wrong first.
    CheckoutFailed {
        reason: FailureReason,
    },
    /// The promotion holds one use for this checkout.
    PromotionRedeemed {},
    /// The promotion refused the use: `refusal` is the coupons context's code for why,
    /// `message` its sentence for the shopper.
    PromotionRefused {
        refusal: String,
        message: String,
    },
    /// The held use is spent for good (after the order was placed).
    RedemptionConfirmed {},
    /// The held use, if any, was given back (compensation).
    RedemptionReleased {},
}

impl DomainEvent for CheckoutEvent {
    fn event_type(&self) -> String {
        match self {
            CheckoutEvent::CheckoutStarted { .. } => "CheckoutStarted",
            CheckoutEvent::StockReserved { .. } => "StockReserved",
            CheckoutEvent::ReservationsCompleted {} => "ReservationsCompleted",
            CheckoutEvent::StockUnavailable { .. } => "StockUnavailable",
            CheckoutEvent::PaymentAuthorized {} => "PaymentAuthorized",
            CheckoutEvent::PaymentDeclined { .. } => "PaymentDeclined",
            CheckoutEvent::PaymentOutcomeUnknown { .. } => "PaymentOutcomeUnknown",
            CheckoutEvent::PaymentTimedOut {} => "PaymentTimedOut",
            CheckoutEvent::OrderPlaced { .. } => "OrderPlaced",
            CheckoutEvent::OrderRejected { .. } => "OrderRejected",
            CheckoutEvent::PaymentCaptured {} => "PaymentCaptured",
            CheckoutEvent::OrderMarkedPaid {} => "OrderMarkedPaid",
            CheckoutEvent::CheckoutNeedsAttention { .. } => "CheckoutNeedsAttention",
            CheckoutEvent::ReservationCommitted { .. } => "ReservationCommitted",
            CheckoutEvent::CartCheckedOut {} => "CartCheckedOut",
            CheckoutEvent::CheckoutCompleted { .. } => "CheckoutCompleted",
            CheckoutEvent::StockReleased { .. } => "StockReleased",
            CheckoutEvent::PaymentVoided {} => "PaymentVoided",
            CheckoutEvent::CartReleased {} => "CartReleased",
            CheckoutEvent::CheckoutFailed { .. } => "CheckoutFailed",
            CheckoutEvent::PromotionRedeemed {} => "PromotionRedeemed",
            CheckoutEvent::PromotionRefused { .. } => "PromotionRefused",
            CheckoutEvent::RedemptionConfirmed {} => "RedemptionConfirmed",
            CheckoutEvent::RedemptionReleased {} => "RedemptionReleased",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
