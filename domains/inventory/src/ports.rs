//! Outbound ports of inventory: deliberately none yet.
//!
//! A [`StockItem`](crate::StockItem) decides from its own events alone (`Services = ()`):
//! - Reservations are driven by the checkout saga through commands. The saga declares the port
//!   it needs (`StockReservations` in `checkout`), and the platform implements that port by
//!   sending `ReserveStock`, `ReleaseReservation` and `CommitReservation` to the item of each
//!   SKU, with reservation ids derived from the checkout so a redelivered step is a no-op.
//! - Time enters through commands (`ReserveStock::expires_at`, `ExpireReservations::now`),
//!   stamped by the application from its `shared_kernel::Clock`, so replays are deterministic.
//!   The platform sends `ExpireReservations` on a schedule; `StockReserved` carries the
//!   deadline, so a projection from the feed can tell it which items to sweep.
//! - Stock does not ask the catalog whether a SKU exists: it counts whatever it is told to
//!   receive, and a SKU it never received is simply out of stock.
//!
//! Other contexts that need stock levels read [`StockLevelView`](crate::StockLevelView) through
//! ports they declare themselves, which keeps this crate free of any dependency on them.
