//! Fixtures shared by the aggregate and saga specifications: one three-line checkout and the
//! histories that bring it to each status.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::Aggregate;
use shared_kernel::{
    AddressData, CartId, CheckoutId, Currency, CustomerId, EmailAddress, Money, OrderId,
    PostalAddress, ProductId,
};
use shared_kernel::{Quantity, Sku};
use uuid::Uuid;

use crate::aggregate::Checkout;
use crate::commands::CheckoutCommand;
use crate::events::CheckoutEvent;
use crate::values::{order_id, AppliedPromotion, AppliedShipping, CheckoutLine};

pub fn checkout_id() -> CheckoutId {
    CheckoutId::from_uuid(Uuid::from_u128(0xC4EC))
}

pub fn cart_id() -> CartId {
    CartId::from_uuid(Uuid::from_u128(0xCA27))
}

pub fn customer() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(0xC057))
}

/// The order the checkout places.
pub fn placed_order() -> OrderId {
    order_id(checkout_id())
}

pub fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

pub fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

pub fn tee() -> Sku {
    sku("TEE-S")
}

pub fn mug() -> Sku {
    sku("MUG")
}

pub fn cap() -> Sku {
    sku("CAP")
}

pub fn line(sku: Sku, title: &str, quantity: u32, unit_price: &str) -> CheckoutLine {
    CheckoutLine {
        sku,
        product_id: ProductId::from_uuid(Uuid::from_u128(1)),
        title: title.into(),
        quantity: Quantity::new(quantity).unwrap(),
        unit_price: eur(unit_price),
    }
}

/// 2 × 19.90 + 1 × 8.50 + 3 × 12.00 = 84.30 EUR.
pub fn lines() -> Vec<CheckoutLine> {
    vec![
        line(tee(), "Tee (S)", 2, "19.90"),
        line(mug(), "Mug", 1, "8.50"),
        line(cap(), "Cap", 3, "12.00"),
    ]
}

pub fn total() -> Money {
    eur("84.30")
}

pub fn shipping() -> PostalAddress {
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

pub fn email() -> EmailAddress {
    EmailAddress::parse("ada@example.com").unwrap()
}

pub fn started_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

pub fn deadline() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 5, 0).unwrap()
}

pub fn start_with(lines: Vec<CheckoutLine>) -> CheckoutCommand {
    CheckoutCommand::StartCheckout {
        checkout_id: checkout_id(),
        cart_id: cart_id(),
        customer_id: Some(customer()),
        email: email(),
        shipping: shipping(),
        currency: Currency::EUR,
        lines,
        started_at: started_at(),
        promotion: None,
        shipping_method: None,
        tax: None,
    }
}

/// `SPRING`: 10 % off the tee and the cap (3.98 + 3.60 = 7.58 EUR off 84.30).
pub fn promotion() -> AppliedPromotion {
    AppliedPromotion {
        code: "SPRING".into(),
        discount: eur("7.58"),
        line_discounts: vec![eur("3.98"), eur("0.00"), eur("3.60")],
        shipping_discount: None,
    }
}

/// What a checkout with [`promotion`] authorizes: 84.30 - 7.58.
pub fn discounted_total() -> Money {
    eur("76.72")
}

pub fn start_with_promotion(promotion: AppliedPromotion) -> CheckoutCommand {
    let mut command = start();
    if let CheckoutCommand::StartCheckout {
        promotion: code, ..
    } = &mut command
    {
        *code = Some(promotion);
    }
    command
}

/// A checkout of [`lines`] started with [`promotion`].
pub fn started_with_promotion() -> CheckoutEvent {
    let mut event = started();
    if let CheckoutEvent::CheckoutStarted {
        total,
        promotion: code,
        ..
    } = &mut event
    {
        *total = discounted_total();
        *code = Some(promotion());
    }
    event
}

/// `Express` shipping at 9.90 EUR.
pub fn express() -> AppliedShipping {
    AppliedShipping {
        option_id: uuid::Uuid::from_u128(0x5A1F),
        name: "Express".into(),
        price: eur("9.90"),
    }
}

pub fn start_with_shipping(method: AppliedShipping) -> CheckoutCommand {
    let mut command = start();
    if let CheckoutCommand::StartCheckout {
        shipping_method, ..
    } = &mut command
    {
        *shipping_method = Some(method);
    }
    command
}

/// A checkout of [`lines`] shipping [`express`]: 84.30 + 9.90.
pub fn started_with_shipping() -> CheckoutEvent {
    let mut event = started();
    if let CheckoutEvent::CheckoutStarted {
        total,
        shipping_method,
        ..
    } = &mut event
    {
        *total = eur("94.20");
        *shipping_method = Some(express());
    }
    event
}

pub fn start() -> CheckoutCommand {
    start_with(lines())
}

pub fn started() -> CheckoutEvent {
    CheckoutEvent::CheckoutStarted {
        checkout_id: checkout_id(),
        cart_id: cart_id(),
        customer_id: Some(customer()),
        email: email().into(),
        shipping: shipping().into(),
        currency: Currency::EUR,
        lines: lines().iter().map(CheckoutLine::data).collect(),
        total: total(),
        started_at: started_at(),
        promotion: None,
        shipping_method: None,
        tax: None,
    }
}

pub fn reserved(sku: Sku) -> CheckoutEvent {
    CheckoutEvent::StockReserved { sku: sku.into() }
}

pub fn unavailable(sku: Sku) -> CheckoutEvent {
    CheckoutEvent::StockUnavailable { sku: sku.into() }
}

pub fn committed(sku: Sku) -> CheckoutEvent {
    CheckoutEvent::ReservationCommitted { sku: sku.into() }
}

pub fn released(sku: Sku) -> CheckoutEvent {
    CheckoutEvent::StockReleased { sku: sku.into() }
}

pub fn declined() -> CheckoutEvent {
    CheckoutEvent::PaymentDeclined {
        message: "Your card has insufficient funds.".into(),
    }
}

pub fn unknown() -> CheckoutEvent {
    CheckoutEvent::PaymentOutcomeUnknown {
        deadline: deadline(),
    }
}

pub fn rejected() -> CheckoutEvent {
    CheckoutEvent::OrderRejected {
        reason: "invalid postal code".into(),
    }
}

fn then(mut history: Vec<CheckoutEvent>, more: Vec<CheckoutEvent>) -> Vec<CheckoutEvent> {
    history.extend(more);
    history
}

/// Reserving; nothing reserved yet.
pub fn reserving() -> Vec<CheckoutEvent> {
    vec![started()]
}

/// Authorizing; every line reserved, no payment answer yet.
pub fn authorizing() -> Vec<CheckoutEvent> {
    then(
        reserving(),
        vec![
            reserved(tee()),
            reserved(mug()),
            reserved(cap()),
            CheckoutEvent::ReservationsCompleted {},
        ],
    )
}

/// Authorizing; the provider's answer was lost.
pub fn payment_unknown() -> Vec<CheckoutEvent> {
    then(authorizing(), vec![unknown()])
}

pub fn placing_order() -> Vec<CheckoutEvent> {
    then(authorizing(), vec![CheckoutEvent::PaymentAuthorized {}])
}

/// Past the pivot, nothing finalized yet.
pub fn finalizing() -> Vec<CheckoutEvent> {
    then(
        placing_order(),
        vec![CheckoutEvent::OrderPlaced {
            order_id: placed_order(),
        }],
    )
}

pub fn completed() -> Vec<CheckoutEvent> {
    then(
        finalizing(),
        vec![
            CheckoutEvent::PaymentCaptured {},
            committed(tee()),
            committed(mug()),
            committed(cap()),
            CheckoutEvent::CartCheckedOut {},
            CheckoutEvent::CheckoutCompleted {
                order_id: placed_order(),
            },
        ],
    )
}

/// Compensating: the tee was reserved, the mug was out of stock, the cap is still unanswered.
pub fn out_of_stock() -> Vec<CheckoutEvent> {
    then(reserving(), vec![reserved(tee()), unavailable(mug())])
}

/// Compensating: every line reserved, the payment declined.
pub fn payment_declined() -> Vec<CheckoutEvent> {
    then(authorizing(), vec![declined()])
}

/// Compensating: the payment's outcome stayed unknown past its deadline.
pub fn payment_timed_out() -> Vec<CheckoutEvent> {
    then(payment_unknown(), vec![CheckoutEvent::PaymentTimedOut {}])
}

/// Compensating: the payment was authorized, the order refused.
pub fn order_rejected() -> Vec<CheckoutEvent> {
    then(placing_order(), vec![rejected()])
}

/// Failed after the mug was out of stock.
pub fn failed() -> Vec<CheckoutEvent> {
    then(
        out_of_stock(),
        vec![
            released(tee()),
            CheckoutEvent::CartReleased {},
            CheckoutEvent::CheckoutFailed {
                reason: crate::values::FailureReason::OutOfStock {
                    sku: mug().into(),
                    title: "Mug".into(),
                },
            },
        ],
    )
}

/// Failed after the payment timed out (and was voided).
pub fn failed_after_timeout() -> Vec<CheckoutEvent> {
    then(
        payment_timed_out(),
        vec![
            CheckoutEvent::PaymentVoided {},
            released(tee()),
            released(mug()),
            released(cap()),
            CheckoutEvent::CartReleased {},
            CheckoutEvent::CheckoutFailed {
                reason: crate::values::FailureReason::PaymentTimedOut,
            },
        ],
    )
}

/// `history` followed by `more`.
pub fn and(history: Vec<CheckoutEvent>, more: Vec<CheckoutEvent>) -> Vec<CheckoutEvent> {
    then(history, more)
}

pub fn replay(events: Vec<CheckoutEvent>) -> Checkout {
    let mut checkout = Checkout::default();
    for event in events {
        checkout.apply(event);
    }
    checkout
}
