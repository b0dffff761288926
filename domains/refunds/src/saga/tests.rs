//! Every branch of the refund saga's decision logic.

use chrono::{TimeZone, Utc};
use cqrs_es::Aggregate;
use shared_kernel::{Money, OrderId, PaymentId, Quantity, RefundId, Sku};
use uuid::Uuid;

use super::*;
use crate::events::{RefundEvent, RestockLineData};
use crate::values::RefundOrigin;

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

fn started(amount: &str, restock: &[(&str, u32)]) -> RefundEvent {
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
        started_at: Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
    }
}

fn refund_after(events: Vec<RefundEvent>) -> Refund {
    let mut refund = Refund::default();
    for event in events {
        refund.apply(event);
    }
    refund
}

fn restock(raw: &str, quantity: u32) -> SagaStep {
    SagaStep::Restock {
        sku: sku(raw),
        restock_id: restock_id(refund_id(), &sku(raw)),
        quantity: Quantity::new(quantity).unwrap(),
    }
}

fn record_on_order() -> SagaStep {
    SagaStep::RecordOnOrder {
        order_id: order_id(),
        refund_id: refund_id(),
    }
}

fn paid_back(amount: &str) -> RefundEvent {
    RefundEvent::PaymentRefunded {
        amount: eur(amount),
    }
}

#[test]
fn nothing_is_due_before_the_start() {
    assert!(next_steps(&Refund::default()).is_empty());
}

#[test]
fn a_started_refund_gives_the_money_back_first() {
    let refund = refund_after(vec![started("39.80", &[("TEE-S", 2)])]);
    assert_eq!(
        next_steps(&refund),
        vec![SagaStep::RefundPayment {
            payment_id: payment_id(),
            refund_id: refund_id(),
            amount: eur("39.80"),
        }]
    );
}

#[test]
fn after_the_money_every_line_is_restocked_then_the_order_told() {
    let refund = refund_after(vec![
        started("60.80", &[("TEE-S", 2), ("TEE-M", 1)]),
        paid_back("60.80"),
    ]);
    assert_eq!(
        next_steps(&refund),
        vec![restock("TEE-S", 2), restock("TEE-M", 1)],
        "the order is told once the units are back"
    );
    let refund = refund_after(vec![
        started("60.80", &[("TEE-S", 2), ("TEE-M", 1)]),
        paid_back("60.80"),
        RefundEvent::Restocked {
            sku: "TEE-S".into(),
            quantity: 2,
        },
        RefundEvent::Restocked {
            sku: "TEE-M".into(),
            quantity: 1,
        },
    ]);
    assert_eq!(next_steps(&refund), vec![record_on_order()]);
}

#[test]
fn steps_already_recorded_are_not_due_again() {
    let refund = refund_after(vec![
        started("60.80", &[("TEE-S", 2), ("TEE-M", 1)]),
        paid_back("60.80"),
        RefundEvent::Restocked {
            sku: "TEE-S".into(),
            quantity: 2,
        },
    ]);
    assert_eq!(next_steps(&refund), vec![restock("TEE-M", 1)]);
    let refund = refund_after(vec![
        started("60.80", &[("TEE-S", 2)]),
        paid_back("60.80"),
        RefundEvent::OrderRefunded {},
    ]);
    assert_eq!(next_steps(&refund), vec![restock("TEE-S", 2)]);
}

#[test]
fn a_refund_without_restock_only_tells_the_order() {
    let refund = refund_after(vec![started("5.00", &[]), paid_back("5.00")]);
    assert_eq!(next_steps(&refund), vec![record_on_order()]);
}

#[test]
fn a_refund_of_units_only_skips_the_payment() {
    let refund = refund_after(vec![started("0.00", &[("TEE-S", 1)])]);
    assert_eq!(next_steps(&refund), vec![restock("TEE-S", 1)]);
}

#[test]
fn a_refusal_releases_what_the_order_set_aside_with_the_reason() {
    let refund = refund_after(vec![
        started("39.80", &[("TEE-S", 2)]),
        RefundEvent::PaymentRefundRefused {
            reason: "card account closed".into(),
        },
    ]);
    assert_eq!(
        next_steps(&refund),
        vec![SagaStep::ReleaseOnOrder {
            order_id: order_id(),
            refund_id: refund_id(),
            reason: "card account closed".into(),
        }]
    );
}

#[test]
fn nothing_is_due_once_completed_or_failed() {
    let completed = refund_after(vec![
        started("5.00", &[]),
        paid_back("5.00"),
        RefundEvent::OrderRefunded {},
        RefundEvent::RefundCompleted {},
    ]);
    assert!(next_steps(&completed).is_empty());
    let failed = refund_after(vec![
        started("5.00", &[]),
        RefundEvent::PaymentRefundRefused {
            reason: "no".into(),
        },
        RefundEvent::OrderReleased {},
        RefundEvent::RefundFailed {
            reason: "no".into(),
        },
    ]);
    assert!(next_steps(&failed).is_empty());
}

#[test]
fn the_list_has_one_pivot_and_names_every_step_and_outcome_once() {
    assert_eq!(
        shared_kernel::saga::shape_problems(&STEPS),
        Vec::<String>::new()
    );
    assert_eq!(
        shared_kernel::saga::shape_problems(&crate::RETURN_STEPS),
        Vec::<String>::new()
    );
}

#[test]
fn every_step_the_saga_returns_is_in_the_list_and_recorded_by_real_commands() {
    let steps = [
        SagaStep::RefundPayment {
            payment_id: payment_id(),
            refund_id: refund_id(),
            amount: eur("1.00"),
        },
        restock("TEE-S", 1),
        record_on_order(),
        SagaStep::ReleaseOnOrder {
            order_id: order_id(),
            refund_id: refund_id(),
            reason: "no".into(),
        },
    ];
    let commands = [
        crate::RefundCommand::RecordPaymentRefunded,
        crate::RefundCommand::RecordPaymentRefundRefused {
            reason: String::new(),
        },
        crate::RefundCommand::RecordRestocked { sku: sku("A") },
        crate::RefundCommand::RecordOrderRefunded,
        crate::RefundCommand::RecordOrderReleased,
    ];
    let command_names: Vec<_> = commands.iter().map(|c| c.name()).collect();
    for step in steps {
        let spec = step.spec();
        assert!(STEPS.contains(spec));
        for outcome in spec.outcomes {
            assert!(command_names.contains(outcome), "{outcome}");
        }
    }
}

#[test]
fn a_refused_refund_gives_up_an_unknown_one_never_and_an_outage_after_an_hour() {
    let started = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    let later = |minutes| started + chrono::Duration::minutes(minutes);
    assert_eq!(
        after_payment_trouble(PaymentTrouble::Refused, started, started),
        AfterTrouble::GiveUp
    );
    assert_eq!(
        after_payment_trouble(PaymentTrouble::OutcomeUnknown, started, later(60 * 24 * 30)),
        AfterTrouble::AskAgain,
        "the provider may have paid: never guessed"
    );
    assert_eq!(
        after_payment_trouble(PaymentTrouble::Unavailable, started, later(59)),
        AfterTrouble::AskAgain
    );
    assert_eq!(
        after_payment_trouble(PaymentTrouble::Unavailable, started, later(60)),
        AfterTrouble::GiveUp
    );
}
