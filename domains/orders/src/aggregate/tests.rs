//! Given/when/then specifications of the order.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use shared_kernel::{
    AddressData, CheckoutId, Currency, CustomerId, EmailAddress, Money, MoneyError, OrderId,
    PaymentId, PostalAddress, ProductId, Quantity, Sku,
};
use uuid::Uuid;

use super::Order;
use crate::commands::{NewOrderLine, OrderCommand};
use crate::errors::OrderError;
use crate::events::{OrderEvent, OrderLineData};
use crate::values::{OrderLine, OrderNumber, OrderStatus};

mod refunds;
mod tax;

type OrderTest = TestFramework<Order>;

fn order_test() -> OrderTest {
    OrderTest::with(())
}

fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(0x0DE5))
}

fn checkout(n: u128) -> CheckoutId {
    CheckoutId::from_uuid(Uuid::from_u128(n))
}

fn payment(n: u128) -> PaymentId {
    PaymentId::from_uuid(Uuid::from_u128(n))
}

fn customer() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(0xC057))
}

fn tee_id() -> ProductId {
    ProductId::from_uuid(Uuid::from_u128(1))
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

fn email() -> EmailAddress {
    EmailAddress::parse("ada@example.com").unwrap()
}

fn address() -> PostalAddress {
    PostalAddress::new(AddressData {
        name: "Ada Lovelace".into(),
        line1: "1 Analytical Way".into(),
        city: "London".into(),
        postal_code: "N1 9GU".into(),
        country: "GB".into(),
        ..AddressData::default()
    })
    .unwrap()
}

fn placed_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn new_line(sku_raw: &str, quantity: u32, unit_price: Money) -> NewOrderLine {
    NewOrderLine {
        sku: sku(sku_raw),
        product_id: tee_id(),
        title: "Tee".into(),
        quantity: qty(quantity),
        unit_price,
        discount: eur("0.00"),
    }
}

fn order_line(sku_raw: &str, quantity: u32, unit_price: Money) -> OrderLineData {
    OrderLine::new(
        sku(sku_raw),
        tee_id(),
        "Tee".into(),
        qty(quantity),
        unit_price,
        Currency::EUR,
    )
    .unwrap()
    .data()
}

fn place_with(checkout_id: Option<CheckoutId>, lines: Vec<NewOrderLine>) -> OrderCommand {
    OrderCommand::PlaceOrder {
        order_id: order_id(),
        checkout_id,
        customer_id: Some(customer()),
        email: email(),
        shipping_address: address(),
        currency: Currency::EUR,
        lines,
        placed_at: placed_at(),
        promotion_code: None,
        number: None,
        shipping_total: None,
        tax: None,
    }
}

fn place(lines: Vec<NewOrderLine>) -> OrderCommand {
    place_with(Some(checkout(1)), lines)
}

/// Two tees at 19.90 and one at 21.00: 60.80 EUR.
fn standard_lines() -> Vec<NewOrderLine> {
    vec![
        new_line("TEE-S", 2, eur("19.90")),
        new_line("TEE-M", 1, eur("21.00")),
    ]
}

fn placed() -> OrderEvent {
    OrderEvent::OrderPlaced {
        order_id: order_id(),
        checkout_id: Some(checkout(1)),
        customer_id: Some(customer()),
        email: email().into(),
        shipping_address: address().into(),
        currency: Currency::EUR,
        lines: vec![
            order_line("TEE-S", 2, eur("19.90")),
            order_line("TEE-M", 1, eur("21.00")),
        ],
        subtotal: eur("60.80"),
        shipping_total: eur("0.00"),
        total: eur("60.80"),
        placed_at: placed_at(),
        promotion_code: None,
        discount_total: None,
        number: None,
        shipping_tax: None,
        tax_total: None,
    }
}

fn paid() -> OrderEvent {
    OrderEvent::OrderPaid {
        payment_id: payment(7),
        amount: eur("60.80"),
    }
}

fn fulfilled() -> OrderEvent {
    OrderEvent::OrderFulfilled {
        carrier: "DHL".into(),
        tracking_number: "JD014600003".into(),
    }
}

fn cancelled(was_paid: bool) -> OrderEvent {
    OrderEvent::OrderCancelled {
        reason: "Customer asked".into(),
        was_paid,
    }
}

fn mark_paid(payment_n: u128, amount: &str) -> OrderCommand {
    OrderCommand::MarkPaid {
        payment_id: payment(payment_n),
        amount: eur(amount),
    }
}

fn fulfill(carrier: &str, tracking_number: &str) -> OrderCommand {
    OrderCommand::FulfillOrder {
        carrier: carrier.into(),
        tracking_number: tracking_number.into(),
    }
}

fn cancel(reason: &str) -> OrderCommand {
    OrderCommand::CancelOrder {
        reason: reason.into(),
    }
}

fn not_allowed(status: OrderStatus, command: &'static str) -> OrderError {
    OrderError::NotAllowed { status, command }
}

// The histories that lead to each status.

fn placed_history() -> Vec<OrderEvent> {
    vec![placed()]
}

fn paid_history() -> Vec<OrderEvent> {
    vec![placed(), paid()]
}

fn fulfilled_history() -> Vec<OrderEvent> {
    vec![placed(), paid(), fulfilled()]
}

fn completed_history() -> Vec<OrderEvent> {
    vec![placed(), paid(), fulfilled(), OrderEvent::OrderCompleted {}]
}

fn cancelled_history() -> Vec<OrderEvent> {
    vec![placed(), cancelled(false)]
}

fn replay(events: Vec<OrderEvent>) -> Order {
    let mut order = Order::default();
    for event in events {
        order.apply(event);
    }
    order
}

// --- PlaceOrder ---

#[test]
fn placing_an_order_records_its_lines_and_totals() {
    order_test()
        .given_no_previous_events()
        .when(place(standard_lines()))
        .then_expect_events(vec![placed()]);
}

#[test]
fn placing_an_order_stores_unit_prices_in_minor_units() {
    let events = order_test()
        .given_no_previous_events()
        .when(place(vec![new_line("TEE-S", 3, eur("19.9"))]))
        .inspect_result()
        .unwrap();
    let OrderEvent::OrderPlaced {
        lines,
        subtotal,
        shipping_total,
        total,
        ..
    } = &events[0]
    else {
        panic!("expected OrderPlaced, got {events:?}");
    };
    assert_eq!(lines[0].unit_price.to_string(), "19.90 EUR");
    assert_eq!(lines[0].line_total.to_string(), "59.70 EUR");
    assert_eq!(subtotal.to_string(), "59.70 EUR");
    assert_eq!(shipping_total.to_string(), "0.00 EUR");
    assert_eq!(total.to_string(), "59.70 EUR");
}

#[test]
fn placing_a_guest_order_without_a_checkout_is_allowed() {
    let command = OrderCommand::PlaceOrder {
        order_id: order_id(),
        checkout_id: None,
        customer_id: None,
        email: email(),
        shipping_address: address(),
        currency: Currency::EUR,
        lines: vec![new_line("TEE-S", 1, eur("5.00"))],
        placed_at: placed_at(),
        promotion_code: None,
        number: None,
        shipping_total: None,
        tax: None,
    };
    let events = order_test()
        .given_no_previous_events()
        .when(command)
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &events[..],
        [OrderEvent::OrderPlaced {
            checkout_id: None,
            customer_id: None,
            ..
        }]
    ));
}

#[test]
fn rejects_an_order_without_lines() {
    order_test()
        .given_no_previous_events()
        .when(place(vec![]))
        .then_expect_error(OrderError::NoLines);
}

#[test]
fn rejects_more_than_a_hundred_lines() {
    let lines = (0..101)
        .map(|i| new_line(&format!("SKU-{i}"), 1, eur("1.00")))
        .collect();
    order_test()
        .given_no_previous_events()
        .when(place(lines))
        .then_expect_error(OrderError::TooManyLines {
            max: 100,
            requested: 101,
        });
}

#[test]
fn accepts_exactly_a_hundred_lines() {
    let lines = (0..100)
        .map(|i| new_line(&format!("SKU-{i}"), 1, eur("1.00")))
        .collect();
    let events = order_test()
        .given_no_previous_events()
        .when(place(lines))
        .inspect_result()
        .unwrap();
    let [OrderEvent::OrderPlaced { total, .. }] = &events[..] else {
        panic!("expected one OrderPlaced, got {events:?}");
    };
    assert_eq!(*total, eur("100.00"));
}

#[test]
fn rejects_a_unit_price_in_another_currency() {
    let lines = vec![
        new_line("TEE-S", 1, eur("19.90")),
        new_line("TEE-M", 1, Money::parse("21.00", "USD").unwrap()),
    ];
    order_test()
        .given_no_previous_events()
        .when(place(lines))
        .then_expect_error(OrderError::CurrencyMismatch {
            sku: sku("TEE-M"),
            order: Currency::EUR,
            price: Currency::USD,
        });
}

#[test]
fn rejects_a_negative_unit_price() {
    order_test()
        .given_no_previous_events()
        .when(place(vec![new_line("TEE-S", 1, eur("-1.00"))]))
        .then_expect_error(OrderError::InvalidPrice {
            sku: sku("TEE-S"),
            reason: MoneyError::NegativeAmount,
        });
}

#[test]
fn rejects_a_unit_price_finer_than_the_currency_allows() {
    order_test()
        .given_no_previous_events()
        .when(place(vec![new_line("TEE-S", 1, eur("1.005"))]))
        .then_expect_error(OrderError::InvalidPrice {
            sku: sku("TEE-S"),
            reason: MoneyError::TooPrecise {
                currency: Currency::EUR,
                minor_units: 2,
            },
        });
}

#[test]
fn placing_again_from_the_same_checkout_changes_nothing() {
    order_test()
        .given(placed_history())
        .when(place(standard_lines()))
        .then_expect_events(vec![]);
}

#[test]
fn placing_again_from_the_same_checkout_after_the_order_moved_on_changes_nothing() {
    order_test()
        .given(completed_history())
        .when(place(standard_lines()))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_placing_an_existing_order_from_another_checkout() {
    order_test()
        .given(placed_history())
        .when(place_with(Some(checkout(2)), standard_lines()))
        .then_expect_error(OrderError::AlreadyExists);
}

#[test]
fn rejects_placing_an_existing_order_without_a_checkout() {
    order_test()
        .given(placed_history())
        .when(place_with(None, standard_lines()))
        .then_expect_error(OrderError::AlreadyExists);
}

#[test]
fn rejects_placing_over_an_existing_order_in_every_status() {
    let histories = [
        paid_history(),
        fulfilled_history(),
        completed_history(),
        cancelled_history(),
    ];
    for history in histories {
        order_test()
            .given(history)
            .when(place_with(Some(checkout(2)), standard_lines()))
            .then_expect_error(OrderError::AlreadyExists);
    }
}

#[test]
fn rejects_every_other_command_on_an_order_that_does_not_exist() {
    let commands = [
        mark_paid(7, "60.80"),
        fulfill("DHL", "1"),
        OrderCommand::CompleteOrder,
        cancel("Customer asked"),
    ];
    for command in commands {
        order_test()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(OrderError::NotFound);
    }
}

// --- MarkPaid ---

#[test]
fn marking_a_placed_order_paid_records_the_payment() {
    order_test()
        .given(placed_history())
        .when(mark_paid(7, "60.80"))
        .then_expect_events(vec![paid()]);
}

#[test]
fn a_payment_of_the_total_written_with_fewer_decimals_is_accepted() {
    order_test()
        .given(placed_history())
        .when(mark_paid(7, "60.8"))
        .then_expect_events(vec![paid()]);
}

#[test]
fn rejects_a_payment_for_less_than_the_total() {
    order_test()
        .given(placed_history())
        .when(mark_paid(7, "60.79"))
        .then_expect_error(OrderError::PaymentAmountMismatch {
            expected: eur("60.80"),
            received: eur("60.79"),
        });
}

#[test]
fn rejects_a_payment_for_more_than_the_total() {
    order_test()
        .given(placed_history())
        .when(mark_paid(7, "60.81"))
        .then_expect_error(OrderError::PaymentAmountMismatch {
            expected: eur("60.80"),
            received: eur("60.81"),
        });
}

#[test]
fn rejects_a_payment_in_another_currency() {
    let usd = Money::parse("60.80", "USD").unwrap();
    order_test()
        .given(placed_history())
        .when(OrderCommand::MarkPaid {
            payment_id: payment(7),
            amount: usd,
        })
        .then_expect_error(OrderError::PaymentAmountMismatch {
            expected: eur("60.80"),
            received: usd,
        });
}

#[test]
fn marking_paid_again_with_the_same_payment_changes_nothing() {
    order_test()
        .given(paid_history())
        .when(mark_paid(7, "60.80"))
        .then_expect_events(vec![]);
}

#[test]
fn a_late_redelivery_of_the_same_payment_after_fulfilment_changes_nothing() {
    order_test()
        .given(fulfilled_history())
        .when(mark_paid(7, "60.80"))
        .then_expect_events(vec![]);
}

#[test]
fn a_late_redelivery_of_the_same_payment_after_a_paid_cancellation_changes_nothing() {
    order_test()
        .given(vec![placed(), paid(), cancelled(true)])
        .when(mark_paid(7, "60.80"))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_marking_a_paid_order_paid_by_another_payment() {
    order_test()
        .given(paid_history())
        .when(mark_paid(8, "60.80"))
        .then_expect_error(not_allowed(OrderStatus::Paid, "MarkPaid"));
}

#[test]
fn rejects_marking_a_fulfilled_order_paid_by_another_payment() {
    order_test()
        .given(fulfilled_history())
        .when(mark_paid(8, "60.80"))
        .then_expect_error(not_allowed(OrderStatus::Fulfilled, "MarkPaid"));
}

#[test]
fn rejects_marking_a_completed_order_paid_by_another_payment() {
    order_test()
        .given(completed_history())
        .when(mark_paid(8, "60.80"))
        .then_expect_error(not_allowed(OrderStatus::Completed, "MarkPaid"));
}

#[test]
fn rejects_marking_a_cancelled_order_paid() {
    order_test()
        .given(cancelled_history())
        .when(mark_paid(7, "60.80"))
        .then_expect_error(not_allowed(OrderStatus::Cancelled, "MarkPaid"));
}

// --- FulfillOrder ---

#[test]
fn fulfilling_a_paid_order_records_carrier_and_tracking_number_trimmed() {
    order_test()
        .given(paid_history())
        .when(fulfill("  DHL ", " JD014600003\t"))
        .then_expect_events(vec![fulfilled()]);
}

#[test]
fn rejects_fulfilling_without_a_carrier() {
    order_test()
        .given(paid_history())
        .when(fulfill("  ", "JD014600003"))
        .then_expect_error(OrderError::InvalidFulfillment {
            field: "carrier",
            reason: "must not be empty".into(),
        });
}

#[test]
fn rejects_fulfilling_without_a_tracking_number() {
    order_test()
        .given(paid_history())
        .when(fulfill("DHL", ""))
        .then_expect_error(OrderError::InvalidFulfillment {
            field: "tracking_number",
            reason: "must not be empty".into(),
        });
}

#[test]
fn rejects_a_carrier_longer_than_100_characters() {
    order_test()
        .given(paid_history())
        .when(fulfill(&"c".repeat(101), "JD014600003"))
        .then_expect_error(OrderError::InvalidFulfillment {
            field: "carrier",
            reason: "must be at most 100 characters".into(),
        });
}

#[test]
fn rejects_fulfilling_a_placed_order() {
    order_test()
        .given(placed_history())
        .when(fulfill("DHL", "JD014600003"))
        .then_expect_error(not_allowed(OrderStatus::Placed, "FulfillOrder"));
}

#[test]
fn rejects_fulfilling_a_fulfilled_order() {
    order_test()
        .given(fulfilled_history())
        .when(fulfill("DHL", "JD014600003"))
        .then_expect_error(not_allowed(OrderStatus::Fulfilled, "FulfillOrder"));
}

#[test]
fn rejects_fulfilling_a_completed_order() {
    order_test()
        .given(completed_history())
        .when(fulfill("DHL", "JD014600003"))
        .then_expect_error(not_allowed(OrderStatus::Completed, "FulfillOrder"));
}

#[test]
fn rejects_fulfilling_a_cancelled_order() {
    order_test()
        .given(cancelled_history())
        .when(fulfill("DHL", "JD014600003"))
        .then_expect_error(not_allowed(OrderStatus::Cancelled, "FulfillOrder"));
}

// --- CompleteOrder ---

#[test]
fn completing_a_fulfilled_order_closes_it() {
    order_test()
        .given(fulfilled_history())
        .when(OrderCommand::CompleteOrder)
        .then_expect_events(vec![OrderEvent::OrderCompleted {}]);
}

#[test]
fn rejects_completing_a_placed_order() {
    order_test()
        .given(placed_history())
        .when(OrderCommand::CompleteOrder)
        .then_expect_error(not_allowed(OrderStatus::Placed, "CompleteOrder"));
}

#[test]
fn rejects_completing_a_paid_order() {
    order_test()
        .given(paid_history())
        .when(OrderCommand::CompleteOrder)
        .then_expect_error(not_allowed(OrderStatus::Paid, "CompleteOrder"));
}

#[test]
fn rejects_completing_a_completed_order() {
    order_test()
        .given(completed_history())
        .when(OrderCommand::CompleteOrder)
        .then_expect_error(not_allowed(OrderStatus::Completed, "CompleteOrder"));
}

#[test]
fn rejects_completing_a_cancelled_order() {
    order_test()
        .given(cancelled_history())
        .when(OrderCommand::CompleteOrder)
        .then_expect_error(not_allowed(OrderStatus::Cancelled, "CompleteOrder"));
}

// --- CancelOrder ---

#[test]
fn cancelling_a_placed_order_records_that_it_was_not_paid() {
    order_test()
        .given(placed_history())
        .when(cancel("Customer asked"))
        .then_expect_events(vec![cancelled(false)]);
}

#[test]
fn cancelling_a_paid_order_records_that_it_was_paid_and_refunds_everything() {
    order_test()
        .given(paid_history())
        .when(cancel("Customer asked"))
        .then_expect_events(vec![
            cancelled(true),
            OrderEvent::OrderRefundRequested {
                refund_id: crate::refunds::cancellation_refund_id(order_id()),
                amount: eur("60.80"),
                lines: vec![
                    crate::events::RefundLineData {
                        sku: "TEE-S".into(),
                        quantity: 2,
                        amount: eur("39.80"),
                    },
                    crate::events::RefundLineData {
                        sku: "TEE-M".into(),
                        quantity: 1,
                        amount: eur("21.00"),
                    },
                ],
                shipping: eur("0.00"),
                restock: true,
                reason: "Customer asked".into(),
                origin: crate::refunds::RefundOrigin::Cancellation,
            },
        ]);
}

#[test]
fn cancelling_trims_the_reason() {
    order_test()
        .given(placed_history())
        .when(cancel("  Customer asked \n"))
        .then_expect_events(vec![cancelled(false)]);
}

#[test]
fn rejects_cancelling_without_a_reason() {
    order_test()
        .given(placed_history())
        .when(cancel("   "))
        .then_expect_error(OrderError::InvalidReason {
            reason: "must not be empty".into(),
        });
}

#[test]
fn rejects_a_cancellation_reason_longer_than_500_characters() {
    order_test()
        .given(placed_history())
        .when(cancel(&"r".repeat(501)))
        .then_expect_error(OrderError::InvalidReason {
            reason: "must be at most 500 characters".into(),
        });
}

#[test]
fn cancelling_a_cancelled_order_changes_nothing() {
    order_test()
        .given(cancelled_history())
        .when(cancel("Asked twice"))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_cancelling_a_fulfilled_order() {
    order_test()
        .given(fulfilled_history())
        .when(cancel("Too late"))
        .then_expect_error(not_allowed(OrderStatus::Fulfilled, "CancelOrder"));
}

#[test]
fn rejects_cancelling_a_completed_order() {
    order_test()
        .given(completed_history())
        .when(cancel("Too late"))
        .then_expect_error(not_allowed(OrderStatus::Completed, "CancelOrder"));
}

// --- State and accessors ---

#[test]
fn an_order_that_does_not_exist_has_no_state() {
    let order = Order::default();
    assert_eq!(order.id(), None);
    assert_eq!(order.status(), None);
    assert_eq!(order.total(), None);
    assert!(order.lines().is_empty());
}

#[test]
fn a_placed_order_exposes_what_was_placed() {
    let order = replay(placed_history());
    assert_eq!(order.id(), Some(order_id()));
    assert_eq!(order.status(), Some(OrderStatus::Placed));
    assert_eq!(order.checkout_id(), Some(checkout(1)));
    assert_eq!(order.customer_id(), Some(customer()));
    assert_eq!(order.email(), Some(&email()));
    assert_eq!(order.shipping_address(), Some(&address()));
    assert_eq!(order.currency(), Some(Currency::EUR));
    assert_eq!(order.lines().len(), 2);
    assert_eq!(order.lines()[0].line_total(), eur("39.80"));
    assert_eq!(order.subtotal(), Some(eur("60.80")));
    assert_eq!(order.shipping_total(), Some(eur("0.00")));
    assert_eq!(order.total(), Some(eur("60.80")));
    assert_eq!(order.placed_at(), Some(placed_at()));
    assert_eq!(order.payment_id(), None);
    assert_eq!(order.fulfillment(), None);
    assert_eq!(order.cancellation_reason(), None);
}

#[test]
fn a_fulfilled_order_keeps_its_payment_and_shipment() {
    let order = replay(fulfilled_history());
    assert_eq!(order.status(), Some(OrderStatus::Fulfilled));
    assert_eq!(order.payment_id(), Some(payment(7)));
    let fulfillment = order.fulfillment().unwrap();
    assert_eq!(fulfillment.carrier(), "DHL");
    assert_eq!(fulfillment.tracking_number(), "JD014600003");
}

#[test]
fn a_completed_order_is_completed() {
    assert_eq!(
        replay(completed_history()).status(),
        Some(OrderStatus::Completed)
    );
}

#[test]
fn a_cancelled_order_keeps_its_reason() {
    let order = replay(cancelled_history());
    assert_eq!(order.status(), Some(OrderStatus::Cancelled));
    assert_eq!(
        order.cancellation_reason().map(|r| r.as_str()),
        Some("Customer asked")
    );
}

#[test]
fn the_aggregate_survives_a_snapshot_round_trip() {
    let order = replay(fulfilled_history());
    let json = serde_json::to_string(&order).unwrap();
    assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), order);
}

#[test]
fn the_aggregate_type_is_order() {
    assert_eq!(Order::TYPE, "order");
}

#[test]
fn events_have_stable_type_names_and_version_two() {
    let cases = [
        (placed(), "OrderPlaced"),
        (paid(), "OrderPaid"),
        (fulfilled(), "OrderFulfilled"),
        (OrderEvent::OrderCompleted {}, "OrderCompleted"),
        (cancelled(true), "OrderCancelled"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
    }
}

#[test]
fn events_survive_a_json_round_trip() {
    for event in [
        placed(),
        paid(),
        fulfilled(),
        OrderEvent::OrderCompleted {},
        cancelled(true),
    ] {
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<OrderEvent>(&json).unwrap(), event);
    }
}

#[test]
fn placed_events_store_money_as_string_amounts() {
    let json = serde_json::to_value(placed()).unwrap();
    let placed = &json["OrderPlaced"];
    assert_eq!(placed["total"]["amount"], "60.80");
    assert_eq!(placed["lines"][0]["unit_price"]["amount"], "19.90");
    assert_eq!(placed["email"], "ada@example.com");
    assert_eq!(placed["shipping_address"]["country"], "GB");
}

// --- Erasing the shopper's personal data ---

#[test]
fn erasing_personal_data_records_it_whatever_the_orders_state() {
    for history in [placed_history(), paid_history(), cancelled_history()] {
        order_test()
            .given(history)
            .when(OrderCommand::ErasePersonalData)
            .then_expect_events(vec![OrderEvent::PersonalDataErased {}]);
    }
}

#[test]
fn erasing_twice_changes_nothing_and_an_unknown_order_is_not_found() {
    let mut history = paid_history();
    history.push(OrderEvent::PersonalDataErased {});
    order_test()
        .given(history)
        .when(OrderCommand::ErasePersonalData)
        .then_expect_events(vec![]);
    order_test()
        .given_no_previous_events()
        .when(OrderCommand::ErasePersonalData)
        .then_expect_error(OrderError::NotFound);
}

#[test]
fn an_erased_order_shows_its_email_and_address_erased_and_keeps_the_rest() {
    let mut order = Order::default();
    for event in paid_history() {
        order.apply(event);
    }
    order.apply(OrderEvent::PersonalDataErased {});
    assert!(order.personal_data_erased());
    assert_eq!(order.email().unwrap().as_str(), shared_kernel::ERASED);
    assert_eq!(
        AddressData::from(order.shipping_address().unwrap().clone()),
        AddressData::erased()
    );
    assert_eq!(order.status(), Some(OrderStatus::Paid));
    assert_eq!(order.customer_id(), Some(customer()));
    let event = OrderEvent::PersonalDataErased {};
    assert_eq!(event.event_type(), "PersonalDataErased");
    assert_eq!(
        serde_json::to_value(&event).unwrap()["PersonalDataErased"],
        serde_json::json!({})
    );
}

#[test]
fn an_order_keeps_the_number_it_was_placed_with() {
    let mut command = place(standard_lines());
    if let OrderCommand::PlaceOrder { number, .. } = &mut command {
        *number = Some(OrderNumber::new(1042));
    }
    let events = order_test()
        .given_no_previous_events()
        .when(command)
        .inspect_result()
        .unwrap();
    let OrderEvent::OrderPlaced { number, .. } = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(*number, Some(1042));
    let mut order = Order::default();
    for event in events {
        order.apply(event);
    }
    assert_eq!(
        order.number().map(|n| n.to_string()).as_deref(),
        Some("#1042")
    );
}

#[test]
fn an_order_number_is_read_as_people_write_it() {
    for (text, expected) in [
        ("1042", Some(1042)),
        ("#1042", Some(1042)),
        (" #1001 ", Some(1001)),
        ("", None),
        ("#", None),
        ("10a2", None),
        ("-5", None),
        ("99999999999999999999", None),
    ] {
        assert_eq!(
            OrderNumber::parse(text).map(OrderNumber::get),
            expected,
            "{text}"
        );
    }
}

fn place_shipping(shipping: Money) -> OrderCommand {
    let mut command = place(standard_lines());
    if let OrderCommand::PlaceOrder { shipping_total, .. } = &mut command {
        *shipping_total = Some(shipping);
    }
    command
}

#[test]
fn an_order_with_shipping_charges_it_on_top_of_the_lines() {
    let events = order_test()
        .given_no_previous_events()
        .when(place_shipping(eur("9.9")))
        .inspect_result()
        .unwrap();
    let OrderEvent::OrderPlaced {
        subtotal,
        shipping_total,
        total,
        ..
    } = &events[0]
    else {
        panic!("expected OrderPlaced, got {events:?}");
    };
    assert_eq!(subtotal.to_string(), "60.80 EUR");
    assert_eq!(shipping_total.to_string(), "9.90 EUR");
    assert_eq!(total.to_string(), "70.70 EUR");
    // The payment of the whole total settles it.
    let order = order_test()
        .given(events.clone())
        .when(OrderCommand::MarkPaid {
            payment_id: payment(9),
            amount: eur("70.70"),
        })
        .inspect_result();
    assert!(order.is_ok(), "{order:?}");
}

#[test]
fn a_shipping_charge_that_does_not_fit_the_order_is_refused() {
    let amount = |raw: &str| raw.parse::<rust_decimal::Decimal>().unwrap();
    for shipping in [
        Money::new(amount("-1.00"), Currency::EUR),
        Money::new(amount("1.005"), Currency::EUR),
        Money::new(amount("4.90"), Currency::USD),
    ] {
        order_test()
            .given_no_previous_events()
            .when(place_shipping(shipping))
            .then_expect_error(OrderError::InvalidShipping {
                shipping,
                currency: Currency::EUR,
            });
    }
}
