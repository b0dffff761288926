//! Given/when/then specifications of an order's tax (ADR 0038).
//!
//! The standard lines (two TEE-S at 19.90, one TEE-M at 21.00: 60.80) shipped for 4.90, at
//! 20 %: on top, the lines carry 7.96 and 4.20 and the shipping 0.98 (13.14 in all); included,
//! 6.63, 3.50 and 0.82 (10.95).

use rust_decimal::Decimal;

use super::*;
use crate::commands::{OrderTax, TaxPart};
use crate::events::TaxData;
use crate::refunds::{RefundItems, RefundLineRequest, RefundOrigin};
use shared_kernel::RefundId;

fn part(amount: &str) -> TaxPart {
    TaxPart {
        rate: Decimal::from(20),
        amount: eur(amount),
    }
}

fn twenty_percent(prices_include_tax: bool) -> OrderTax {
    if prices_include_tax {
        OrderTax {
            prices_include_tax,
            lines: vec![part("6.63"), part("3.50")],
            shipping: part("0.82"),
        }
    } else {
        OrderTax {
            prices_include_tax,
            lines: vec![part("7.96"), part("4.20")],
            shipping: part("0.98"),
        }
    }
}

fn place_taxed(tax: OrderTax) -> OrderCommand {
    let mut command = place(standard_lines());
    if let OrderCommand::PlaceOrder {
        shipping_total,
        tax: taxed,
        ..
    } = &mut command
    {
        *shipping_total = Some(eur("4.90"));
        *taxed = Some(tax);
    }
    command
}

fn placed_taxed(tax: OrderTax) -> Result<Vec<OrderEvent>, OrderError> {
    order_test()
        .given_no_previous_events()
        .when(place_taxed(tax))
        .inspect_result()
}

fn placed_event(tax: OrderTax) -> OrderEvent {
    placed_taxed(tax).unwrap().remove(0)
}

fn order_of(events: Vec<OrderEvent>) -> Order {
    let mut order = Order::default();
    for event in events {
        order.apply(event);
    }
    order
}

fn paid_taxed(tax: OrderTax, amount: &str) -> Vec<OrderEvent> {
    vec![
        placed_event(tax),
        OrderEvent::OrderPaid {
            payment_id: payment(7),
            amount: eur(amount),
        },
    ]
}

fn refund_units(sku_raw: &str, units: u32, n: u128) -> OrderCommand {
    OrderCommand::RequestRefund {
        refund_id: RefundId::from_uuid(Uuid::from_u128(0x7A00 + n)),
        items: RefundItems::Lines(vec![RefundLineRequest {
            sku: sku(sku_raw),
            quantity: qty(units),
        }]),
        restock: false,
        reason: "Damaged in transit".into(),
        origin: RefundOrigin::Admin,
        shipping: crate::refunds::ShippingRefund::None,
    }
}

fn requested_amount(events: &[OrderEvent]) -> Money {
    match events {
        [OrderEvent::OrderRefundRequested { amount, .. }] => *amount,
        other => panic!("expected one OrderRefundRequested, got {other:?}"),
    }
}

#[test]
fn tax_on_top_of_the_prices_is_part_of_the_total_and_recorded_per_line() {
    let OrderEvent::OrderPlaced {
        lines,
        total,
        shipping_tax,
        tax_total,
        ..
    } = placed_event(twenty_percent(false))
    else {
        panic!("expected OrderPlaced");
    };
    // 60.80 + 4.90 + 13.14
    assert_eq!(total, eur("78.84"));
    assert_eq!(tax_total, Some(eur("13.14")));
    assert_eq!(
        shipping_tax,
        Some(TaxData {
            rate: Decimal::from(20),
            amount: eur("0.98"),
            included: false
        })
    );
    assert_eq!(lines[0].tax.as_ref().map(|t| t.amount), Some(eur("7.96")));
    let order = order_of(vec![placed_event(twenty_percent(false))]);
    assert_eq!(order.total(), Some(eur("78.84")));
    assert_eq!(order.tax_total(), Some(eur("13.14")));
    assert_eq!(order.lines()[1].paid(), eur("25.20"));
}

#[test]
fn tax_included_in_the_prices_leaves_the_total_as_the_shopper_saw_it() {
    let order = order_of(vec![placed_event(twenty_percent(true))]);
    assert_eq!(order.total(), Some(eur("65.70")));
    assert_eq!(order.tax_total(), Some(eur("10.95")));
    assert_eq!(order.lines()[0].paid(), eur("39.80"));
}

#[test]
fn an_order_without_tax_is_stored_as_before() {
    let stored = serde_json::to_value(placed()).unwrap();
    assert!(stored["OrderPlaced"].get("tax_total").is_none());
    assert!(stored["OrderPlaced"].get("shipping_tax").is_none());
    assert!(stored["OrderPlaced"]["lines"][0].get("tax").is_none());
}

#[test]
fn a_tax_that_does_not_fit_the_order_is_refused() {
    let mut missing_line = twenty_percent(false);
    missing_line.lines.pop();
    let mut negative = twenty_percent(false);
    negative.lines[0] = part("-7.96");
    let mut finer = twenty_percent(false);
    finer.shipping = part("0.985");
    let mut other_currency = twenty_percent(false);
    other_currency.lines[1].amount = Money::parse("4.20", "USD").unwrap();
    // Included in TEE-M's 21.00, 21.01 cannot be.
    let mut above = twenty_percent(true);
    above.lines[1] = part("21.01");
    let mut shipping_above = twenty_percent(true);
    shipping_above.shipping = part("4.91");
    for tax in [
        missing_line,
        negative,
        finer,
        other_currency,
        above,
        shipping_above,
    ] {
        let result = placed_taxed(tax.clone());
        assert!(
            matches!(result, Err(OrderError::InvalidTax { .. })),
            "{tax:?}: {result:?}"
        );
    }
}

#[test]
fn paying_a_taxed_order_takes_its_total_with_the_tax() {
    order_test()
        .given(vec![placed_event(twenty_percent(false))])
        .when(OrderCommand::MarkPaid {
            payment_id: payment(7),
            amount: eur("65.70"),
        })
        .then_expect_error(OrderError::PaymentAmountMismatch {
            expected: eur("78.84"),
            received: eur("65.70"),
        });
}

#[test]
fn a_refunded_unit_brings_back_its_share_of_the_tax_on_top_and_the_last_unit_the_rest() {
    let history = paid_taxed(twenty_percent(false), "78.84");
    let first = order_test()
        .given(history.clone())
        .when(refund_units("TEE-S", 1, 1))
        .inspect_result()
        .unwrap();
    // 19.90 + 7.96 / 2
    assert_eq!(requested_amount(&first), eur("23.88"));
    let mut after_first = history;
    after_first.extend(first);
    let second = order_test()
        .given(after_first)
        .when(refund_units("TEE-S", 1, 2))
        .inspect_result()
        .unwrap();
    assert_eq!(requested_amount(&second), eur("23.88"));
}

#[test]
fn an_odd_tax_share_rounds_half_up_and_the_line_still_adds_up() {
    // Three units taxed 1.01 in all: 0.34 (0.3366...) for one unit, the rest for the last two.
    let mut command = place(vec![new_line("TEE-S", 3, eur("1.68"))]);
    if let OrderCommand::PlaceOrder { tax, .. } = &mut command {
        *tax = Some(OrderTax {
            prices_include_tax: false,
            lines: vec![part("1.01")],
            shipping: part("0.00"),
        });
    }
    let mut history = order_test()
        .given_no_previous_events()
        .when(command)
        .inspect_result()
        .unwrap();
    history.push(OrderEvent::OrderPaid {
        payment_id: payment(7),
        amount: eur("6.05"),
    });
    let one = order_test()
        .given(history.clone())
        .when(refund_units("TEE-S", 1, 1))
        .inspect_result()
        .unwrap();
    assert_eq!(requested_amount(&one), eur("2.02"));
    history.extend(one);
    let rest = order_test()
        .given(history)
        .when(refund_units("TEE-S", 2, 2))
        .inspect_result()
        .unwrap();
    assert_eq!(requested_amount(&rest), eur("4.03"));
}

#[test]
fn tax_included_in_a_price_comes_back_inside_it() {
    let history = paid_taxed(twenty_percent(true), "65.70");
    let events = order_test()
        .given(history)
        .when(refund_units("TEE-M", 1, 1))
        .inspect_result()
        .unwrap();
    assert_eq!(requested_amount(&events), eur("21.00"));
}

#[test]
fn cancelling_a_paid_taxed_order_refunds_everything_with_the_shippings_tax() {
    let events = order_test()
        .given(paid_taxed(twenty_percent(false), "78.84"))
        .when(OrderCommand::CancelOrder {
            reason: "Out of stock at the warehouse".into(),
        })
        .inspect_result()
        .unwrap();
    let refund = events
        .iter()
        .find_map(|event| match event {
            OrderEvent::OrderRefundRequested {
                amount, shipping, ..
            } => Some((*amount, *shipping)),
            _ => None,
        })
        .expect("a refund");
    assert_eq!(refund, (eur("78.84"), eur("5.88")));
}
