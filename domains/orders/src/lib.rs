//! Orders context: what a shopper bought, where it goes, and how far it has got.
//!
//! Owns: orders, their lines (SKU, product, title, quantity and the unit price agreed at
//! checkout), the contact email and shipping address, the order totals, and the lifecycle
//! placed → paid → fulfilled → completed, or cancelled before fulfilment.
//! Does not own: carts or prices (an order copies the lines the checkout saga hands it), stock,
//! the payment itself (authorizing and capturing is the payments context; an order only records
//! which payment settled it), the refund process (giving money back and restocking is the
//! refunds context's), shipping rates, taxes, discounts or customer accounts. The order does
//! own its refundable balance: every refund is requested on it first (ADR 0018).
//! Orders are placed by the checkout saga (its pivot step) and marked paid by it; staff and
//! carriers drive fulfilment and completion through the application.
//!
//! Invariant: an order has one currency; every unit price, line total and total is in it.
//! Invariant: an order has 1..=100 lines and `total = subtotal + shipping_total`, where
//! `subtotal` is the sum of `unit_price × quantity` over its lines.
//! Invariant: an order is paid once, by exactly its total.
//! Invariant: a fulfilled order can no longer be cancelled; a completed or cancelled order's
//! status never changes again (refunds already requested are still settled on it).
//! Invariant: the order's refunds, requested or refunded, never exceed what was paid, nor a
//! line's units or total, nor its shipping total; each refund's parts sum exactly to its
//! amount (`refunds` module).
//! Invariant: commands a saga may redeliver (`PlaceOrder` with the same checkout, `MarkPaid`
//! with the same payment, `CancelOrder` on a cancelled order) succeed without new events.

pub mod aggregate;
pub mod commands;
pub mod documents;
pub mod errors;
pub mod events;
pub mod ports;
pub mod refunds;
pub mod values;
pub mod views;

pub use aggregate::Order;
pub use commands::{NewOrderLine, OrderCommand, OrderTax, TaxPart};
pub use errors::OrderError;
pub use events::{OrderEvent, OrderLineData, RefundLineData, TaxData};
pub use ports::{OrderNumbers, OrderNumbersError};
pub use refunds::{
    cancellation_refund_id, FinancialStatus, OrderRefund, OrderRefundState, RefundItems,
    RefundLineRequest, RefundOrigin, RefundReason, RefundedLine, ShippingRefund, MAX_REFUNDS,
};
pub use values::{
    CancellationReason, Fulfillment, OrderLine, OrderNumber, OrderStatus, MAX_FULFILLMENT_CHARS,
    MAX_LINES, MAX_REASON_CHARS,
};
pub use views::{
    apply_order_event, CancellationView, FulfillmentView, OrderLineView, OrderRefundView, OrderView,
};
