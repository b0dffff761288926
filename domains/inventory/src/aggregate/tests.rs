//! Given/when/then specifications of the stock item.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use shared_kernel::{Quantity, ReservationId, Sku};
use uuid::Uuid;

use super::StockItem;
use crate::commands::StockCommand;
use crate::errors::InventoryError;
use crate::events::StockEvent;
use crate::values::{AdjustmentReason, ReservationStatus, MAX_ON_HAND};

type StockTest = TestFramework<StockItem>;

fn sku() -> Sku {
    Sku::parse("TEE-S").unwrap()
}

fn other_sku() -> Sku {
    Sku::parse("TEE-M").unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

fn reservation(n: u128) -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(n))
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, hour, 0, 0).unwrap()
}

fn received(n: u32) -> StockEvent {
    StockEvent::StockReceived {
        sku: sku().into(),
        quantity: qty(n),
        reference: None,
    }
}

fn adjusted(delta: i64, reason: AdjustmentReason) -> StockEvent {
    StockEvent::StockAdjusted {
        sku: sku().into(),
        delta,
        reason,
    }
}

/// Reservation `id` of `n` units, expiring at `hour`.
fn reserved(id: u128, n: u32, hour: u32) -> StockEvent {
    StockEvent::StockReserved {
        reservation_id: reservation(id),
        quantity: qty(n),
        expires_at: at(hour),
    }
}

fn released(id: u128) -> StockEvent {
    StockEvent::ReservationReleased {
        reservation_id: reservation(id),
    }
}

fn committed(id: u128, n: u32) -> StockEvent {
    StockEvent::ReservationCommitted {
        reservation_id: reservation(id),
        quantity: qty(n),
    }
}

fn expired(id: u128) -> StockEvent {
    StockEvent::ReservationExpired {
        reservation_id: reservation(id),
    }
}

fn receive(n: u32) -> StockCommand {
    StockCommand::ReceiveStock {
        sku: sku(),
        quantity: qty(n),
        reference: None,
    }
}

fn adjust(delta: i64, reason: AdjustmentReason) -> StockCommand {
    StockCommand::AdjustStock {
        sku: sku(),
        delta,
        reason,
    }
}

fn reserve(id: u128, n: u32) -> StockCommand {
    StockCommand::ReserveStock {
        sku: sku(),
        reservation_id: reservation(id),
        quantity: qty(n),
        expires_at: at(12),
    }
}

fn release(id: u128) -> StockCommand {
    StockCommand::ReleaseReservation {
        reservation_id: reservation(id),
    }
}

fn commit(id: u128) -> StockCommand {
    StockCommand::CommitReservation {
        reservation_id: reservation(id),
    }
}

fn expire_at(hour: u32) -> StockCommand {
    StockCommand::ExpireReservations { now: at(hour) }
}

fn out_of_stock(requested: u32, available: u64) -> InventoryError {
    InventoryError::OutOfStock {
        sku: sku(),
        requested,
        available,
    }
}

fn sku_mismatch() -> InventoryError {
    InventoryError::SkuMismatch {
        item: sku(),
        command: other_sku(),
    }
}

fn replay(events: Vec<StockEvent>) -> StockItem {
    let mut item = StockItem::default();
    for event in events {
        item.apply(event);
    }
    item
}

// --- ReceiveStock ---

#[test]
fn the_first_receipt_creates_the_item() {
    StockTest::with(())
        .given_no_previous_events()
        .when(StockCommand::ReceiveStock {
            sku: sku(),
            quantity: qty(10),
            reference: Some("PO-1001".into()),
        })
        .then_expect_events(vec![StockEvent::StockReceived {
            sku: sku().into(),
            quantity: qty(10),
            reference: Some("PO-1001".into()),
        }]);
}

#[test]
fn a_later_receipt_adds_to_the_stock() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(receive(5))
        .then_expect_events(vec![received(5)]);
}

#[test]
fn a_blank_receipt_reference_is_recorded_as_none() {
    StockTest::with(())
        .given_no_previous_events()
        .when(StockCommand::ReceiveStock {
            sku: sku(),
            quantity: qty(10),
            reference: Some("  ".into()),
        })
        .then_expect_events(vec![received(10)]);
}

#[test]
fn receiving_up_to_a_billion_units_on_hand_is_accepted() {
    StockTest::with(())
        .given(vec![received(999_999_990)])
        .when(receive(10))
        .then_expect_events(vec![received(10)]);
}

#[test]
fn rejects_receiving_beyond_a_billion_units_on_hand() {
    StockTest::with(())
        .given(vec![received(999_999_990)])
        .when(receive(11))
        .then_expect_error(InventoryError::TooMuchStock {
            on_hand: 999_999_990,
            adding: 11,
            max: MAX_ON_HAND,
        });
}

#[test]
fn rejects_a_receipt_for_another_sku() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(StockCommand::ReceiveStock {
            sku: other_sku(),
            quantity: qty(1),
            reference: None,
        })
        .then_expect_error(sku_mismatch());
}

// --- AdjustStock ---

#[test]
fn adjusting_stock_records_the_delta_and_the_reason() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(-2, AdjustmentReason::Damaged))
        .then_expect_events(vec![adjusted(-2, AdjustmentReason::Damaged)]);
}

#[test]
fn a_recount_can_create_an_item_never_received() {
    StockTest::with(())
        .given_no_previous_events()
        .when(adjust(40, AdjustmentReason::Recount))
        .then_expect_events(vec![adjusted(40, AdjustmentReason::Recount)]);
}

#[test]
fn adjusting_down_to_exactly_the_reserved_units_is_accepted() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 4, 12)])
        .when(adjust(-6, AdjustmentReason::Lost))
        .then_expect_events(vec![adjusted(-6, AdjustmentReason::Lost)]);
}

#[test]
fn rejects_adjusting_below_the_reserved_units() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 4, 12)])
        .when(adjust(-7, AdjustmentReason::Lost))
        .then_expect_error(InventoryError::WouldGoBelowReserved {
            on_hand: 10,
            reserved: 4,
            delta: -7,
        });
}

#[test]
fn rejects_adjusting_an_item_never_received_below_zero() {
    StockTest::with(())
        .given_no_previous_events()
        .when(adjust(-1, AdjustmentReason::Lost))
        .then_expect_error(InventoryError::WouldGoBelowReserved {
            on_hand: 0,
            reserved: 0,
            delta: -1,
        });
}

#[test]
fn rejects_the_most_negative_delta_without_overflowing() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(i64::MIN, AdjustmentReason::Lost))
        .then_expect_error(InventoryError::WouldGoBelowReserved {
            on_hand: 10,
            reserved: 0,
            delta: i64::MIN,
        });
}

#[test]
fn rejects_adjusting_above_a_billion_units_on_hand() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(999_999_991, AdjustmentReason::Found))
        .then_expect_error(InventoryError::TooMuchStock {
            on_hand: 10,
            adding: 999_999_991,
            max: MAX_ON_HAND,
        });
}

#[test]
fn rejects_a_zero_adjustment() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(0, AdjustmentReason::Recount))
        .then_expect_error(InventoryError::ZeroAdjustment);
}

#[test]
fn an_other_reason_is_recorded_trimmed() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(
            1,
            AdjustmentReason::Other("  gift from supplier ".into()),
        ))
        .then_expect_events(vec![adjusted(
            1,
            AdjustmentReason::Other("gift from supplier".into()),
        )]);
}

#[test]
fn rejects_a_blank_other_reason() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(1, AdjustmentReason::Other(" ".into())))
        .then_expect_error(InventoryError::InvalidReason);
}

#[test]
fn rejects_an_other_reason_longer_than_200_characters() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(adjust(1, AdjustmentReason::Other("x".repeat(201))))
        .then_expect_error(InventoryError::InvalidReason);
}

#[test]
fn rejects_an_adjustment_for_another_sku() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(StockCommand::AdjustStock {
            sku: other_sku(),
            delta: 1,
            reason: AdjustmentReason::Found,
        })
        .then_expect_error(sku_mismatch());
}

// --- ReserveStock ---

#[test]
fn reserving_available_stock_holds_it() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(reserve(1, 3))
        .then_expect_events(vec![reserved(1, 3, 12)]);
}

#[test]
fn reserving_exactly_what_is_available_is_accepted() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 4, 12)])
        .when(reserve(2, 6))
        .then_expect_events(vec![reserved(2, 6, 12)]);
}

#[test]
fn rejects_reserving_more_than_is_available() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 4, 12)])
        .when(reserve(2, 7))
        .then_expect_error(out_of_stock(7, 6));
}

#[test]
fn reserving_a_sku_never_received_reports_it_out_of_stock() {
    StockTest::with(())
        .given_no_previous_events()
        .when(reserve(1, 1))
        .then_expect_error(out_of_stock(1, 0));
}

#[test]
fn released_units_can_be_reserved_again() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 10, 12), released(1)])
        .when(reserve(2, 10))
        .then_expect_events(vec![reserved(2, 10, 12)]);
}

#[test]
fn committed_units_cannot_be_reserved_again() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 4, 12), committed(1, 4)])
        .when(reserve(2, 7))
        .then_expect_error(out_of_stock(7, 6));
}

#[test]
fn repeating_an_active_reservation_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12)])
        .when(reserve(1, 3))
        .then_expect_events(vec![]);
}

#[test]
fn repeating_a_reservation_after_stock_ran_out_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 10, 12)])
        .when(reserve(1, 10))
        .then_expect_events(vec![]);
}

#[test]
fn repeating_a_released_reservation_does_not_hold_stock_again() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), released(1)])
        .when(reserve(1, 3))
        .then_expect_events(vec![]);
}

#[test]
fn repeating_a_committed_reservation_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), committed(1, 3)])
        .when(reserve(1, 3))
        .then_expect_events(vec![]);
}

#[test]
fn repeating_an_expired_reservation_does_not_hold_stock_again() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), expired(1)])
        .when(reserve(1, 3))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_reusing_a_reservation_id_for_another_quantity() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12)])
        .when(reserve(1, 4))
        .then_expect_error(InventoryError::ReservationMismatch {
            reservation_id: reservation(1),
            reserved: 3,
            requested: 4,
        });
}

#[test]
fn rejects_a_reservation_for_another_sku() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(StockCommand::ReserveStock {
            sku: other_sku(),
            reservation_id: reservation(1),
            quantity: qty(1),
            expires_at: at(12),
        })
        .then_expect_error(sku_mismatch());
}

// --- ReleaseReservation ---

#[test]
fn releasing_an_active_reservation_frees_its_units() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12)])
        .when(release(1))
        .then_expect_events(vec![released(1)]);
}

#[test]
fn releasing_a_released_reservation_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), released(1)])
        .when(release(1))
        .then_expect_events(vec![]);
}

#[test]
fn releasing_an_expired_reservation_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), expired(1)])
        .when(release(1))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_releasing_a_committed_reservation() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), committed(1, 3)])
        .when(release(1))
        .then_expect_error(InventoryError::AlreadyCommitted {
            reservation_id: reservation(1),
        });
}

#[test]
fn rejects_releasing_an_unknown_reservation() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12)])
        .when(release(2))
        .then_expect_error(InventoryError::UnknownReservation {
            reservation_id: reservation(2),
        });
}

#[test]
fn rejects_releasing_on_an_item_never_received() {
    StockTest::with(())
        .given_no_previous_events()
        .when(release(1))
        .then_expect_error(InventoryError::UnknownReservation {
            reservation_id: reservation(1),
        });
}

// --- CommitReservation ---

#[test]
fn committing_an_active_reservation_takes_its_units_out_of_stock() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12)])
        .when(commit(1))
        .then_expect_events(vec![committed(1, 3)]);
}

#[test]
fn committing_a_committed_reservation_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), committed(1, 3)])
        .when(commit(1))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_committing_a_released_reservation() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), released(1)])
        .when(commit(1))
        .then_expect_error(InventoryError::ReservationNotActive {
            reservation_id: reservation(1),
            status: ReservationStatus::Released,
        });
}

#[test]
fn rejects_committing_an_expired_reservation() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 3, 12), expired(1)])
        .when(commit(1))
        .then_expect_error(InventoryError::ReservationNotActive {
            reservation_id: reservation(1),
            status: ReservationStatus::Expired,
        });
}

#[test]
fn rejects_committing_an_unknown_reservation() {
    StockTest::with(())
        .given(vec![received(10)])
        .when(commit(1))
        .then_expect_error(InventoryError::UnknownReservation {
            reservation_id: reservation(1),
        });
}

// --- ExpireReservations ---

#[test]
fn expiring_ends_each_active_reservation_past_its_deadline() {
    StockTest::with(())
        .given(vec![
            received(10),
            reserved(1, 1, 9),
            reserved(2, 1, 13),
            reserved(3, 1, 10),
        ])
        .when(expire_at(11))
        .then_expect_events(vec![expired(1), expired(3)]);
}

#[test]
fn a_reservation_due_exactly_now_expires() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 1, 12)])
        .when(expire_at(12))
        .then_expect_events(vec![expired(1)]);
}

#[test]
fn expiring_leaves_ended_reservations_alone() {
    StockTest::with(())
        .given(vec![
            received(10),
            reserved(1, 1, 9),
            released(1),
            reserved(2, 1, 9),
            committed(2, 1),
            reserved(3, 1, 9),
            expired(3),
        ])
        .when(expire_at(12))
        .then_expect_events(vec![]);
}

#[test]
fn expiring_before_any_deadline_changes_nothing() {
    StockTest::with(())
        .given(vec![received(10), reserved(1, 1, 12)])
        .when(expire_at(11))
        .then_expect_events(vec![]);
}

#[test]
fn expiring_on_an_item_never_received_changes_nothing() {
    StockTest::with(())
        .given_no_previous_events()
        .when(expire_at(12))
        .then_expect_events(vec![]);
}

// --- State and format ---

#[test]
fn an_item_never_received_has_nothing_available() {
    let item = StockItem::default();
    assert_eq!(item.sku(), None);
    assert_eq!(
        (item.on_hand(), item.reserved(), item.available()),
        (0, 0, 0)
    );
    assert_eq!(item.active_reservations().count(), 0);
}

#[test]
fn reserved_counts_only_active_reservations() {
    let item = replay(vec![
        received(20),
        adjusted(-2, AdjustmentReason::Damaged),
        reserved(1, 1, 12),
        reserved(2, 2, 12),
        reserved(3, 3, 12),
        reserved(4, 4, 12),
        released(1),
        expired(2),
        committed(3, 3),
    ]);
    assert_eq!(item.sku(), Some(&sku()));
    assert_eq!(item.on_hand(), 15);
    assert_eq!(item.reserved(), 4);
    assert_eq!(item.available(), 11);
    let active: Vec<ReservationId> = item
        .active_reservations()
        .map(|r| r.reservation_id())
        .collect();
    assert_eq!(active, vec![reservation(4)]);
}

#[test]
fn a_reservation_remembers_its_terms_and_status() {
    let item = replay(vec![received(10), reserved(1, 3, 12), committed(1, 3)]);
    let reservation_1 = item.reservation(reservation(1)).unwrap();
    assert_eq!(reservation_1.quantity(), qty(3));
    assert_eq!(reservation_1.expires_at(), at(12));
    assert_eq!(reservation_1.status(), ReservationStatus::Committed);
    assert!(item.reservation(reservation(2)).is_none());
}

#[test]
fn the_aggregate_id_is_the_normalized_sku() {
    assert_eq!(
        StockItem::aggregate_id(&Sku::parse(" tee-s ").unwrap()),
        "TEE-S"
    );
    assert_eq!(StockItem::TYPE, "stock_item");
}

#[test]
fn the_aggregate_survives_a_snapshot_round_trip() {
    let item = replay(vec![received(10), reserved(1, 3, 12), reserved(2, 1, 13)]);
    let json = serde_json::to_string(&item).unwrap();
    assert_eq!(serde_json::from_str::<StockItem>(&json).unwrap(), item);
}

#[test]
fn events_have_stable_type_names_and_version_two() {
    let cases = [
        (received(1), "StockReceived"),
        (adjusted(1, AdjustmentReason::Found), "StockAdjusted"),
        (reserved(1, 1, 12), "StockReserved"),
        (released(1), "ReservationReleased"),
        (committed(1, 1), "ReservationCommitted"),
        (expired(1), "ReservationExpired"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
    }
}

#[test]
fn error_codes_are_stable() {
    let id = reservation(1);
    let cases = [
        (out_of_stock(1, 0), "out_of_stock"),
        (
            InventoryError::ReservationMismatch {
                reservation_id: id,
                reserved: 1,
                requested: 2,
            },
            "reservation_mismatch",
        ),
        (
            InventoryError::AlreadyCommitted { reservation_id: id },
            "already_committed",
        ),
        (
            InventoryError::UnknownReservation { reservation_id: id },
            "unknown_reservation",
        ),
        (
            InventoryError::ReservationNotActive {
                reservation_id: id,
                status: ReservationStatus::Released,
            },
            "reservation_not_active",
        ),
        (
            InventoryError::WouldGoBelowReserved {
                on_hand: 0,
                reserved: 0,
                delta: -1,
            },
            "would_go_below_reserved",
        ),
        (InventoryError::ZeroAdjustment, "zero_adjustment"),
        (
            InventoryError::TooMuchStock {
                on_hand: 0,
                adding: 0,
                max: MAX_ON_HAND,
            },
            "too_much_stock",
        ),
        (InventoryError::InvalidReason, "invalid_reason"),
        (sku_mismatch(), "sku_mismatch"),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code);
    }
}

// --- ReturnStock ---

fn return_id(n: u128) -> Uuid {
    Uuid::from_u128(0x7E70 + n)
}

fn give_back(id: u128, n: u32) -> StockCommand {
    StockCommand::ReturnStock {
        sku: sku(),
        return_id: return_id(id),
        quantity: qty(n),
    }
}

fn returned(id: u128, n: u32) -> StockEvent {
    StockEvent::StockReturned {
        return_id: return_id(id),
        quantity: qty(n),
    }
}

#[test]
fn units_that_come_back_are_in_stock_again_once() {
    StockTest::with(())
        .given(vec![received(5), reserved(1, 2, 9), committed(1, 2)])
        .when(give_back(1, 2))
        .then_expect_events(vec![returned(1, 2)]);
    let item = replay(vec![
        received(5),
        reserved(1, 2, 9),
        committed(1, 2),
        returned(1, 2),
    ]);
    assert_eq!((item.on_hand(), item.available()), (5, 5));
    StockTest::with(())
        .given(vec![received(5), returned(1, 2)])
        .when(give_back(1, 2))
        .then_expect_events(vec![]);
}

#[test]
fn a_return_id_used_for_another_quantity_is_refused() {
    StockTest::with(())
        .given(vec![received(5), returned(1, 2)])
        .when(give_back(1, 3))
        .then_expect_error(InventoryError::ReturnMismatch {
            return_id: return_id(1),
            recorded: 2,
            requested: 3,
        });
}

#[test]
fn nothing_comes_back_to_an_item_never_stocked_or_of_another_sku() {
    StockTest::with(())
        .given_no_previous_events()
        .when(give_back(1, 1))
        .then_expect_error(InventoryError::NothingToReturnTo { sku: sku() });
    StockTest::with(())
        .given(vec![received(5)])
        .when(StockCommand::ReturnStock {
            sku: other_sku(),
            return_id: return_id(1),
            quantity: qty(1),
        })
        .then_expect_error(sku_mismatch());
}

#[test]
fn a_return_never_takes_stock_over_the_limit() {
    let limit = u32::try_from(MAX_ON_HAND).unwrap();
    StockTest::with(())
        .given(vec![received(limit)])
        .when(give_back(1, 1))
        .then_expect_error(InventoryError::TooMuchStock {
            on_hand: MAX_ON_HAND,
            adding: 1,
            max: MAX_ON_HAND,
        });
}

#[test]
fn the_return_event_has_a_stable_name() {
    assert_eq!(returned(1, 1).event_type(), "StockReturned");
    assert_eq!(returned(1, 1).event_version(), "2");
}
