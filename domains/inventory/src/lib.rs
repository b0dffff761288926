//! Inventory context: how many units of each SKU are on hand, and how many are promised.
//!
//! Owns: the stock level of each SKU (units on hand), its movements (receipts, adjustments with
//! a reason) and reservations, which hold units for a checkout until they are committed (sold),
//! released (compensated) or expired.
//! Does not own: products, SKUs' existence or prices (catalog), carts, orders, payments,
//! warehouses or locations (one stock pool per SKU), backorders, or when to reserve: the
//! checkout saga decides that and drives reservations through commands (see [`ports`]).
//!
//! One aggregate: [`StockItem`] (`"stock_item"`, aggregate id = the normalized SKU). All
//! reservations of a SKU live in its stream, so the event store's optimistic concurrency
//! serializes competing reservations and stock cannot be oversold.
//!
//! Invariant: 0 <= reserved <= on hand <= [`MAX_ON_HAND`]; available = on hand - reserved.
//! Invariant: reserved is the sum of the active reservations' quantities.
//! Invariant: a reservation id names one reservation forever. Reserving again with the same id
//! and quantity succeeds without effect, even after the reservation ended; another quantity is
//! refused. Active -> Released | Committed | Expired, and those three are final.
//! Invariant: an item counts one SKU; a command naming another SKU is refused.

pub mod aggregate;
pub mod commands;
pub mod errors;
pub mod events;
pub mod ports;
pub mod values;
pub mod views;

pub use aggregate::StockItem;
pub use commands::StockCommand;
pub use errors::InventoryError;
pub use events::StockEvent;
pub use values::{AdjustmentReason, Reservation, ReservationStatus, MAX_ON_HAND, MAX_REASON_CHARS};
pub use views::{apply_stock_event, StockLevelView};
