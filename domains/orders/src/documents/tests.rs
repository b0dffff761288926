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
