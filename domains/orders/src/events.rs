//! What happened to orders. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014): a new shape is a
//! new version with an upcaster, never an edit.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared_kernel::{
    AddressData, CheckoutId, Currency, CustomerId, Money, OrderId, PaymentId, ProductId, Quantity,
    RefundId,
};

use crate::refunds::RefundOrigin;

/// One line of a placed order, as `OrderPlaced` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineData {
    pub sku: String,
    pub product_id: ProductId,
    /// The title shown when the order was placed.
    pub title: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    /// `unit_price × quantity`.
    pub line_total: Money,
    /// The line's share of the order's promotion discount. Absent (never `null`) when none,
    /// so orders placed before codes existed read, and are stored, as they always were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Money>,
    /// The line's tax (ADR 0038). Absent (never `null`) when the shop charged no tax, so
    /// orders placed before tax was calculated read, and are stored, as they always were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<TaxData>,
}

/// The tax charged on one amount (a line after its discount, or the shipping charge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxData {
    /// In percent: `19` is 19 %.
    pub rate: Decimal,
    /// In whole minor units of the order's currency.
    pub amount: Money,
    /// Whether the amount taxed included the tax (prices with tax) or the tax came on top.
    pub included: bool,
}

/// One line's part of a refund, as `OrderRefundRequested` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLineData {
    pub sku: String,
    /// Units given back; zero when the refund is of money only.
    pub quantity: u32,
    /// The money given back for the line.
    pub amount: Money,
}

/// Events of the [`Order`](crate::Order) aggregate.
// `OrderPlaced` is much larger than the others, but an order has at most five events, so the
// padding costs nothing worth a `Box` in every constructor and pattern.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderEvent {
    /// The order exists with these lines and totals, all in `currency`.
    OrderPlaced {
        order_id: OrderId,
        checkout_id: Option<CheckoutId>,
        customer_id: Option<CustomerId>,
        /// As accepted: domain lowercased, local part as given.
        email: String,
        shipping_address: AddressData,
        currency: Currency,
        lines: Vec<OrderLineData>,
        subtotal: Money,
        /// Zero until shipping is priced; recorded so totals stay explainable when it is.
        shipping_total: Money,
        /// What the shopper pays: `subtotal - discount_total + shipping_total`, plus
        /// `tax_total` when the tax came on top of the prices.
        total: Money,
        placed_at: DateTime<Utc>,
        /// The promotion code the order was placed with, and the discount it gave (the sum
        /// of the lines' shares). Both absent when there was none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        promotion_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        discount_total: Option<Money>,
        /// The order's short number (`1042`, shown `#1042`); absent on orders placed before
        /// numbers existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<u64>,
        /// The tax on the shipping charge, and the order's whole tax (the lines' tax plus
        /// the shipping's). Both absent when the shop charged no tax.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shipping_tax: Option<TaxData>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tax_total: Option<Money>,
    },
    /// `payment_id` settled the order for `amount` (equal to the total).
    OrderPaid {
        payment_id: PaymentId,
        amount: Money,
    },
    /// The order was handed to `carrier`. Both texts are trimmed.
    OrderFulfilled {
        carrier: String,
        tracking_number: String,
    },
    OrderCompleted {},
    /// The order was cancelled before fulfilment. `was_paid` tells refunds that money came in.
    OrderCancelled {
        reason: String,
        was_paid: bool,
    },
    /// `amount` of what was paid, and the units in `lines`, are set aside for refund
    /// `refund_id`: no other refund can take them until it is released. `lines` (in the
    /// order's line order) and `shipping` sum exactly to `amount`.
    OrderRefundRequested {
        refund_id: RefundId,
        amount: Money,
        lines: Vec<RefundLineData>,
        shipping: Money,
        /// Whether the units given back go back into stock.
        restock: bool,
        reason: String,
        origin: RefundOrigin,
    },
    /// The money of refund `refund_id` went back; `total_refunded` is the sum of all the
    /// order's refunds so far.
    OrderRefunded {
        refund_id: RefundId,
        amount: Money,
        total_refunded: Money,
    },
    /// Refund `refund_id` could not give the money back: what it set aside is refundable
    /// again.
    OrderRefundReleased {
        refund_id: RefundId,
        reason: String,
    },
    /// The shopper's personal data in this order (email, address) was erased at their
    /// request: from here on the order shows it erased, and so must every copy made of it.
    PersonalDataErased {},
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        match self {
            OrderEvent::OrderPlaced { .. } => "OrderPlaced",
            OrderEvent::OrderPaid { .. } => "OrderPaid",
            OrderEvent::OrderFulfilled { .. } => "OrderFulfilled",
            OrderEvent::OrderCompleted {} => "OrderCompleted",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
            OrderEvent::OrderRefundRequested { .. } => "OrderRefundRequested",
            OrderEvent::OrderRefunded { .. } => "OrderRefunded",
            OrderEvent::OrderRefundReleased { .. } => "OrderRefundReleased",
            OrderEvent::PersonalDataErased {} => "PersonalDataErased",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
