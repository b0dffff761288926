//! Outbound ports of the orders context: only [`OrderNumbers`], which the application asks
//! before it places an order; the order itself still decides from its own events and the
//! command alone (`Services = ()`):
//! - Lines and unit prices arrive in `PlaceOrder`, copied by the checkout saga from the cart it
//!   froze, so the order never looks prices up; what the shopper saw is what they pay.
//! - Payment arrives as `MarkPaid` from the saga once the payments context has captured it; the
//!   order checks the amount against its total but never talks to a gateway.
//! - Time enters through commands (`PlaceOrder::placed_at`), stamped by the application from its
//!   `shared_kernel::Clock`, so replays and tests are deterministic.
//!
//! Contexts that need orders (the checkout saga's order step) declare their own port; the
//! platform implements it by sending these commands, which keeps this crate free of any
//! dependency on its callers.

use async_trait::async_trait;
use shared_kernel::OrderId;

use crate::values::OrderNumber;

/// Why the numbers could not be read or allocated. Retrying is safe.
#[derive(Debug, thiserror::Error)]
#[error("order numbers are unavailable: {0}")]
pub struct OrderNumbersError(pub String);

/// Short order numbers, one per order, unique across every instance sharing the store
/// (ADR 0036).
///
/// Invariant (the adapter's promise): an order id gets one number, the same on every call;
/// two orders never share one; numbers only grow. Gaps are allowed.
#[async_trait]
pub trait OrderNumbers: Send + Sync {
    /// The number of `order_id`: allocated on the first call, the same ever after.
    async fn number_for(&self, order_id: OrderId) -> Result<OrderNumber, OrderNumbersError>;

    /// The order that `number` was given to, if any.
    async fn order_numbered(
        &self,
        number: OrderNumber,
    ) -> Result<Option<OrderId>, OrderNumbersError>;
}
