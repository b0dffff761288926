//! Given/when/then specifications of the refund: every command in every status.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use shared_kernel::{Money, OrderId, PaymentId, Quantity, RefundId, Sku};
use uuid::Uuid;

use super::Refund;
use crate::commands::RefundCommand;
use crate::errors::RefundError;
use crate::events::{RefundEvent, RestockLineData};
use crate::values::{RefundOrigin, RefundStatus, RestockLine};

type RefundTest = TestFramework<Refund>;

fn refund_test() -> RefundTest {
    RefundTest::with(())
}

fn refund_id() -> RefundId {
    RefundId::from_uuid(Uuid::from_u128(0xEF01))
}

fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(0x0DE5))
}

fn payment_id() -> PaymentId {
    PaymentId::from_uuid(Uuid::from_u128(0xFA1D))
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
}

fn line(raw: &str, quantity: u32) -> RestockLine {
    RestockLine {
        sku: sku(raw),
        quantity: Quantity::new(quantity).unwrap(),
    }
}

fn start_with(amount: &str, restock: Vec<RestockLine>) -> RefundCommand {
    RefundCommand::StartRefund {
        refund_id: refund_id(),
        order_id: order_id(),
        payment_id: payment_id(),
        amount: eur(amount),
        restock,
        origin: RefundOrigin::Admin,
        started_at: at(),
    }
}

fn start() -> RefundCommand {
    start_with("39.80", vec![line("TEE-S", 2)])
}

fn started_with(amount: &str, restock: &[(&str, u32)]) -> RefundEvent {
    RefundEvent::RefundStarted {
        refund_id: refund_id(),
        order_id: order_id(),
        payment_id: payment_id(),
        amount: eur(amount),
        restock: restock
            .iter()
            .map(|(sku, quantity)| RestockLineData {
                sku: (*sku).into(),
                quantity: *quantity,
            })
            .collect(),
        origin: RefundOrigin::Admin,
        started_at: at(),
    }
}

fn started() -> RefundEvent {
    started_with("39.80", &[("TEE-S", 2)])
}

fn payment_refunded() -> RefundEvent {
    RefundEvent::PaymentRefunded {
        amount: eur("39.80"),
    }
}

fn refused() -> RefundEvent {
    RefundEvent::PaymentRefundRefused {
        reason: "card account closed".into(),
    }
}

fn restocked() -> RefundEvent {
    RefundEvent::Restocked {
        sku: "TEE-S".into(),
        quantity: 2,
    }
}

fn failed() -> RefundEvent {
    RefundEvent::RefundFailed {
        reason: "card account closed".into(),
    }
}

fn record_restocked(raw: &str) -> RefundCommand {
    RefundCommand::RecordRestocked { sku: sku(raw) }
}

fn refuse(reason: &str) -> RefundCommand {
    RefundCommand::RecordPaymentRefundRefused {
        reason: reason.into(),
    }
}

fn not_allowed(status: RefundStatus, command: &'static str) -> RefundError {
    RefundError::NotAllowed { status, command }
}

// Histories leading to each status.

fn refunding() -> Vec<RefundEvent> {
    vec![started()]
}

fn finalizing() -> Vec<RefundEvent> {
    vec![started(), payment_refunded()]
}

fn releasing() -> Vec<RefundEvent> {
    vec![started(), refused()]
}

fn completed() -> Vec<RefundEvent> {
    vec![
        started(),
        payment_refunded(),
        restocked(),
        RefundEvent::OrderRefunded {},
        RefundEvent::RefundCompleted {},
    ]
}

fn failed_history() -> Vec<RefundEvent> {
    vec![
        started(),
        refused(),
        RefundEvent::OrderReleased {},
        failed(),
    ]
}

fn replay(events: Vec<RefundEvent>) -> Refund {
    let mut refund = Refund::default();
    for event in events {
        refund.apply(event);
    }
    refund
}

// --- StartRefund ---

#[test]
fn starting_records_what_the_order_set_aside() {
    refund_test()
        .given_no_previous_events()
        .when(start())
        .then_expect_events(vec![started()]);
    let refund = replay(refunding());
    assert_eq!(refund.status(), Some(RefundStatus::RefundingPayment));
    assert_eq!(refund.amount(), Some(eur("39.80")));
    assert_eq!(refund.origin(), Some(RefundOrigin::Admin));
}

#[test]
fn a_refund_of_nothing_but_units_skips_the_payment() {
    refund_test()
        .given_no_previous_events()
        .when(start_with("0", vec![line("TEE-S", 1)]))
        .then_expect_events(vec![started_with("0.00", &[("TEE-S", 1)])]);
    let refund = replay(vec![started_with("0.00", &[("TEE-S", 1)])]);
    assert_eq!(refund.status(), Some(RefundStatus::Finalizing));
}

#[test]
fn starting_refuses_amounts_it_cannot_pay_and_lines_listed_twice() {
    refund_test()
        .given_no_previous_events()
        .when(start_with("-1.00", vec![]))
        .then_expect_error(RefundError::InvalidAmount {
            reason: "must not be negative".into(),
        });
    refund_test()
        .given_no_previous_events()
        .when(start_with("1.001", vec![]))
        .then_expect_error(RefundError::InvalidAmount {
            reason: "EUR amounts have at most 2 decimal places".into(),
        });
    refund_test()
        .given_no_previous_events()
        .when(start_with("1.00", vec![line("TEE-S", 1), line("TEE-S", 2)]))
        .then_expect_error(RefundError::DuplicateLine { sku: sku("TEE-S") });
}

#[test]
fn starting_again_the_same_way_changes_nothing_in_any_status() {
    for history in [
        refunding(),
        finalizing(),
        releasing(),
        completed(),
        failed_history(),
    ] {
        refund_test()
            .given(history)
            .when(start())
            .then_expect_events(vec![]);
    }
}

#[test]
fn starting_again_differently_is_refused() {
    for other in [
        start_with("39.81", vec![line("TEE-S", 2)]),
        start_with("39.80", vec![line("TEE-S", 1)]),
        start_with("39.80", vec![]),
    ] {
        refund_test()
            .given(refunding())
            .when(other)
            .then_expect_error(RefundError::AlreadyStarted {
                refund_id: refund_id(),
            });
    }
}

#[test]
fn nothing_but_a_start_is_accepted_before_the_start() {
    for command in [
        RefundCommand::RecordPaymentRefunded,
        refuse("no"),
        record_restocked("TEE-S"),
        RefundCommand::RecordOrderRefunded,
        RefundCommand::RecordOrderReleased,
    ] {
        refund_test()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(RefundError::NotFound);
    }
}

// --- The payment (the pivot) ---

#[test]
fn money_going_back_moves_the_refund_on_and_a_repeat_changes_nothing() {
    refund_test()
        .given(refunding())
        .when(RefundCommand::RecordPaymentRefunded)
        .then_expect_events(vec![payment_refunded()]);
    for history in [finalizing(), completed()] {
        refund_test()
            .given(history)
            .when(RefundCommand::RecordPaymentRefunded)
            .then_expect_events(vec![]);
    }
}

#[test]
fn a_refusal_keeps_the_providers_reason_trimmed_and_bounded() {
    refund_test()
        .given(refunding())
        .when(refuse("  card account closed \n"))
        .then_expect_events(vec![refused()]);
    refund_test()
        .given(refunding())
        .when(refuse(""))
        .then_expect_events(vec![RefundEvent::PaymentRefundRefused {
            reason: "refused by the payment provider".into(),
        }]);
    let long = "x".repeat(600);
    refund_test()
        .given(refunding())
        .when(refuse(&long))
        .then_expect_events(vec![RefundEvent::PaymentRefundRefused {
            reason: "x".repeat(500),
        }]);
    for history in [releasing(), failed_history()] {
        refund_test()
            .given(history)
            .when(refuse("again"))
            .then_expect_events(vec![]);
    }
}

#[test]
fn the_opposite_of_what_the_provider_did_is_refused() {
    for (history, status) in [
        (releasing(), RefundStatus::Releasing),
        (failed_history(), RefundStatus::Failed),
    ] {
        refund_test()
            .given(history)
            .when(RefundCommand::RecordPaymentRefunded)
            .then_expect_error(not_allowed(status, "RecordPaymentRefunded"));
    }
    for (history, status) in [
        (finalizing(), RefundStatus::Finalizing),
        (completed(), RefundStatus::Completed),
    ] {
        refund_test()
            .given(history)
            .when(refuse("late"))
            .then_expect_error(not_allowed(status, "RecordPaymentRefundRefused"));
    }
}

// --- After the pivot: restock and record on the order ---

#[test]
fn restocking_and_recording_complete_the_refund_in_either_order() {
    refund_test()
        .given(finalizing())
        .when(record_restocked("TEE-S"))
        .then_expect_events(vec![restocked()]);
    refund_test()
        .given(vec![started(), payment_refunded(), restocked()])
        .when(RefundCommand::RecordOrderRefunded)
        .then_expect_events(vec![
            RefundEvent::OrderRefunded {},
            RefundEvent::RefundCompleted {},
        ]);
    refund_test()
        .given(finalizing())
        .when(RefundCommand::RecordOrderRefunded)
        .then_expect_events(vec![RefundEvent::OrderRefunded {}]);
    refund_test()
        .given(vec![
            started(),
            payment_refunded(),
            RefundEvent::OrderRefunded {},
        ])
        .when(record_restocked("TEE-S"))
        .then_expect_events(vec![restocked(), RefundEvent::RefundCompleted {}]);
}

#[test]
fn a_refund_without_restock_completes_when_the_order_knows() {
    let history = vec![
        started_with("5.00", &[]),
        RefundEvent::PaymentRefunded {
            amount: eur("5.00"),
        },
    ];
    refund_test()
        .given(history)
        .when(RefundCommand::RecordOrderRefunded)
        .then_expect_events(vec![
            RefundEvent::OrderRefunded {},
            RefundEvent::RefundCompleted {},
        ]);
}

#[test]
fn every_line_is_restocked_before_the_refund_completes() {
    let two_lines = || started_with("60.80", &[("TEE-S", 2), ("TEE-M", 1)]);
    let paid_back = RefundEvent::PaymentRefunded {
        amount: eur("60.80"),
    };
    refund_test()
        .given(vec![
            two_lines(),
            paid_back.clone(),
            RefundEvent::OrderRefunded {},
        ])
        .when(record_restocked("TEE-M"))
        .then_expect_events(vec![RefundEvent::Restocked {
            sku: "TEE-M".into(),
            quantity: 1,
        }]);
    refund_test()
        .given(vec![
            two_lines(),
            paid_back,
            RefundEvent::OrderRefunded {},
            RefundEvent::Restocked {
                sku: "TEE-M".into(),
                quantity: 1,
            },
        ])
        .when(record_restocked("TEE-S"))
        .then_expect_events(vec![restocked(), RefundEvent::RefundCompleted {}]);
}

#[test]
fn repeated_outcomes_after_the_pivot_change_nothing() {
    refund_test()
        .given(vec![started(), payment_refunded(), restocked()])
        .when(record_restocked("TEE-S"))
        .then_expect_events(vec![]);
    refund_test()
        .given(vec![
            started(),
            payment_refunded(),
            RefundEvent::OrderRefunded {},
        ])
        .when(RefundCommand::RecordOrderRefunded)
        .then_expect_events(vec![]);
    for command in [
        record_restocked("TEE-S"),
        RefundCommand::RecordOrderRefunded,
    ] {
        refund_test()
            .given(completed())
            .when(command)
            .then_expect_events(vec![]);
    }
}

#[test]
fn a_line_the_refund_does_not_restock_is_refused() {
    refund_test()
        .given(finalizing())
        .when(record_restocked("MUG"))
        .then_expect_error(RefundError::UnknownLine { sku: sku("MUG") });
}

#[test]
fn nothing_is_restocked_or_recorded_before_the_money_went_back_or_after_a_refusal() {
    for (history, status) in [
        (refunding(), RefundStatus::RefundingPayment),
        (releasing(), RefundStatus::Releasing),
        (failed_history(), RefundStatus::Failed),
    ] {
        refund_test()
            .given(history.clone())
            .when(record_restocked("TEE-S"))
            .then_expect_error(not_allowed(status, "RecordRestocked"));
        refund_test()
            .given(history)
            .when(RefundCommand::RecordOrderRefunded)
            .then_expect_error(not_allowed(status, "RecordOrderRefunded"));
    }
}

// --- The compensation ---

#[test]
fn releasing_on_the_order_ends_the_refund_as_failed_with_the_providers_reason() {
    refund_test()
        .given(releasing())
        .when(RefundCommand::RecordOrderReleased)
        .then_expect_events(vec![RefundEvent::OrderReleased {}, failed()]);
    refund_test()
        .given(failed_history())
        .when(RefundCommand::RecordOrderReleased)
        .then_expect_events(vec![]);
    let refund = replay(failed_history());
    assert_eq!(refund.status(), Some(RefundStatus::Failed));
    assert_eq!(refund.failure_reason(), Some("card account closed"));
}

#[test]
fn a_refund_whose_money_went_back_is_never_released() {
    for (history, status) in [
        (refunding(), RefundStatus::RefundingPayment),
        (finalizing(), RefundStatus::Finalizing),
        (completed(), RefundStatus::Completed),
    ] {
        refund_test()
            .given(history)
            .when(RefundCommand::RecordOrderReleased)
            .then_expect_error(not_allowed(status, "RecordOrderReleased"));
    }
}

// --- Stored form ---

#[test]
fn events_have_stable_type_names_version_two_and_survive_json() {
    let cases = [
        (started(), "RefundStarted"),
        (payment_refunded(), "PaymentRefunded"),
        (refused(), "PaymentRefundRefused"),
        (restocked(), "Restocked"),
        (RefundEvent::OrderRefunded {}, "OrderRefunded"),
        (RefundEvent::OrderReleased {}, "OrderReleased"),
        (RefundEvent::RefundCompleted {}, "RefundCompleted"),
        (failed(), "RefundFailed"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<RefundEvent>(&json).unwrap(), event);
    }
}

#[test]
fn every_error_has_its_stable_code() {
    let cases = [
        (RefundError::NotFound, "refund_not_found"),
        (
            RefundError::AlreadyStarted {
                refund_id: refund_id(),
            },
            "refund_already_started",
        ),
        (
            not_allowed(RefundStatus::Failed, "RecordRestocked"),
            "not_allowed",
        ),
        (
            RefundError::InvalidAmount {
                reason: String::new(),
            },
            "invalid_refund_amount",
        ),
        (
            RefundError::DuplicateLine { sku: sku("A") },
            "duplicate_line",
        ),
        (RefundError::UnknownLine { sku: sku("A") }, "unknown_line"),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code);
    }
}
