//! Invoices and credit notes read from an order's history.

use chrono::{TimeZone, Utc};
use cqrs_es::Aggregate;
use shared_kernel::{
    AddressData, CheckoutId, Currency, CustomerId, Money, OrderId, PaymentId, ProductId, Quantity,
    RefundId,
};
use uuid::Uuid;

use super::*;
use crate::events::{OrderEvent, OrderLineData, RefundLineData};
use crate::refunds::RefundOrigin;

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn line(
    sku: &str,
    quantity: u32,
    unit: &str,
    total: &str,
    discount: Option<&str>,
) -> OrderLineData {
    OrderLineData {
        sku: sku.into(),
        product_id: ProductId::from_uuid(Uuid::from_u128(1)),
        title: format!("Title of {sku}"),
        quantity: Quantity::new(quantity).unwrap(),
        unit_price: eur(unit),
        line_total: eur(total),
        discount: discount.map(eur),
        tax: None,
    }
}

fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(0x0D))
}

fn refund_id(n: u128) -> RefundId {
    RefundId::from_uuid(Uuid::from_u128(0xEF00 + n))
}

/// 3 × 10.00 with 1.00 off and 1 × 21.00 with 2.10 off: 47.90 paid, order #1042.
fn placed() -> OrderEvent {
    OrderEvent::OrderPlaced {
        order_id: order_id(),
        checkout_id: Some(CheckoutId::from_uuid(Uuid::from_u128(3))),
        customer_id: Some(CustomerId::from_uuid(Uuid::from_u128(4))),
        email: "ada@example.com".into(),
        shipping_address: AddressData::default(),
        currency: Currency::EUR,
        lines: vec![
            line("TEE-S", 3, "10.00", "30.00", Some("1.00")),
            line("TEE-M", 1, "21.00", "21.00", Some("2.10")),
        ],
        subtotal: eur("51.00"),
        shipping_total: eur("0.00"),
        total: eur("47.90"),
        placed_at: Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap(),
        promotion_code: Some("SPRING".into()),
        discount_total: Some(eur("3.10")),
        number: Some(1042),
        shipping_tax: None,
        tax_total: None,
    }
}

fn paid() -> OrderEvent {
    OrderEvent::OrderPaid {
        payment_id: PaymentId::from_uuid(Uuid::from_u128(7)),
        amount: eur("47.90"),
    }
}

fn refund_requested(n: u128, amount: &str, parts: Vec<RefundLineData>) -> OrderEvent {
    OrderEvent::OrderRefundRequested {
        refund_id: refund_id(n),
        amount: eur(amount),
        lines: parts,
        shipping: eur("0.00"),
        restock: true,
        reason: "Too small".into(),
        origin: RefundOrigin::Admin,
    }
}

fn order(events: Vec<OrderEvent>) -> Order {
    let mut order = Order::default();
    for event in events {
        order.apply(event);
    }
    order
}

#[test]
fn a_paid_order_has_an_invoice_whose_lines_and_totals_are_what_was_paid() {
    let invoice = invoice(&order(vec![placed(), paid()])).unwrap();
    assert_eq!(
        invoice.number.map(|n| n.to_string()).as_deref(),
        Some("#1042")
    );
    assert_eq!(invoice.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        invoice
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.discount, l.net))
            .collect::<Vec<_>>(),
        vec![
            ("TEE-S", eur("1.00"), eur("29.00")),
            ("TEE-M", eur("2.10"), eur("18.90"))
        ]
    );
    let net: Money = invoice
        .lines
        .iter()
        .fold(eur("0.00"), |sum, l| sum.checked_add(&l.net).unwrap());
    assert_eq!(
        net.checked_add(&invoice.shipping_total).unwrap(),
        invoice.total
    );
    assert_eq!(invoice.total, invoice.paid);
    assert_eq!(invoice.discount_total, eur("3.10"));
    assert_eq!(invoice.tax_total, eur("0.00"));
}

#[test]
fn an_unpaid_order_has_no_invoice_yet() {
    assert_eq!(invoice(&order(vec![placed()])), Err(DocumentError::NotPaid));
    assert_eq!(invoice(&Order::default()), Err(DocumentError::NotFound));
}

#[test]
fn a_credit_note_exists_once_the_refunds_money_went_back() {
    let requested = vec![
        placed(),
        paid(),
        refund_requested(
            1,
            "9.67",
            vec![RefundLineData {
                sku: "TEE-S".into(),
                quantity: 1,
                amount: eur("9.67"),
            }],
        ),
    ];
    assert!(credit_notes(&order(requested.clone())).is_empty());
    assert_eq!(
        credit_note(&order(requested.clone()), refund_id(1)),
        Err(DocumentError::NoSuchRefund {
            refund_id: refund_id(1)
        })
    );
    let mut refunded = requested;
    refunded.push(OrderEvent::OrderRefunded {
        refund_id: refund_id(1),
        amount: eur("9.67"),
        total_refunded: eur("9.67"),
    });
    let note = credit_note(&order(refunded), refund_id(1)).unwrap();
    assert_eq!(note.order_number.map(|n| n.get()), Some(1042));
    assert_eq!(note.total, eur("9.67"));
    assert_eq!(note.lines.len(), 1);
    assert_eq!(note.lines[0].title, "Title of TEE-S");
    let sum = note
        .lines
        .iter()
        .fold(note.shipping, |sum, l| sum.checked_add(&l.amount).unwrap());
    assert_eq!(sum, note.total);
}

// --- Tax ---

fn taxed(rate: u32, amount: &str, included: bool) -> Option<crate::events::TaxData> {
    Some(crate::events::TaxData {
        rate: rust_decimal::Decimal::from(rate),
        amount: eur(amount),
        included,
    })
}

/// [`placed`] shipped for 4.90, with tax on top: TEE-S (29.00 after its discount) at 20 %
/// carries 5.80, TEE-M (18.90) at 7 % carries 1.32, the shipping at 20 % carries 0.98.
/// 47.90 + 4.90 + 8.10 = 60.90.
fn placed_with_tax() -> OrderEvent {
    let OrderEvent::OrderPlaced {
        order_id,
        checkout_id,
        customer_id,
        email,
        shipping_address,
        currency,
        mut lines,
        subtotal,
        placed_at,
        promotion_code,
        discount_total,
        number,
        ..
    } = placed()
    else {
        unreachable!()
    };
    lines[0].tax = taxed(20, "5.80", false);
    lines[1].tax = taxed(7, "1.32", false);
    OrderEvent::OrderPlaced {
        order_id,
        checkout_id,
        customer_id,
        email,
        shipping_address,
        currency,
        lines,
        subtotal,
        shipping_total: eur("4.90"),
        total: eur("60.90"),
        placed_at,
        promotion_code,
        discount_total,
        number,
        shipping_tax: taxed(20, "0.98", false),
        tax_total: Some(eur("8.10")),
    }
}

fn paid_amount(amount: &str) -> OrderEvent {
    OrderEvent::OrderPaid {
        payment_id: PaymentId::from_uuid(Uuid::from_u128(7)),
        amount: eur(amount),
    }
}

#[test]
fn an_invoice_shows_each_lines_tax_and_a_breakdown_per_rate_that_adds_up() {
    let invoice = invoice(&order(vec![placed_with_tax(), paid_amount("60.90")])).unwrap();
    assert_eq!(
        invoice
            .lines
            .iter()
            .map(|l| (l.tax_rate, l.net, l.tax, l.gross))
            .collect::<Vec<_>>(),
        vec![
            (
                Some(rust_decimal::Decimal::from(20)),
                eur("29.00"),
                eur("5.80"),
                eur("34.80")
            ),
            (
                Some(rust_decimal::Decimal::from(7)),
                eur("18.90"),
                eur("1.32"),
                eur("20.22")
            ),
        ]
    );
    assert_eq!(invoice.prices_include_tax, Some(false));
    assert_eq!(invoice.shipping_tax, eur("0.98"));
    assert_eq!(invoice.tax_total, eur("8.10"));
    assert_eq!(
        invoice.tax_breakdown,
        vec![
            TaxAtRate {
                rate: rust_decimal::Decimal::from(7),
                taxable: eur("18.90"),
                tax: eur("1.32"),
            },
            TaxAtRate {
                rate: rust_decimal::Decimal::from(20),
                taxable: eur("33.90"),
                tax: eur("6.78"),
            },
        ]
    );
    let gross = invoice
        .lines
        .iter()
        .fold(eur("5.88"), |sum, l| sum.checked_add(&l.gross).unwrap());
    assert_eq!(gross, invoice.total);
    assert_eq!(invoice.total, invoice.paid);
}

#[test]
fn credit_notes_of_a_line_refunded_in_parts_show_exactly_its_tax_between_them() {
    let mut history = vec![placed_with_tax(), paid_amount("60.90")];
    // One TEE-S: 10.00 less 0.33 of its discount plus 1.93 of its tax; then the other two
    // take what the line has left: 34.80 - 11.60.
    for (n, units, amount, total) in [(1, 1, "11.60", "11.60"), (2, 2, "23.20", "34.80")] {
        history.push(refund_requested(
            n,
            amount,
            vec![RefundLineData {
                sku: "TEE-S".into(),
                quantity: units,
                amount: eur(amount),
            }],
        ));
        history.push(OrderEvent::OrderRefunded {
            refund_id: refund_id(n),
            amount: eur(amount),
            total_refunded: eur(total),
        });
    }
    let notes = credit_notes(&order(history));
    assert_eq!(
        notes.iter().map(|n| n.tax_total).collect::<Vec<_>>(),
        vec![eur("1.93"), eur("3.87")]
    );
    assert_eq!(notes[0].lines[0].tax, eur("1.93"));
    assert_eq!(
        notes[1].tax_breakdown,
        vec![TaxAtRate {
            rate: rust_decimal::Decimal::from(20),
            taxable: eur("19.33"),
            tax: eur("3.87"),
        }]
    );
}

#[test]
fn documents_of_an_order_without_tax_show_none() {
    let invoice = invoice(&order(vec![placed(), paid()])).unwrap();
    assert!(invoice.tax_breakdown.is_empty());
    assert_eq!(invoice.prices_include_tax, None);
    assert!(invoice
        .lines
        .iter()
        .all(|l| l.tax_rate.is_none() && l.net == l.gross));
}
