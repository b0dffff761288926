//! Read model of stock levels, for shoppers ("in stock?") and staff.
//!
//! The update function is pure so any projection (in memory, SQL, ...) can reuse it, and so it
//! can be tested without a store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::StockEvent;

/// The stock level of one SKU as shown to readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevelView {
    /// Normalized (uppercase) SKU.
    pub sku: String,
    pub on_hand: u64,
    /// Sum of `active`.
    pub reserved: u64,
    /// `on_hand - reserved`.
    pub available: u64,
    /// Quantity of each active reservation, keyed by reservation id. Bookkeeping rather than
    /// display: `ReservationReleased` and `ReservationExpired` do not repeat the quantity they
    /// free, so the view remembers it from `StockReserved`.
    pub active: BTreeMap<String, u64>,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

impl StockLevelView {
    /// The level of a SKU with no stock history: nothing on hand, version 0.
    pub fn empty(sku: &str) -> StockLevelView {
        StockLevelView {
            sku: sku.to_owned(),
            on_hand: 0,
            reserved: 0,
            available: 0,
            active: BTreeMap::new(),
            version: 0,
        }
    }
}

/// The view after `event`, one version later. Without a view, one is started for `sku`.
///
/// Arithmetic saturates instead of panicking: a projection must never stop on an event, and the
/// aggregate already guarantees the history is consistent.
pub fn apply_stock_event(
    view: Option<StockLevelView>,
    sku: &str,
    event: &StockEvent,
) -> StockLevelView {
    let mut view = view.unwrap_or_else(|| StockLevelView::empty(sku));
    match event {
        StockEvent::StockReceived { quantity, .. } | StockEvent::StockReturned { quantity, .. } => {
            view.on_hand = view.on_hand.saturating_add(u64::from(quantity.get()));
        }
        StockEvent::StockAdjusted { delta, .. } => {
            view.on_hand = view.on_hand.saturating_add_signed(*delta);
        }
        StockEvent::StockReserved {
            reservation_id,
            quantity,
            ..
        } => {
            view.active
                .insert(reservation_id.to_string(), u64::from(quantity.get()));
        }
        StockEvent::ReservationReleased { reservation_id }
        | StockEvent::ReservationExpired { reservation_id } => {
            view.active.remove(&reservation_id.to_string());
        }
        StockEvent::ReservationCommitted {
            reservation_id,
            quantity,
        } => {
            view.active.remove(&reservation_id.to_string());
            view.on_hand = view.on_hand.saturating_sub(u64::from(quantity.get()));
        }
    }
    view.reserved = view
        .active
        .values()
        .fold(0, |sum: u64, quantity| sum.saturating_add(*quantity));
    view.available = view.on_hand.saturating_sub(view.reserved);
    view.version += 1;
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::AdjustmentReason;
    use chrono::{TimeZone, Utc};
    use shared_kernel::{Quantity, ReservationId, Sku};

    fn sku() -> Sku {
        Sku::parse("TEE-S").unwrap()
    }

    fn reservation(n: u128) -> ReservationId {
        ReservationId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn qty(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    fn received(n: u32) -> StockEvent {
        StockEvent::StockReceived {
            sku: sku().into(),
            quantity: qty(n),
            reference: None,
        }
    }

    fn reserved(id: u128, n: u32) -> StockEvent {
        StockEvent::StockReserved {
            reservation_id: reservation(id),
            quantity: qty(n),
            expires_at: Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap(),
        }
    }

    fn replay(events: &[StockEvent]) -> StockLevelView {
        events
            .iter()
            .fold(None, |view, event| {
                Some(apply_stock_event(view, "TEE-S", event))
            })
            .unwrap()
    }

    fn levels(view: &StockLevelView) -> (u64, u64, u64) {
        (view.on_hand, view.reserved, view.available)
    }

    #[test]
    fn a_first_receipt_starts_the_view_at_version_one() {
        let view = replay(&[received(10)]);
        assert_eq!(view.sku, "TEE-S");
        assert_eq!(levels(&view), (10, 0, 10));
        assert!(view.active.is_empty());
        assert_eq!(view.version, 1);
    }

    #[test]
    fn an_empty_view_has_nothing_available() {
        let view = StockLevelView::empty("TEE-S");
        assert_eq!(levels(&view), (0, 0, 0));
        assert_eq!(view.version, 0);
    }

    #[test]
    fn adjustments_move_on_hand_both_ways() {
        let adjusted = |delta| StockEvent::StockAdjusted {
            sku: sku().into(),
            delta,
            reason: AdjustmentReason::Recount,
        };
        let view = replay(&[received(10), adjusted(-3), adjusted(5)]);
        assert_eq!(levels(&view), (12, 0, 12));
        assert_eq!(view.version, 3);
    }

    #[test]
    fn a_reservation_moves_units_from_available_to_reserved() {
        let view = replay(&[received(10), reserved(1, 4)]);
        assert_eq!(levels(&view), (10, 4, 6));
        assert_eq!(view.active.get(&reservation(1).to_string()), Some(&4));
    }

    #[test]
    fn a_release_makes_the_remembered_quantity_available_again() {
        let view = replay(&[
            received(10),
            reserved(1, 4),
            reserved(2, 1),
            StockEvent::ReservationReleased {
                reservation_id: reservation(1),
            },
        ]);
        assert_eq!(levels(&view), (10, 1, 9));
        assert_eq!(view.active.len(), 1);
    }

    #[test]
    fn an_expiry_makes_the_remembered_quantity_available_again() {
        let view = replay(&[
            received(10),
            reserved(1, 4),
            StockEvent::ReservationExpired {
                reservation_id: reservation(1),
            },
        ]);
        assert_eq!(levels(&view), (10, 0, 10));
        assert!(view.active.is_empty());
    }

    #[test]
    fn a_commit_takes_the_units_out_of_on_hand_and_reserved() {
        let view = replay(&[
            received(10),
            reserved(1, 4),
            StockEvent::ReservationCommitted {
                reservation_id: reservation(1),
                quantity: qty(4),
            },
        ]);
        assert_eq!(levels(&view), (6, 0, 6));
        assert_eq!(view.version, 3);
    }

    #[test]
    fn serializes_active_reservations_as_an_object_keyed_by_id() {
        let view = replay(&[received(10), reserved(1, 4)]);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["active"][reservation(1).to_string()], 4);
        assert_eq!(
            serde_json::from_value::<StockLevelView>(json).unwrap(),
            view
        );
    }

    #[test]
    fn returned_units_are_on_hand_and_available_again() {
        let view = replay(&[
            received(5),
            StockEvent::StockReturned {
                return_id: uuid::Uuid::from_u128(1),
                quantity: qty(2),
            },
        ]);
        assert_eq!((view.on_hand, view.available, view.version), (7, 7, 2));
    }
}
