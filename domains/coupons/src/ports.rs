//! Outbound ports of coupons: deliberately none yet.
//!
//! A [`Promotion`](crate::Promotion) decides from its own events alone (`Services = ()`):
//! - Redemptions are driven by the checkout saga through commands. The saga declares the port
//!   it needs (a `PromotionRedemptions` port in `checkout`, as `StockReservations` is), and the
//!   platform implements it by sending `RedeemPromotion`, `ReleaseRedemption` and
//!   `ConfirmRedemption` to the code's stream with the checkout id, so a redelivered step is
//!   a no-op.
//! - Time enters through commands (`RedeemPromotion::at` is the checkout's start), stamped by
//!   the application from its `shared_kernel::Clock`, so replays are deterministic.
//! - A promotion does not ask the catalog whether the SKUs it names exist: a SKU nobody sells
//!   simply never matches a line.
//!
//! Carts and checkouts that price a code read [`PromotionView`](crate::PromotionView) (or the
//! aggregate) through ports they declare themselves, and call [`discount`](crate::discount),
//! which keeps this crate free of any dependency on them.
