//! Value types and limits of the inventory context.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::{Quantity, ReservationId};

use crate::errors::InventoryError;

/// Most units one SKU may have on hand: far above any real stock, low enough that a typo like
/// an extra three zeros is caught and sums of reservations never come near overflow.
pub const MAX_ON_HAND: u64 = 1_000_000_000;
/// Longest free-text adjustment reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// Why stock was adjusted by hand. Serialized in snake_case: `"damaged"`, `{"other": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    Damaged,
    Lost,
    Found,
    /// A physical count replaced the recorded figure (also how initial stock is loaded).
    Recount,
    /// A customer return put units back on the shelf.
    Returned,
    /// Anything else, explained in 1 to 200 characters.
    Other(String),
}

impl AdjustmentReason {
    /// An [`AdjustmentReason::Other`] with `text` trimmed, or [`InventoryError::InvalidReason`]
    /// if it is blank or longer than [`MAX_REASON_CHARS`].
    pub fn other(text: &str) -> Result<AdjustmentReason, InventoryError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_REASON_CHARS {
            return Err(InventoryError::InvalidReason);
        }
        Ok(AdjustmentReason::Other(trimmed.to_owned()))
    }

    /// The reason as it is recorded. The variant is public, so an `Other` built directly is
    /// checked here rather than trusted.
    pub(crate) fn normalized(self) -> Result<AdjustmentReason, InventoryError> {
        match self {
            AdjustmentReason::Other(text) => AdjustmentReason::other(&text),
            reason => Ok(reason),
        }
    }
}

/// Where a reservation is in its life. Only `Active` holds stock; the other three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Active,
    Released,
    Committed,
    Expired,
}

impl fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReservationStatus::Active => "active",
            ReservationStatus::Released => "released",
            ReservationStatus::Committed => "committed",
            ReservationStatus::Expired => "expired",
        })
    }
}

/// Units of one SKU held for one caller (a checkout) until committed, released or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    reservation_id: ReservationId,
    quantity: Quantity,
    expires_at: DateTime<Utc>,
    status: ReservationStatus,
}

impl Reservation {
    pub(crate) fn new(
        reservation_id: ReservationId,
        quantity: Quantity,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            reservation_id,
            quantity,
            expires_at,
            status: ReservationStatus::Active,
        }
    }

    pub fn reservation_id(&self) -> ReservationId {
        self.reservation_id
    }

    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    /// When `ExpireReservations` may give the units back if the reservation is still active.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    pub fn status(&self) -> ReservationStatus {
        self.status
    }

    pub fn is_active(&self) -> bool {
        self.status == ReservationStatus::Active
    }

    pub(crate) fn set_status(&mut self, status: ReservationStatus) {
        self.status = status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_other_reason_is_trimmed() {
        assert_eq!(
            AdjustmentReason::other("  shelf collapsed "),
            Ok(AdjustmentReason::Other("shelf collapsed".into()))
        );
    }

    #[test]
    fn an_other_reason_must_not_be_blank() {
        assert_eq!(
            AdjustmentReason::other(" \t"),
            Err(InventoryError::InvalidReason)
        );
    }

    #[test]
    fn an_other_reason_has_at_most_200_characters() {
        assert!(AdjustmentReason::other(&"é".repeat(200)).is_ok());
        assert_eq!(
            AdjustmentReason::other(&"é".repeat(201)),
            Err(InventoryError::InvalidReason)
        );
    }

    #[test]
    fn reasons_serialize_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&AdjustmentReason::Damaged).unwrap(),
            "\"damaged\""
        );
        assert_eq!(
            serde_json::to_value(AdjustmentReason::Other("gift".into())).unwrap(),
            serde_json::json!({ "other": "gift" })
        );
    }

    #[test]
    fn status_serializes_and_displays_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&ReservationStatus::Committed).unwrap(),
            "\"committed\""
        );
        assert_eq!(ReservationStatus::Expired.to_string(), "expired");
    }
}
