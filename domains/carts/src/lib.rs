//! Carts context: what a shopper intends to buy, at the price seen when adding it.
//!
//! Owns: carts, their lines (SKU, quantity, captured unit price), the cart currency and the
//! open → checking out → checked-out lifecycle, including which checkout holds the cart; where
//! the cart ships (a postal address, personal data sealed in its event) and the shipping option
//! chosen for it, by id.
//! Does not own: products or prices (read through the [`ports::PriceList`] port, implemented by
//! the platform over the catalog's read model; this crate does not depend on the catalog),
//! stock, payment, orders, taxes or discounts, shipping zones and their prices (which options
//! an address is offered, and at what price, is the shipping context's; the application checks
//! a choice before the cart records it, ADR 0037). Checkout itself is run by the checkout saga
//! (the `checkout` context): it locks the cart with `BeginCheckout`, then ends with
//! `MarkCheckedOut` on success or `ReleaseCheckout` as compensation.
//!
//! Invariant: a cart has one currency; every line's unit price is in it.
//! Invariant: a line's quantity is 1..=999 and a cart has at most 100 lines.
//! Invariant: one line per SKU, its id derived from (cart id, normalized SKU), so adding the
//! same SKU again grows that line and keeps the price captured first.
//! Invariant: at most one checkout holds a cart; while it does, the lines cannot change, and
//! only that checkout can check the cart out or release it.
//! Invariant: a checked-out cart never changes again.

pub mod aggregate;
pub mod commands;
pub mod errors;
pub mod events;
pub mod ports;
pub mod values;

pub use aggregate::{Cart, CartServices};
pub use commands::CartCommand;
pub use errors::CartError;
pub use events::CartEvent;
pub use ports::{PriceList, PriceLookupError, PricedSku};
pub use values::{
    line_id_for, CartLine, CartStatus, MAX_LINES, MAX_LINE_QUANTITY, MIN_LINE_QUANTITY,
};
