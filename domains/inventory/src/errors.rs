//! Business outcomes the inventory context refuses. The context does no I/O, so there is no
//! infrastructure variant; store failures are reported by cqrs-es around these.

use shared_kernel::{ReservationId, Sku};

use crate::values::{ReservationStatus, MAX_REASON_CHARS};

/// Why a stock command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// Also the answer for a SKU that was never received: a shopper just sees it out of stock.
    #[error("only {available} of {sku} available, {requested} requested")]
    OutOfStock {
        sku: Sku,
        requested: u32,
        available: u64,
    },
    #[error("reservation {reservation_id} is for {reserved} units, not {requested}")]
    ReservationMismatch {
        reservation_id: ReservationId,
        reserved: u32,
        requested: u32,
    },
    #[error("reservation {reservation_id} is committed and can no longer be released")]
    AlreadyCommitted { reservation_id: ReservationId },
    #[error("this stock item has no reservation {reservation_id}")]
    UnknownReservation { reservation_id: ReservationId },
    #[error("reservation {reservation_id} is {status}, not active")]
    ReservationNotActive {
        reservation_id: ReservationId,
        status: ReservationStatus,
    },
    #[error(
        "adjusting {on_hand} on hand by {delta} would leave fewer than the {reserved} reserved"
    )]
    WouldGoBelowReserved {
        on_hand: u64,
        reserved: u64,
        delta: i64,
    },
    #[error("an adjustment must change the stock")]
    ZeroAdjustment,
    #[error("{on_hand} on hand plus {adding} would exceed the limit of {max}")]
    TooMuchStock { on_hand: u64, adding: u64, max: u64 },
    #[error("an 'other' adjustment reason needs 1 to {MAX_REASON_CHARS} characters")]
    InvalidReason,
    /// The command names another SKU than the stream it was sent to: a routing bug upstream.
    #[error("this stock item is {item}, the command is for {command}")]
    SkuMismatch { item: Sku, command: Sku },
    #[error("return {return_id} was booked for {recorded} units, not {requested}")]
    ReturnMismatch {
        return_id: uuid::Uuid,
        recorded: u32,
        requested: u32,
    },
    #[error("no stock of {sku} was ever received, so none can come back")]
    NothingToReturnTo { sku: Sku },
}

impl InventoryError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            InventoryError::OutOfStock { .. } => "out_of_stock",
            InventoryError::ReservationMismatch { .. } => "reservation_mismatch",
            InventoryError::AlreadyCommitted { .. } => "already_committed",
            InventoryError::UnknownReservation { .. } => "unknown_reservation",
            InventoryError::ReservationNotActive { .. } => "reservation_not_active",
            InventoryError::WouldGoBelowReserved { .. } => "would_go_below_reserved",
            InventoryError::ZeroAdjustment => "zero_adjustment",
            InventoryError::TooMuchStock { .. } => "too_much_stock",
            InventoryError::InvalidReason => "invalid_reason",
            InventoryError::SkuMismatch { .. } => "sku_mismatch",
            InventoryError::ReturnMismatch { .. } => "return_mismatch",
            InventoryError::NothingToReturnTo { .. } => "unknown_stock_item",
        }
    }
}
