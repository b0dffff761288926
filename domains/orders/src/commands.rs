//! What can be asked of an order.
//!
//! `PlaceOrder` takes already-validated values (email, address, SKUs, quantities), so parsing
//! errors surface where input enters; the aggregate checks what depends on the order as a whole.
//! Free text of later commands (carrier, tracking number, reason) is validated by the aggregate.

use chrono::{DateTime, Utc};
use shared_kernel::{
    CheckoutId, Currency, CustomerId, Money, OrderId, PaymentId, ProductId, RefundId,
};
use shared_kernel::{EmailAddress, PostalAddress, Quantity, Sku};

use crate::refunds::{RefundItems, RefundOrigin, ShippingRefund};
use crate::values::OrderNumber;

/// Commands for the [`Order`](crate::Order) aggregate.
// `PlaceOrder` carries the whole address and is much larger than the others. A command is built,
// handled once and dropped, so boxing it would only make every caller wrap the address.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    /// Places an order in `currency`. Sent by the checkout saga with its `checkout_id`;
    /// repeating it with the same checkout id is a no-op.
    PlaceOrder {
        order_id: OrderId,
        checkout_id: Option<CheckoutId>,
        customer_id: Option<CustomerId>,
        email: EmailAddress,
        shipping_address: PostalAddress,
        currency: Currency,
        lines: Vec<NewOrderLine>,
        /// When the order was placed, from the application's clock.
        placed_at: DateTime<Utc>,
        /// The promotion code the lines' discounts come from, if any.
        promotion_code: Option<String>,
        /// The order's short number (`#1042`), allocated for this order id.
        number: Option<OrderNumber>,
        /// What the shopper pays for shipping (the checkout's shipping method); `None`: no
        /// shipping charged.
        shipping_total: Option<Money>,
        /// The tax charged on the lines and the shipping; `None` when the shop charges none.
        tax: Option<OrderTax>,
    },
    /// Records that `payment_id` settled the order; `amount` must equal the order total.
    /// Repeating it with the same payment id is a no-op.
    MarkPaid {
        payment_id: PaymentId,
        amount: Money,
    },
    /// Records the shipment of a paid order.
    FulfillOrder {
        carrier: String,
        tracking_number: String,
    },
    /// Closes a fulfilled order (delivered, nothing left to do).
    CompleteOrder,
    /// Cancels an order that has not been fulfilled. Already cancelled: nothing happens.
    CancelOrder { reason: String },
    /// Sets `items` and `shipping` of a paid order aside for refund `refund_id`, if what is
    /// left of the order covers them. Repeating the same request with the same id is a no-op.
    RequestRefund {
        refund_id: RefundId,
        items: RefundItems,
        /// The shipping a refund of lines gives back, or a refund of shipping alone (no lines).
        shipping: ShippingRefund,
        /// Whether the units given back go back into stock (lines only).
        restock: bool,
        reason: String,
        origin: RefundOrigin,
    },
    /// Records that the money of a requested refund went back. Repeating it is a no-op.
    RecordRefund { refund_id: RefundId },
    /// Gives what a requested refund set aside back to the order's balance, because the
    /// money could not be returned. Repeating it is a no-op.
    ReleaseRefund { refund_id: RefundId, reason: String },
    /// Erases the shopper's personal data from the order, at their request, whatever the
    /// order's state. Already erased: nothing happens.
    ErasePersonalData,
}

impl OrderCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            OrderCommand::PlaceOrder { .. } => "PlaceOrder",
            OrderCommand::MarkPaid { .. } => "MarkPaid",
            OrderCommand::FulfillOrder { .. } => "FulfillOrder",
            OrderCommand::CompleteOrder => "CompleteOrder",
            OrderCommand::CancelOrder { .. } => "CancelOrder",
            OrderCommand::RequestRefund { .. } => "RequestRefund",
            OrderCommand::RecordRefund { .. } => "RecordRefund",
            OrderCommand::ReleaseRefund { .. } => "ReleaseRefund",
            OrderCommand::ErasePersonalData => "ErasePersonalData",
        }
    }
}

/// A line as submitted, before the order checks its price and computes its total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderLine {
    pub sku: Sku,
    pub product_id: ProductId,
    pub title: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    /// The line's share of the promotion discount: zero without one.
    pub discount: Money,
}

/// The tax an order is placed with, as the checkout fixed it: each line's (in the order's
/// line order) and the shipping's, with whether the prices included it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTax {
    pub prices_include_tax: bool,
    pub lines: Vec<TaxPart>,
    pub shipping: TaxPart,
}

/// The tax on one amount: its rate in percent and the tax in whole minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxPart {
    pub rate: rust_decimal::Decimal,
    pub amount: Money,
}
