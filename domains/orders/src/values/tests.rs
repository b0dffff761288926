//! Specifications of the orders context's value types.

use shared_kernel::MoneyError;

use super::*;

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn sku() -> Sku {
    Sku::parse("TEE-S").unwrap()
}

fn line(quantity: u32, unit_price: Money) -> Result<OrderLine, OrderError> {
    OrderLine::new(
        sku(),
        ProductId::from_uuid(uuid::Uuid::from_u128(1)),
        "Tee".into(),
        Quantity::new(quantity).unwrap(),
        unit_price,
        Currency::EUR,
    )
}

// --- OrderLine ---

#[test]
fn order_line_total_is_unit_price_times_quantity() {
    let line = line(3, eur("19.9")).unwrap();
    assert_eq!(line.unit_price().to_string(), "19.90 EUR");
    assert_eq!(line.line_total().to_string(), "59.70 EUR");
    assert_eq!(line.quantity().get(), 3);
    assert_eq!(line.sku(), &sku());
    assert_eq!(line.title(), "Tee");
}

#[test]
fn order_line_rejects_a_price_in_another_currency() {
    assert_eq!(
        line(1, Money::parse("1.00", "USD").unwrap()),
        Err(OrderError::CurrencyMismatch {
            sku: sku(),
            order: Currency::EUR,
            price: Currency::USD,
        })
    );
}

#[test]
fn order_line_rejects_a_negative_price() {
    assert_eq!(
        line(1, eur("-0.01")),
        Err(OrderError::InvalidPrice {
            sku: sku(),
            reason: MoneyError::NegativeAmount,
        })
    );
}

#[test]
fn order_line_accepts_a_free_item() {
    assert_eq!(line(2, eur("0")).unwrap().line_total(), eur("0.00"));
}

#[test]
fn a_recorded_line_is_taken_as_it_was_stored() {
    let line = line(2, eur("5.00")).unwrap();
    let mut data = line.data();
    assert_eq!(OrderLine::recorded(data.clone()), line);
    // A rule tightened later (here: a SKU that no longer parses) never breaks history.
    data.sku = "OLD SKU".into();
    assert_eq!(OrderLine::recorded(data).sku().as_str(), "OLD SKU");
}

// --- Fulfillment ---

#[test]
fn fulfillment_is_trimmed() {
    let fulfillment = Fulfillment::new(" DHL ", " JD014600003 ").unwrap();
    assert_eq!(fulfillment.carrier(), "DHL");
    assert_eq!(fulfillment.tracking_number(), "JD014600003");
}

#[test]
fn fulfillment_rejects_blank_fields_naming_them() {
    assert_eq!(
        Fulfillment::new(" ", "JD1"),
        Err(OrderError::InvalidFulfillment {
            field: "carrier",
            reason: "must not be empty".into(),
        })
    );
    assert_eq!(
        Fulfillment::new("DHL", ""),
        Err(OrderError::InvalidFulfillment {
            field: "tracking_number",
            reason: "must not be empty".into(),
        })
    );
}

#[test]
fn fulfillment_fields_are_at_most_100_characters() {
    assert!(Fulfillment::new(&"c".repeat(100), &"1".repeat(100)).is_ok());
    assert_eq!(
        Fulfillment::new("DHL", &"1".repeat(101)),
        Err(OrderError::InvalidFulfillment {
            field: "tracking_number",
            reason: "must be at most 100 characters".into(),
        })
    );
}

#[test]
fn fulfillment_rejects_control_characters() {
    assert_eq!(
        Fulfillment::new("DH\u{1b}L", "1"),
        Err(OrderError::InvalidFulfillment {
            field: "carrier",
            reason: "must not contain control characters".into(),
        })
    );
}

// --- CancellationReason ---

#[test]
fn cancellation_reason_is_trimmed_and_may_span_lines() {
    let reason = CancellationReason::parse("  Out of stock.\nSorry! ").unwrap();
    assert_eq!(reason.as_str(), "Out of stock.\nSorry!");
}

#[test]
fn cancellation_reason_must_not_be_blank() {
    assert_eq!(
        CancellationReason::parse(" \n "),
        Err(OrderError::InvalidReason {
            reason: "must not be empty".into(),
        })
    );
}

#[test]
fn cancellation_reason_is_at_most_500_characters() {
    assert!(CancellationReason::parse(&"é".repeat(500)).is_ok());
    assert_eq!(
        CancellationReason::parse(&"é".repeat(501)),
        Err(OrderError::InvalidReason {
            reason: "must be at most 500 characters".into(),
        })
    );
}

// --- OrderStatus ---

#[test]
fn status_serializes_and_displays_in_snake_case() {
    let cases = [
        (OrderStatus::Placed, "placed"),
        (OrderStatus::Paid, "paid"),
        (OrderStatus::Fulfilled, "fulfilled"),
        (OrderStatus::Completed, "completed"),
        (OrderStatus::Cancelled, "cancelled"),
    ];
    for (status, name) in cases {
        assert_eq!(status.to_string(), name);
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            format!("\"{name}\"")
        );
    }
}
