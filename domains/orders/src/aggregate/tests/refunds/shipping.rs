//! Given/when/then specifications of refunding an order's shipping: a refund of lines gives
//! none back unless asked, all of it or part of it, beside lines or alone, and never more
//! than the order's refunds have left of it.
//!
//! The shipped order: the standard lines (60.80) shipped for 4.90, 65.70 EUR paid.

use super::*;

/// The standard order, shipped for 4.90 and paid, with `more` after it.
fn shipped_with(more: Vec<OrderEvent>) -> Vec<OrderEvent> {
    let mut history = order_test()
        .given_no_previous_events()
        .when(place_shipping(eur("4.90")))
        .inspect_result()
        .unwrap();
    history.push(OrderEvent::OrderPaid {
        payment_id: payment(7),
        amount: eur("65.70"),
    });
    history.extend(more);
    history
}

fn ask(n: u128, items: RefundItems, shipping: ShippingRefund, restock: bool) -> OrderCommand {
    match request(n, items, restock) {
        OrderCommand::RequestRefund {
            refund_id,
            items,
            restock,
            reason,
            origin,
            ..
        } => OrderCommand::RequestRefund {
            refund_id,
            items,
            shipping,
            restock,
            reason,
            origin,
        },
        other => other,
    }
}

fn shipping_of(amount: &str) -> ShippingRefund {
    ShippingRefund::Amount(eur(amount))
}

fn no_lines() -> RefundItems {
    lines(&[])
}

/// Refund `n` as the order records it, with `shipping` of its `amount` for shipping.
fn requested_with_shipping(
    n: u128,
    amount: &str,
    parts: Vec<RefundLineData>,
    shipping: &str,
    restock: bool,
) -> OrderEvent {
    match requested(n, amount, parts, restock) {
        OrderEvent::OrderRefundRequested {
            refund_id,
            amount,
            lines,
            restock,
            reason,
            origin,
            ..
        } => OrderEvent::OrderRefundRequested {
            refund_id,
            amount,
            lines,
            shipping: eur(shipping),
            restock,
            reason,
            origin,
        },
        other => other,
    }
}

#[test]
fn a_refund_of_lines_gives_no_shipping_back_unless_asked() {
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(1, lines(&[("TEE-M", 1)]), ShippingRefund::None, true))
        .then_expect_events(vec![requested(
            1,
            "21.00",
            vec![part("TEE-M", 1, "21.00")],
            true,
        )]);
}

#[test]
fn a_full_shipping_refund_beside_lines_adds_all_the_shipping_to_the_refund() {
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(1, lines(&[("TEE-M", 1)]), ShippingRefund::Full, true))
        .then_expect_events(vec![requested_with_shipping(
            1,
            "25.90",
            vec![part("TEE-M", 1, "21.00")],
            "4.90",
            true,
        )]);
}

#[test]
fn a_refund_of_shipping_alone_gives_back_part_of_it() {
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(1, no_lines(), shipping_of("2.50"), false))
        .then_expect_events(vec![requested_with_shipping(
            1,
            "2.50",
            vec![],
            "2.50",
            false,
        )]);
}

#[test]
fn a_full_shipping_refund_takes_only_what_earlier_refunds_left_of_it() {
    order_test()
        .given(shipped_with(vec![requested_with_shipping(
            1,
            "2.50",
            vec![],
            "2.50",
            false,
        )]))
        .when(ask(2, no_lines(), ShippingRefund::Full, false))
        .then_expect_events(vec![requested_with_shipping(
            2,
            "2.40",
            vec![],
            "2.40",
            false,
        )]);
}

#[test]
fn more_shipping_than_is_left_is_refused() {
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(1, lines(&[("TEE-M", 1)]), shipping_of("4.91"), false))
        .then_expect_error(OrderError::ShippingOverRefund {
            requested: eur("4.91"),
            refundable: eur("4.90"),
        });
    order_test()
        .given(shipped_with(vec![
            requested_with_shipping(1, "2.50", vec![], "2.50", false),
            refunded(1, "2.50", "2.50"),
        ]))
        .when(ask(2, no_lines(), shipping_of("2.41"), false))
        .then_expect_error(OrderError::ShippingOverRefund {
            requested: eur("2.41"),
            refundable: eur("2.40"),
        });
}

#[test]
fn shipping_of_a_released_refund_can_be_refunded_again() {
    order_test()
        .given(shipped_with(vec![
            requested_with_shipping(1, "4.90", vec![], "4.90", false),
            released(1),
        ]))
        .when(ask(2, no_lines(), shipping_of("4.90"), false))
        .then_expect_events(vec![requested_with_shipping(
            2,
            "4.90",
            vec![],
            "4.90",
            false,
        )]);
}

#[test]
fn a_refund_of_shipping_alone_with_none_left_is_refused() {
    // All of it refunded already, or none charged.
    order_test()
        .given(shipped_with(vec![requested_with_shipping(
            1,
            "4.90",
            vec![],
            "4.90",
            false,
        )]))
        .when(ask(2, no_lines(), ShippingRefund::Full, false))
        .then_expect_error(OrderError::NoShippingToRefund);
    order_test()
        .given(paid_history())
        .when(ask(1, no_lines(), ShippingRefund::Full, false))
        .then_expect_error(OrderError::NoShippingToRefund);
}

#[test]
fn a_full_shipping_refund_beside_lines_with_none_left_refunds_the_lines() {
    order_test()
        .given(shipped_with(vec![requested_with_shipping(
            1,
            "4.90",
            vec![],
            "4.90",
            false,
        )]))
        .when(ask(2, lines(&[("TEE-M", 1)]), ShippingRefund::Full, true))
        .then_expect_events(vec![requested(
            2,
            "21.00",
            vec![part("TEE-M", 1, "21.00")],
            true,
        )]);
}

#[test]
fn bad_shipping_amounts_are_refused() {
    let amount = |raw: &str| raw.parse::<rust_decimal::Decimal>().unwrap();
    for (shipping, reason) in [
        ("-1.00", "must be greater than zero"),
        ("0.00", "must be greater than zero"),
        ("1.005", "EUR amounts have at most 2 decimal places"),
    ] {
        order_test()
            .given(shipped_with(vec![]))
            .when(ask(
                1,
                no_lines(),
                ShippingRefund::Amount(Money::new(amount(shipping), Currency::EUR)),
                false,
            ))
            .then_expect_error(OrderError::InvalidShippingRefund {
                reason: reason.into(),
            });
    }
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(
            1,
            no_lines(),
            ShippingRefund::Amount(Money::new(amount("1.00"), Currency::USD)),
            false,
        ))
        .then_expect_error(OrderError::RefundCurrencyMismatch {
            order: Currency::EUR,
            requested: Currency::USD,
        });
}

#[test]
fn shipping_cannot_be_asked_beside_an_amount() {
    for shipping in [ShippingRefund::Full, shipping_of("1.00")] {
        order_test()
            .given(shipped_with(vec![]))
            .when(ask(1, RefundItems::Amount(eur("5.00")), shipping, false))
            .then_expect_error(OrderError::ShippingWithAmount);
    }
}

#[test]
fn an_amount_is_spread_over_the_lines_and_the_shipping_left() {
    // 6.57 over 39.80, 21.00 and 4.90 (65.70): 3.98, 2.10 and 0.49.
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(
            1,
            RefundItems::Amount(eur("6.57")),
            ShippingRefund::None,
            false,
        ))
        .then_expect_events(vec![requested_with_shipping(
            1,
            "6.57",
            vec![part("TEE-S", 0, "3.98"), part("TEE-M", 0, "2.10")],
            "0.49",
            false,
        )]);
}

#[test]
fn a_refund_of_shipping_alone_cannot_restock() {
    order_test()
        .given(shipped_with(vec![]))
        .when(ask(1, no_lines(), ShippingRefund::Full, true))
        .then_expect_error(OrderError::RestockWithoutLines);
}

#[test]
fn repeating_a_shipping_refund_changes_nothing_and_other_shipping_under_its_id_is_refused() {
    let history = shipped_with(vec![
        requested_with_shipping(1, "2.50", vec![], "2.50", false),
        requested_with_shipping(2, "23.40", vec![part("TEE-M", 1, "21.00")], "2.40", true),
    ]);
    for repeat in [
        ask(1, no_lines(), shipping_of("2.50"), false),
        // What the other refunds left when it was asked for.
        ask(2, lines(&[("TEE-M", 1)]), ShippingRefund::Full, true),
        ask(2, lines(&[("TEE-M", 1)]), shipping_of("2.40"), true),
    ] {
        order_test()
            .given(history.clone())
            .when(repeat)
            .then_expect_events(vec![]);
    }
    for (n, other) in [
        (1, ask(1, no_lines(), shipping_of("2.00"), false)),
        (
            1,
            ask(1, lines(&[("TEE-S", 1)]), shipping_of("2.50"), false),
        ),
        (
            2,
            ask(2, lines(&[("TEE-M", 1)]), ShippingRefund::None, true),
        ),
    ] {
        order_test()
            .given(history.clone())
            .when(other)
            .then_expect_error(OrderError::RefundIdReused {
                refund_id: refund(n),
            });
    }
}

#[test]
fn cancelling_gives_back_the_shipping_earlier_refunds_left() {
    order_test()
        .given(shipped_with(vec![
            requested_with_shipping(1, "2.50", vec![], "2.50", false),
            refunded(1, "2.50", "2.50"),
        ]))
        .when(cancel("Customer asked"))
        .then_expect_events(vec![
            cancelled(true),
            OrderEvent::OrderRefundRequested {
                refund_id: crate::refunds::cancellation_refund_id(order_id()),
                amount: eur("63.20"),
                lines: vec![part("TEE-S", 2, "39.80"), part("TEE-M", 1, "21.00")],
                shipping: eur("2.40"),
                restock: true,
                reason: "Customer asked".into(),
                origin: RefundOrigin::Cancellation,
            },
        ]);
}
