//! What happened to checkouts. Event type strings and version "1" are part of the stored
//! format: never rename them; add an upcaster and a new version instead.
//!
//! Several names match events of other contexts (`StockReserved`, `OrderPlaced`, ...): these
//! record what the checkout learnt about its own steps, in the checkout's stream. Feed readers
//! tell them apart by aggregate type (`"checkout"`).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{CartId, CheckoutId, Currency, CustomerId, Money, OrderId, Sku};

use crate::values::{CheckoutLine, FailureReason, ShippingDetails};

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
        email: String,
        shipping: ShippingDetails,
        payment_method_token: String,
        currency: Currency,
        lines: Vec<CheckoutLine>,
        /// Sum of the line totals.
        total: Money,
        started_at: DateTime<Utc>,
    },
    StockReserved {
        sku: Sku,
    },
    /// Every line is reserved: the payment is next.
    ReservationsCompleted {},
    StockUnavailable {
        sku: Sku,
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
    ReservationCommitted {
        sku: Sku,
    },
    CartCheckedOut {},
    CheckoutCompleted {
        order_id: OrderId,
    },
    StockReleased {
        sku: Sku,
    },
    PaymentVoided {},
    CartReleased {},
    /// Compensation is over; `reason` is what went wrong first.
    CheckoutFailed {
        reason: FailureReason,
    },
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
            CheckoutEvent::ReservationCommitted { .. } => "ReservationCommitted",
            CheckoutEvent::CartCheckedOut {} => "CartCheckedOut",
            CheckoutEvent::CheckoutCompleted { .. } => "CheckoutCompleted",
            CheckoutEvent::StockReleased { .. } => "StockReleased",
            CheckoutEvent::PaymentVoided {} => "PaymentVoided",
            CheckoutEvent::CartReleased {} => "CartReleased",
            CheckoutEvent::CheckoutFailed { .. } => "CheckoutFailed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
