//! Outbound ports of the orders context: deliberately none.
//!
//! An order decides from its own events and the command alone (`Services = ()`):
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
