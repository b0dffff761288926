//! Given/when/then specifications of the order's refundable balance (ADR 0018).
//!
//! The standard order: two TEE-S at 19.90 (39.80) and one TEE-M at 21.00, 60.80 EUR paid.

use shared_kernel::RefundId;

use super::*;
use crate::events::RefundLineData;
use crate::refunds::{
    FinancialStatus, RefundItems, RefundLineRequest, RefundOrigin, ShippingRefund, MAX_REFUNDS,
};

fn refund(n: u128) -> RefundId {
    RefundId::from_uuid(Uuid::from_u128(0xEF00 + n))
}

fn lines(wanted: &[(&str, u32)]) -> RefundItems {
    RefundItems::Lines(
        wanted
            .iter()
            .map(|(raw, n)| RefundLineRequest {
                sku: sku(raw),
                quantity: qty(*n),
            })
            .collect(),
    )
}

fn request(n: u128, items: RefundItems, restock: bool) -> OrderCommand {
    OrderCommand::RequestRefund {
        refund_id: refund(n),
        items,
        shipping: ShippingRefund::None,
        restock,
        reason: "Damaged in transit".into(),
        origin: RefundOrigin::Admin,
    }
}

fn part(raw: &str, quantity: u32, amount: &str) -> RefundLineData {
    RefundLineData {
        sku: raw.into(),
        quantity,
        amount: eur(amount),
    }
}

fn requested(n: u128, amount: &str, parts: Vec<RefundLineData>, restock: bool) -> OrderEvent {
    OrderEvent::OrderRefundRequested {
        refund_id: refund(n),
        amount: eur(amount),
        lines: parts,
        shipping: eur("0.00"),
        restock,
        reason: "Damaged in transit".into(),
        origin: RefundOrigin::Admin,
    }
}

fn refunded(n: u128, amount: &str, total: &str) -> OrderEvent {
    OrderEvent::OrderRefunded {
        refund_id: refund(n),
        amount: eur(amount),
        total_refunded: eur(total),
    }
}

fn released(n: u128) -> OrderEvent {
    OrderEvent::OrderRefundReleased {
        refund_id: refund(n),
        reason: "Card account closed".into(),
    }
}

fn record(n: u128) -> OrderCommand {
    OrderCommand::RecordRefund {
        refund_id: refund(n),
    }
}

fn release(n: u128) -> OrderCommand {
    OrderCommand::ReleaseRefund {
        refund_id: refund(n),
        reason: "Card account closed".into(),
    }
}

/// The paid order with `more` after it.
fn paid_with(more: Vec<OrderEvent>) -> Vec<OrderEvent> {
    let mut history = paid_history();
    history.extend(more);
    history
}

// --- RequestRefund: lines ---

#[test]
fn a_refund_of_lines_sets_aside_their_units_at_the_price_paid() {
    order_test()
        .given(paid_history())
        .when(request(1, lines(&[("TEE-S", 1)]), true))
        .then_expect_events(vec![requested(
            1,
            "19.90",
            vec![part("TEE-S", 1, "19.90")],
            true,
        )]);
}

#[test]
fn refunded_lines_follow_the_orders_line_order_whatever_order_they_were_asked_in() {
    order_test()
        .given(paid_history())
        .when(request(1, lines(&[("TEE-M", 1), ("TEE-S", 2)]), false))
        .then_expect_events(vec![requested(
            1,
            "60.80",
            vec![part("TEE-S", 2, "39.80"), part("TEE-M", 1, "21.00")],
            false,
        )]);
}

#[test]
fn a_refund_of_lines_is_allowed_after_fulfilment_and_completion() {
    for history in [fulfilled_history(), completed_history()] {
        order_test()
            .given(history)
            .when(request(1, lines(&[("TEE-M", 1)]), true))
            .then_expect_events(vec![requested(
                1,
                "21.00",
                vec![part("TEE-M", 1, "21.00")],
                true,
            )]);
    }
}

#[test]
fn more_units_than_are_left_are_refused() {
    order_test()
        .given(paid_history())
        .when(request(1, lines(&[("TEE-S", 3)]), true))
        .then_expect_error(OrderError::TooManyUnits {
            sku: sku("TEE-S"),
            requested: 3,
            refundable: 2,
        });
    order_test()
        .given(paid_with(vec![requested(
            1,
            "19.90",
            vec![part("TEE-S", 1, "19.90")],
            true,
        )]))
        .when(request(2, lines(&[("TEE-S", 2)]), true))
        .then_expect_error(OrderError::TooManyUnits {
            sku: sku("TEE-S"),
            requested: 2,
            refundable: 1,
        });
}

#[test]
fn units_of_a_released_refund_can_be_refunded_again() {
    order_test()
        .given(paid_with(vec![
            requested(1, "39.80", vec![part("TEE-S", 2, "39.80")], true),
            released(1),
        ]))
        .when(request(2, lines(&[("TEE-S", 2)]), true))
        .then_expect_events(vec![requested(
            2,
            "39.80",
            vec![part("TEE-S", 2, "39.80")],
            true,
        )]);
}

#[test]
fn unknown_duplicate_and_missing_lines_are_refused() {
    order_test()
        .given(paid_history())
        .when(request(1, lines(&[("TEE-XL", 1)]), true))
        .then_expect_error(OrderError::UnknownLine { sku: sku("TEE-XL") });
    order_test()
        .given(paid_history())
        .when(request(1, lines(&[("TEE-S", 1), ("TEE-S", 1)]), true))
        .then_expect_error(OrderError::DuplicateRefundLine { sku: sku("TEE-S") });
    order_test()
        .given(paid_history())
        .when(request(1, lines(&[]), true))
        .then_expect_error(OrderError::NoRefundLines);
}

#[test]
fn a_line_gives_back_only_what_earlier_refunds_left_of_its_total() {
    // 60.00 over 39.80 and 21.00: 39.28 and 20.72, so 0.28 is left of TEE-M.
    order_test()
        .given(paid_history())
        .when(request(1, RefundItems::Amount(eur("60.00")), false))
        .then_expect_events(vec![requested(
            1,
            "60.00",
            vec![part("TEE-S", 0, "39.28"), part("TEE-M", 0, "20.72")],
            false,
        )]);
    order_test()
        .given(paid_with(vec![requested(
            1,
            "60.00",
            vec![part("TEE-S", 0, "39.28"), part("TEE-M", 0, "20.72")],
            false,
        )]))
        .when(request(2, lines(&[("TEE-M", 1)]), true))
        .then_expect_events(vec![requested(
            2,
            "0.28",
            vec![part("TEE-M", 1, "0.28")],
            true,
        )]);
}

// --- RequestRefund: amounts ---

#[test]
fn an_amount_is_allocated_across_the_lines_to_the_cent() {
    // Shares of 10.00: 6.546.. and 3.453..; the extra cent goes to the larger remainder.
    order_test()
        .given(paid_history())
        .when(request(1, RefundItems::Amount(eur("10")), false))
        .then_expect_events(vec![requested(
            1,
            "10.00",
            vec![part("TEE-S", 0, "6.55"), part("TEE-M", 0, "3.45")],
            false,
        )]);
}

#[test]
fn an_amount_over_what_is_left_is_refused() {
    order_test()
        .given(paid_history())
        .when(request(1, RefundItems::Amount(eur("60.81")), false))
        .then_expect_error(OrderError::OverRefund {
            requested: eur("60.81"),
            refundable: eur("60.80"),
        });
    let after_fifty = paid_with(vec![requested(
        1,
        "50.00",
        vec![part("TEE-S", 0, "32.73"), part("TEE-M", 0, "17.27")],
        false,
    )]);
    order_test()
        .given(after_fifty.clone())
        .when(request(2, RefundItems::Amount(eur("10.81")), false))
        .then_expect_error(OrderError::OverRefund {
            requested: eur("10.81"),
            refundable: eur("10.80"),
        });
    order_test()
        .given(after_fifty)
        .when(request(2, RefundItems::Amount(eur("10.80")), false))
        .then_expect_events(vec![requested(
            2,
            "10.80",
            vec![part("TEE-S", 0, "7.07"), part("TEE-M", 0, "3.73")],
            false,
        )]);
}

#[test]
fn refunded_money_is_no_longer_refundable_and_released_money_is_again() {
    let refund_of = |n, amount| {
        requested(
            n,
            amount,
            vec![part("TEE-S", 0, "39.80"), part("TEE-M", 0, "21.00")],
            false,
        )
    };
    order_test()
        .given(paid_with(vec![
            refund_of(1, "60.80"),
            refunded(1, "60.80", "60.80"),
        ]))
        .when(request(2, RefundItems::Amount(eur("0.01")), false))
        .then_expect_error(OrderError::OverRefund {
            requested: eur("0.01"),
            refundable: eur("0.00"),
        });
    order_test()
        .given(paid_with(vec![refund_of(1, "60.80"), released(1)]))
        .when(request(2, RefundItems::Amount(eur("60.80")), false))
        .then_expect_events(vec![refund_of(2, "60.80")]);
}

#[test]
fn bad_amounts_are_refused() {
    let cases = [
        (
            Money::parse("5.00", "USD").unwrap(),
            OrderError::RefundCurrencyMismatch {
                order: Currency::EUR,
                requested: Currency::USD,
            },
        ),
        (
            eur("0"),
            OrderError::InvalidRefundAmount {
                reason: "must be greater than zero".into(),
            },
        ),
        (
            eur("-1.00"),
            OrderError::InvalidRefundAmount {
                reason: "must be greater than zero".into(),
            },
        ),
        (
            eur("1.001"),
            OrderError::InvalidRefundAmount {
                reason: "EUR amounts have at most 2 decimal places".into(),
            },
        ),
    ];
    for (amount, error) in cases {
        order_test()
            .given(paid_history())
            .when(request(1, RefundItems::Amount(amount), false))
            .then_expect_error(error);
    }
}

#[test]
fn an_amount_cannot_restock() {
    order_test()
        .given(paid_history())
        .when(request(1, RefundItems::Amount(eur("5.00")), true))
        .then_expect_error(OrderError::RestockWithoutLines);
}

// --- RequestRefund: who may, and repeats ---

#[test]
fn only_a_paid_order_that_is_not_cancelled_can_be_refunded() {
    order_test()
        .given_no_previous_events()
        .when(request(1, lines(&[("TEE-S", 1)]), true))
        .then_expect_error(OrderError::NotFound);
    order_test()
        .given(placed_history())
        .when(request(1, lines(&[("TEE-S", 1)]), true))
        .then_expect_error(OrderError::NotPaid);
    order_test()
        .given(cancelled_history())
        .when(request(1, lines(&[("TEE-S", 1)]), true))
        .then_expect_error(not_allowed(OrderStatus::Cancelled, "RequestRefund"));
    order_test()
        .given(paid_with(vec![cancelled(true)]))
        .when(request(1, RefundItems::Amount(eur("1.00")), false))
        .then_expect_error(not_allowed(OrderStatus::Cancelled, "RequestRefund"));
}

#[test]
fn a_refund_needs_a_reason() {
    order_test()
        .given(paid_history())
        .when(OrderCommand::RequestRefund {
            refund_id: refund(1),
            items: lines(&[("TEE-S", 1)]),
            shipping: ShippingRefund::None,
            restock: true,
            reason: "  ".into(),
            origin: RefundOrigin::Admin,
        })
        .then_expect_error(OrderError::InvalidReason {
            reason: "must not be empty".into(),
        });
}

#[test]
fn repeating_a_request_changes_nothing_and_reusing_its_id_for_another_is_refused() {
    let history = paid_with(vec![requested(
        1,
        "19.90",
        vec![part("TEE-S", 1, "19.90")],
        true,
    )]);
    order_test()
        .given(history.clone())
        .when(request(1, lines(&[("TEE-S", 1)]), true))
        .then_expect_events(vec![]);
    for other in [
        request(1, lines(&[("TEE-S", 2)]), true),
        request(1, lines(&[("TEE-S", 1)]), false),
        request(1, RefundItems::Amount(eur("19.90")), false),
    ] {
        order_test()
            .given(history.clone())
            .when(other)
            .then_expect_error(OrderError::RefundIdReused {
                refund_id: refund(1),
            });
    }
    // An amount refund repeats even though what is left of the lines changed since.
    order_test()
        .given(paid_with(vec![
            requested(
                1,
                "10.00",
                vec![part("TEE-S", 0, "6.55"), part("TEE-M", 0, "3.45")],
                false,
            ),
            requested(2, "19.90", vec![part("TEE-S", 1, "19.90")], true),
        ]))
        .when(request(1, RefundItems::Amount(eur("10.00")), false))
        .then_expect_events(vec![]);
}

#[test]
fn an_order_holds_at_most_a_hundred_refunds() {
    let mut history = paid_history();
    for n in 0..MAX_REFUNDS as u128 {
        history.push(requested(n, "0.01", vec![part("TEE-S", 0, "0.01")], false));
        history.push(released(n));
    }
    order_test()
        .given(history)
        .when(request(500, RefundItems::Amount(eur("0.01")), false))
        .then_expect_error(OrderError::TooManyRefunds { max: MAX_REFUNDS });
}

// --- RecordRefund and ReleaseRefund ---

#[test]
fn recording_a_refund_adds_it_to_the_refunded_total() {
    let history = paid_with(vec![
        requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true),
        refunded(1, "19.90", "19.90"),
        requested(2, "21.00", vec![part("TEE-M", 1, "21.00")], true),
    ]);
    order_test()
        .given(history.clone())
        .when(record(2))
        .then_expect_events(vec![refunded(2, "21.00", "40.90")]);
    order_test()
        .given(history)
        .when(record(1))
        .then_expect_events(vec![]);
}

#[test]
fn releasing_a_refund_says_why_and_only_once() {
    let history = paid_with(vec![requested(
        1,
        "19.90",
        vec![part("TEE-S", 1, "19.90")],
        true,
    )]);
    order_test()
        .given(history.clone())
        .when(release(1))
        .then_expect_events(vec![released(1)]);
    let mut released_history = history;
    released_history.push(released(1));
    order_test()
        .given(released_history)
        .when(release(1))
        .then_expect_events(vec![]);
}

#[test]
fn a_refund_settled_one_way_cannot_be_settled_the_other() {
    let asked = requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true);
    order_test()
        .given(paid_with(vec![asked.clone(), released(1)]))
        .when(record(1))
        .then_expect_error(OrderError::RefundSettled {
            refund_id: refund(1),
            state: "released",
            action: "recorded",
        });
    order_test()
        .given(paid_with(vec![asked, refunded(1, "19.90", "19.90")]))
        .when(release(1))
        .then_expect_error(OrderError::RefundSettled {
            refund_id: refund(1),
            state: "refunded",
            action: "released",
        });
}

#[test]
fn settling_an_unknown_refund_is_refused() {
    for command in [record(9), release(9)] {
        order_test()
            .given(paid_history())
            .when(command)
            .then_expect_error(OrderError::RefundNotFound {
                refund_id: refund(9),
            });
    }
}

#[test]
fn refunds_in_flight_are_settled_even_after_the_order_is_cancelled() {
    let history = paid_with(vec![
        requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true),
        cancelled(true),
    ]);
    order_test()
        .given(history.clone())
        .when(record(1))
        .then_expect_events(vec![refunded(1, "19.90", "19.90")]);
    order_test()
        .given(history)
        .when(release(1))
        .then_expect_events(vec![released(1)]);
}

#[test]
fn a_release_needs_a_reason() {
    order_test()
        .given(paid_with(vec![requested(
            1,
            "19.90",
            vec![part("TEE-S", 1, "19.90")],
            true,
        )]))
        .when(OrderCommand::ReleaseRefund {
            refund_id: refund(1),
            reason: String::new(),
        })
        .then_expect_error(OrderError::InvalidReason {
            reason: "must not be empty".into(),
        });
}

// --- What the order shows ---

#[test]
fn the_financial_status_follows_the_money_given_back() {
    assert_eq!(replay(placed_history()).financial_status(), None);
    assert_eq!(replay(placed_history()).refunded_total(), None);
    let paid_order = replay(paid_history());
    assert_eq!(paid_order.paid(), Some(eur("60.80")));
    assert_eq!(paid_order.financial_status(), Some(FinancialStatus::Paid));

    let asked = requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true);
    let requested_only = replay(paid_with(vec![asked.clone()]));
    // Set aside is not given back yet.
    assert_eq!(
        requested_only.financial_status(),
        Some(FinancialStatus::Paid)
    );
    assert_eq!(requested_only.refunded_total(), Some(eur("0.00")));

    let partly = replay(paid_with(vec![
        asked.clone(),
        refunded(1, "19.90", "19.90"),
    ]));
    assert_eq!(
        partly.financial_status(),
        Some(FinancialStatus::PartiallyRefunded)
    );
    assert_eq!(partly.refunded_total(), Some(eur("19.90")));
    let refund = partly.refund(refund(1)).unwrap();
    assert_eq!(refund.state(), crate::refunds::OrderRefundState::Refunded);
    assert_eq!(refund.lines()[0].quantity(), 1);
    assert!(refund.restock());

    let all = replay(paid_with(vec![
        asked,
        refunded(1, "19.90", "19.90"),
        requested(
            2,
            "40.90",
            vec![part("TEE-S", 1, "19.90"), part("TEE-M", 1, "21.00")],
            true,
        ),
        refunded(2, "40.90", "60.80"),
    ]));
    assert_eq!(all.financial_status(), Some(FinancialStatus::Refunded));
    assert_eq!(all.refunds().len(), 2);
}

#[test]
fn a_released_refund_keeps_why() {
    let order = replay(paid_with(vec![
        requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true),
        released(1),
    ]));
    let refund = order.refund(refund(1)).unwrap();
    assert_eq!(refund.state(), crate::refunds::OrderRefundState::Released);
    assert_eq!(refund.released_because(), Some("Card account closed"));
}

#[test]
fn refund_events_have_stable_type_names_version_two_and_plain_payloads() {
    let cases = [
        (
            requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true),
            "OrderRefundRequested",
        ),
        (refunded(1, "19.90", "19.90"), "OrderRefunded"),
        (released(1), "OrderRefundReleased"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<OrderEvent>(&json).unwrap(), event);
    }
    let json =
        serde_json::to_value(requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true)).unwrap();
    let payload = &json["OrderRefundRequested"];
    assert_eq!(payload["origin"], "admin");
    assert_eq!(payload["lines"][0]["amount"]["amount"], "19.90");
    assert_eq!(payload["lines"][0]["quantity"], 1);
}

// --- Cancelling a paid order ---

fn cancellation_refund(amount: &str, parts: Vec<RefundLineData>) -> OrderEvent {
    OrderEvent::OrderRefundRequested {
        refund_id: crate::refunds::cancellation_refund_id(order_id()),
        amount: eur(amount),
        lines: parts,
        shipping: eur("0.00"),
        restock: true,
        reason: "Customer asked".into(),
        origin: RefundOrigin::Cancellation,
    }
}

#[test]
fn cancelling_after_a_partial_refund_refunds_what_is_left() {
    // 10.00 of money only (6.55 + 3.45), then one TEE-S returned: left are one TEE-S with
    // 39.80 - 6.55 - 19.90 = 13.35 and the TEE-M with 21.00 - 3.45 = 17.55.
    order_test()
        .given(paid_with(vec![
            requested(
                1,
                "10.00",
                vec![part("TEE-S", 0, "6.55"), part("TEE-M", 0, "3.45")],
                false,
            ),
            refunded(1, "10.00", "10.00"),
            requested(2, "19.90", vec![part("TEE-S", 1, "19.90")], true),
        ]))
        .when(cancel("Customer asked"))
        .then_expect_events(vec![
            cancelled(true),
            cancellation_refund(
                "30.90",
                vec![part("TEE-S", 1, "13.35"), part("TEE-M", 1, "17.55")],
            ),
        ]);
}

#[test]
fn cancelling_a_fully_refunded_order_refunds_nothing_more() {
    order_test()
        .given(paid_with(vec![
            requested(
                1,
                "60.80",
                vec![part("TEE-S", 2, "39.80"), part("TEE-M", 1, "21.00")],
                true,
            ),
            refunded(1, "60.80", "60.80"),
        ]))
        .when(cancel("Customer asked"))
        .then_expect_events(vec![cancelled(true)]);
}

#[test]
fn a_released_refund_is_refunded_again_by_the_cancellation() {
    order_test()
        .given(paid_with(vec![
            requested(1, "19.90", vec![part("TEE-S", 1, "19.90")], true),
            released(1),
        ]))
        .when(cancel("Customer asked"))
        .then_expect_events(vec![
            cancelled(true),
            cancellation_refund(
                "60.80",
                vec![part("TEE-S", 2, "39.80"), part("TEE-M", 1, "21.00")],
            ),
        ]);
}

#[test]
fn cancelling_an_unpaid_order_refunds_nothing() {
    order_test()
        .given(placed_history())
        .when(cancel("Customer asked"))
        .then_expect_events(vec![cancelled(false)]);
}

// --- An order placed with a promotion code ---

/// Three TEE-S at 10.00 with 1.00 off (a third of a euro a unit, which does not split into
/// cents), and one TEE-M at 21.00 with 2.10 off: 51.00 - 3.10 = 47.90 EUR paid.
fn discounted_order() -> Vec<OrderEvent> {
    let mut place = place(vec![
        NewOrderLine {
            discount: eur("1.00"),
            ..new_line("TEE-S", 3, eur("10.00"))
        },
        NewOrderLine {
            discount: eur("2.10"),
            ..new_line("TEE-M", 1, eur("21.00"))
        },
    ]);
    if let OrderCommand::PlaceOrder { promotion_code, .. } = &mut place {
        *promotion_code = Some("SPRING".into());
    }
    let mut placed = order_test()
        .given_no_previous_events()
        .when(place)
        .inspect_result()
        .unwrap();
    placed.push(OrderEvent::OrderPaid {
        payment_id: payment(7),
        amount: eur("47.90"),
    });
    placed
}

#[test]
fn an_order_with_a_code_records_the_discount_and_charges_the_rest() {
    let placed = discounted_order();
    let OrderEvent::OrderPlaced {
        subtotal,
        total,
        discount_total,
        promotion_code,
        lines,
        ..
    } = &placed[0]
    else {
        panic!("{placed:?}");
    };
    assert_eq!(*subtotal, eur("51.00"));
    assert_eq!(*discount_total, Some(eur("3.10")));
    assert_eq!(*total, eur("47.90"));
    assert_eq!(promotion_code.as_deref(), Some("SPRING"));
    assert_eq!(lines[0].discount, Some(eur("1.00")));
}

#[test]
fn a_refunded_line_gives_back_what_it_paid_and_its_units_one_by_one_sum_to_it() {
    // A unit's third of 1.00 rounds to 0.33: 9.67 each, the last unit takes what is left.
    order_test()
        .given(discounted_order())
        .when(request(1, lines(&[("TEE-S", 1)]), false))
        .then_expect_events(vec![requested(
            1,
            "9.67",
            vec![part("TEE-S", 1, "9.67")],
            false,
        )]);
    let mut two_taken = discounted_order();
    two_taken.extend([
        requested(1, "9.67", vec![part("TEE-S", 1, "9.67")], false),
        requested(2, "9.67", vec![part("TEE-S", 1, "9.67")], false),
    ]);
    order_test()
        .given(two_taken)
        .when(request(3, lines(&[("TEE-S", 1)]), false))
        .then_expect_events(vec![requested(
            3,
            "9.66",
            vec![part("TEE-S", 1, "9.66")],
            false,
        )]);
    order_test()
        .given(discounted_order())
        .when(request(1, lines(&[("TEE-M", 1)]), false))
        .then_expect_events(vec![requested(
            1,
            "18.90",
            vec![part("TEE-M", 1, "18.90")],
            false,
        )]);
}

#[test]
fn a_discount_that_does_not_fit_its_line_is_refused() {
    for discount in ["-0.01", "30.01", "0.001"] {
        let result = order_test()
            .given_no_previous_events()
            .when(place(vec![NewOrderLine {
                discount: eur(discount),
                ..new_line("TEE-S", 3, eur("10.00"))
            }]))
            .inspect_result();
        assert!(
            matches!(result, Err(OrderError::InvalidDiscount { .. })),
            "{discount}: {result:?}"
        );
    }
}

mod discounted_refunds {
    use proptest::prelude::*;

    use super::*;

    fn money(minor: u64, currency: Currency) -> Money {
        let amount =
            rust_decimal::Decimal::new(i64::try_from(minor).unwrap(), currency.minor_units());
        Money::new(amount, currency)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the currency (0, 2 or 3 minor units), the quantity and the line's share
        /// of a discount, refunding a line unit by unit gives back exactly what it paid,
        /// each part in whole minor units, none negative.
        #[test]
        fn refunding_a_discounted_line_unit_by_unit_gives_back_exactly_what_it_paid(
            currency in prop::sample::select(vec!["JPY", "EUR", "KWD"]),
            quantity in 1u32..=7,
            unit_minor in 1u64..=20_000,
            discount_share in 0u64..=1_000,
        ) {
            let currency = Currency::parse(currency).unwrap();
            let unit_price = money(unit_minor, currency);
            let line_minor = unit_minor * u64::from(quantity);
            let discount = money(line_minor * discount_share / 1_000, currency);
            let paid = Money::new(
                unit_price.amount() * rust_decimal::Decimal::from(quantity) - discount.amount(),
                currency,
            );
            let mut place = OrderCommand::PlaceOrder {
                order_id: order_id(),
                checkout_id: Some(checkout(1)),
                customer_id: Some(customer()),
                email: email(),
                shipping_address: address(),
                currency,
                lines: vec![NewOrderLine {
                    discount,
                    ..new_line("TEE-S", quantity, unit_price)
                }],
                placed_at: placed_at(),
                promotion_code: Some("PROP".into()),
                number: None,
                shipping_total: None,
                tax: None,
            };
            if paid.is_zero() {
                // Nothing was paid, so there is nothing to refund: not this property.
                return Ok(());
            }
            let mut history = order_test()
                .given_no_previous_events()
                .when(std::mem::replace(&mut place, OrderCommand::ErasePersonalData))
                .inspect_result()
                .unwrap();
            history.push(OrderEvent::OrderPaid { payment_id: payment(7), amount: paid });
            let mut given_back = Money::zero(currency);
            for n in 0..quantity {
                let events = order_test()
                    .given(history.clone())
                    .when(request(u128::from(n), lines(&[("TEE-S", 1)]), false))
                    .inspect_result()
                    .unwrap();
                let Some(OrderEvent::OrderRefundRequested { amount, .. }) = events.first() else {
                    panic!("{events:?}");
                };
                prop_assert!(!amount.is_negative(), "{amount}");
                prop_assert!(amount.has_at_most_minor_unit_precision(), "{amount}");
                given_back = given_back.checked_add(amount).unwrap();
                history.extend(events);
            }
            prop_assert_eq!(given_back, paid);
        }
    }
}

mod shipping;
