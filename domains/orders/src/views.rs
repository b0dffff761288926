//! Read model of an order: everything a shopper's order page or a staff screen shows.
//!
//! The update function is pure so any projection (in memory, SQL, ...) can reuse it, and so it
//! can be tested without a store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::{
    AddressData, CheckoutId, Currency, CustomerId, Money, OrderId, PaymentId, ProductId, RefundId,
};

use crate::events::{OrderEvent, OrderLineData, RefundLineData, TaxData};
use crate::refunds::{OrderRefundState, RefundOrigin};
use crate::values::OrderStatus;

/// An order as shown to readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: OrderId,
    pub status: OrderStatus,
    pub checkout_id: Option<CheckoutId>,
    pub customer_id: Option<CustomerId>,
    /// As stored: domain lowercased, local part as given.
    pub email: String,
    pub shipping_address: AddressData,
    pub currency: Currency,
    pub lines: Vec<OrderLineView>,
    pub subtotal: Money,
    /// The order's short number (`1042`, shown `#1042`); absent for orders placed before
    /// numbers existed.
    #[serde(default)]
    pub number: Option<u64>,
    /// The promotion code the order was placed with; absent from views of orders without.
    #[serde(default)]
    pub promotion_code: Option<String>,
    /// What the code took off the lines; absent (zero) without a code.
    #[serde(default)]
    pub discount_total: Option<Money>,
    pub shipping_total: Money,
    /// The tax on the shipping charge; absent when the order charged no tax.
    #[serde(default)]
    pub shipping_tax: Option<TaxData>,
    /// The lines' tax plus the shipping's; absent when the order charged no tax.
    #[serde(default)]
    pub tax_total: Option<Money>,
    pub total: Money,
    /// Set once paid; kept after fulfilment or cancellation.
    pub payment_id: Option<PaymentId>,
    pub fulfillment: Option<FulfillmentView>,
    pub cancellation: Option<CancellationView>,
    /// Every refund requested, in the order they were requested. Absent from views stored
    /// before refunds existed, which had none.
    #[serde(default)]
    pub refunds: Vec<OrderRefundView>,
    pub placed_at: DateTime<Utc>,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

/// A line as shown to readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub sku: String,
    pub product_id: ProductId,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
    /// The line's share of the code's discount; absent without one.
    #[serde(default)]
    pub discount: Option<Money>,
    /// The line's tax; absent when the order charged no tax.
    #[serde(default)]
    pub tax: Option<TaxData>,
}

impl From<&OrderLineData> for OrderLineView {
    fn from(line: &OrderLineData) -> Self {
        OrderLineView {
            sku: line.sku.clone(),
            product_id: line.product_id,
            title: line.title.clone(),
            quantity: line.quantity.get(),
            unit_price: line.unit_price,
            line_total: line.line_total,
            discount: line.discount,
            tax: line.tax.clone(),
        }
    }
}

/// How a fulfilled order was shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentView {
    pub carrier: String,
    pub tracking_number: String,
}

/// A refund of the order and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefundView {
    pub refund_id: RefundId,
    pub amount: Money,
    pub lines: Vec<RefundLineData>,
    pub shipping: Money,
    pub restock: bool,
    pub reason: String,
    pub origin: RefundOrigin,
    pub state: OrderRefundState,
    /// Why it was released, once it was.
    pub released_because: Option<String>,
}

impl OrderView {
    /// The money given back so far (refunds set aside but not yet refunded do not count).
    pub fn refunded_total(&self) -> Money {
        self.refunds
            .iter()
            .filter(|refund| refund.state == OrderRefundState::Refunded)
            .fold(
                Money::zero(self.currency).round_to_minor_units(),
                |sum, refund| {
                    sum.checked_add(&refund.amount)
                        .expect("refunds of one order stay within what was paid")
                },
            )
    }
}

/// Why an order was cancelled, and whether money had come in (a refund is due).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationView {
    pub reason: String,
    pub was_paid: bool,
}

/// The view after `event`, one version later. A view that does not exist yet is only started by
/// `OrderPlaced`; other events without a view leave it absent.
pub fn apply_order_event(
    view: Option<OrderView>,
    order_id: OrderId,
    event: &OrderEvent,
) -> Option<OrderView> {
    match (view, event) {
        (
            previous,
            OrderEvent::OrderPlaced {
                checkout_id,
                customer_id,
                email,
                shipping_address,
                currency,
                lines,
                subtotal,
                shipping_total,
                total,
                placed_at,
                promotion_code,
                discount_total,
                number,
                shipping_tax,
                tax_total,
                ..
            },
        ) => Some(OrderView {
            shipping_tax: shipping_tax.clone(),
            tax_total: *tax_total,
            number: *number,
            promotion_code: promotion_code.clone(),
            discount_total: *discount_total,
            id: order_id,
            status: OrderStatus::Placed,
            checkout_id: *checkout_id,
            customer_id: *customer_id,
            email: email.clone(),
            shipping_address: shipping_address.clone(),
            currency: *currency,
            lines: lines.iter().map(OrderLineView::from).collect(),
            subtotal: *subtotal,
            shipping_total: *shipping_total,
            total: *total,
            payment_id: None,
            fulfillment: None,
            cancellation: None,
            refunds: Vec::new(),
            placed_at: *placed_at,
            version: previous.map_or(0, |p| p.version) + 1,
        }),
        (None, _) => None,
        (Some(mut view), event) => {
            match event {
                OrderEvent::OrderPlaced { .. } => {}
                OrderEvent::OrderPaid { payment_id, .. } => {
                    view.status = OrderStatus::Paid;
                    view.payment_id = Some(*payment_id);
                }
                OrderEvent::OrderFulfilled {
                    carrier,
                    tracking_number,
                } => {
                    view.status = OrderStatus::Fulfilled;
                    view.fulfillment = Some(FulfillmentView {
                        carrier: carrier.clone(),
                        tracking_number: tracking_number.clone(),
                    });
                }
                OrderEvent::OrderCompleted {} => view.status = OrderStatus::Completed,
                OrderEvent::OrderCancelled { reason, was_paid } => {
                    view.status = OrderStatus::Cancelled;
                    view.cancellation = Some(CancellationView {
                        reason: reason.clone(),
                        was_paid: *was_paid,
                    });
                }
                OrderEvent::OrderRefundRequested {
                    refund_id,
                    amount,
                    lines,
                    shipping,
                    restock,
                    reason,
                    origin,
                } => view.refunds.push(OrderRefundView {
                    refund_id: *refund_id,
                    amount: *amount,
                    lines: lines.clone(),
                    shipping: *shipping,
                    restock: *restock,
                    reason: reason.clone(),
                    origin: *origin,
                    state: OrderRefundState::Requested,
                    released_because: None,
                }),
                OrderEvent::OrderRefunded { refund_id, .. } => {
                    if let Some(refund) =
                        view.refunds.iter_mut().find(|r| r.refund_id == *refund_id)
                    {
                        refund.state = OrderRefundState::Refunded;
                    }
                }
                OrderEvent::OrderRefundReleased { refund_id, reason } => {
                    if let Some(refund) =
                        view.refunds.iter_mut().find(|r| r.refund_id == *refund_id)
                    {
                        refund.state = OrderRefundState::Released;
                        refund.released_because = Some(reason.clone());
                    }
                }
                OrderEvent::PersonalDataErased {} => {
                    view.email = shared_kernel::ERASED.to_owned();
                    view.shipping_address = AddressData::erased();
                }
            }
            view.version += 1;
            Some(view)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use shared_kernel::{EmailAddress, PostalAddress, Quantity, Sku};

    use super::*;
    use crate::values::OrderLine;

    fn order_id() -> OrderId {
        OrderId::from_uuid(uuid::Uuid::from_u128(7))
    }

    fn payment_id() -> PaymentId {
        PaymentId::from_uuid(uuid::Uuid::from_u128(9))
    }

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
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

    fn placed() -> OrderEvent {
        let line = OrderLine::new(
            Sku::parse("TEE-S").unwrap(),
            ProductId::from_uuid(uuid::Uuid::from_u128(1)),
            "Tee".into(),
            Quantity::new(2).unwrap(),
            eur("19.90"),
            Currency::EUR,
        )
        .unwrap();
        OrderEvent::OrderPlaced {
            order_id: order_id(),
            checkout_id: Some(CheckoutId::from_uuid(uuid::Uuid::from_u128(3))),
            customer_id: None,
            email: EmailAddress::parse("Ada@Example.COM").unwrap().into(),
            shipping_address: address().into(),
            currency: Currency::EUR,
            lines: vec![line.data()],
            subtotal: eur("39.80"),
            shipping_total: eur("0.00"),
            total: eur("39.80"),
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
            payment_id: payment_id(),
            amount: eur("39.80"),
        }
    }

    fn fulfilled() -> OrderEvent {
        OrderEvent::OrderFulfilled {
            carrier: "DHL".into(),
            tracking_number: "JD0123".into(),
        }
    }

    fn replay(events: &[OrderEvent]) -> Option<OrderView> {
        events.iter().fold(None, |view, event| {
            apply_order_event(view, order_id(), event)
        })
    }

    #[test]
    fn placing_starts_a_placed_view_at_version_one() {
        let view = replay(&[placed()]).unwrap();
        assert_eq!(view.id, order_id());
        assert_eq!(view.status, OrderStatus::Placed);
        assert_eq!(
            view.checkout_id,
            Some(CheckoutId::from_uuid(uuid::Uuid::from_u128(3)))
        );
        assert_eq!(view.customer_id, None);
        assert_eq!(view.email, "Ada@example.com");
        assert_eq!(view.shipping_address, AddressData::from(address()));
        assert_eq!(view.currency, Currency::EUR);
        assert_eq!(
            view.lines,
            vec![OrderLineView {
                sku: "TEE-S".into(),
                product_id: ProductId::from_uuid(uuid::Uuid::from_u128(1)),
                title: "Tee".into(),
                quantity: 2,
                unit_price: eur("19.90"),
                line_total: eur("39.80"),
                discount: None,
                tax: None,
            }]
        );
        assert_eq!(view.subtotal, eur("39.80"));
        assert_eq!(view.shipping_total, eur("0.00"));
        assert_eq!(view.total, eur("39.80"));
        assert_eq!(view.payment_id, None);
        assert_eq!(view.fulfillment, None);
        assert_eq!(view.cancellation, None);
        assert_eq!(view.placed_at, placed_at());
        assert_eq!(view.version, 1);
    }

    #[test]
    fn refunds_are_listed_with_their_state_and_only_refunded_ones_count() {
        let refund = |n| RefundId::from_uuid(uuid::Uuid::from_u128(n));
        let requested = |n, amount: &str| OrderEvent::OrderRefundRequested {
            refund_id: refund(n),
            amount: eur(amount),
            lines: vec![RefundLineData {
                sku: "TEE-S".into(),
                quantity: 1,
                amount: eur(amount),
            }],
            shipping: eur("0.00"),
            restock: true,
            reason: "Too small".into(),
            origin: RefundOrigin::Return,
        };
        let view = replay(&[
            placed(),
            paid(),
            requested(1, "19.90"),
            OrderEvent::OrderRefunded {
                refund_id: refund(1),
                amount: eur("19.90"),
                total_refunded: eur("19.90"),
            },
            requested(2, "19.90"),
            OrderEvent::OrderRefundReleased {
                refund_id: refund(2),
                reason: "Provider refused".into(),
            },
            requested(3, "19.90"),
        ])
        .unwrap();
        let states: Vec<_> = view.refunds.iter().map(|r| r.state).collect();
        assert_eq!(
            states,
            [
                OrderRefundState::Refunded,
                OrderRefundState::Released,
                OrderRefundState::Requested
            ]
        );
        assert_eq!(
            view.refunds[1].released_because.as_deref(),
            Some("Provider refused")
        );
        assert_eq!(view.refunded_total(), eur("19.90"));
        assert_eq!(view.status, OrderStatus::Paid);
        assert_eq!(view.version, 7);
    }

    #[test]
    fn a_view_stored_before_refunds_existed_loads_with_none() {
        let mut stored = serde_json::to_value(replay(&[placed(), paid()]).unwrap()).unwrap();
        stored.as_object_mut().unwrap().remove("refunds");
        let view: OrderView = serde_json::from_value(stored).unwrap();
        assert!(view.refunds.is_empty());
        assert_eq!(view.refunded_total(), eur("0.00"));
    }

    #[test]
    fn events_before_placement_leave_no_view() {
        assert_eq!(replay(&[paid(), OrderEvent::OrderCompleted {}]), None);
    }

    #[test]
    fn payment_records_the_payment_id() {
        let view = replay(&[placed(), paid()]).unwrap();
        assert_eq!(view.status, OrderStatus::Paid);
        assert_eq!(view.payment_id, Some(payment_id()));
        assert_eq!(view.version, 2);
    }

    #[test]
    fn fulfilment_records_carrier_and_tracking_number() {
        let view = replay(&[placed(), paid(), fulfilled()]).unwrap();
        assert_eq!(view.status, OrderStatus::Fulfilled);
        assert_eq!(
            view.fulfillment,
            Some(FulfillmentView {
                carrier: "DHL".into(),
                tracking_number: "JD0123".into(),
            })
        );
        assert_eq!(view.version, 3);
    }

    #[test]
    fn completion_keeps_the_fulfilment() {
        let view = replay(&[placed(), paid(), fulfilled(), OrderEvent::OrderCompleted {}]).unwrap();
        assert_eq!(view.status, OrderStatus::Completed);
        assert!(view.fulfillment.is_some());
        assert_eq!(view.version, 4);
    }

    #[test]
    fn cancellation_records_the_reason_and_whether_it_was_paid() {
        let view = replay(&[
            placed(),
            paid(),
            OrderEvent::OrderCancelled {
                reason: "Changed my mind".into(),
                was_paid: true,
            },
        ])
        .unwrap();
        assert_eq!(view.status, OrderStatus::Cancelled);
        assert_eq!(view.payment_id, Some(payment_id()));
        assert_eq!(
            view.cancellation,
            Some(CancellationView {
                reason: "Changed my mind".into(),
                was_paid: true,
            })
        );
        assert_eq!(view.version, 3);
    }

    #[test]
    fn serializes_with_string_amounts_and_snake_case_status() {
        let view = replay(&[placed(), paid()]).unwrap();
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["status"], "paid");
        assert_eq!(json["total"]["amount"], "39.80");
        assert_eq!(json["shipping_total"]["amount"], "0.00");
        assert_eq!(json["lines"][0]["quantity"], 2);
        assert_eq!(json["shipping_address"]["country"], "GB");
        assert_eq!(json["email"], "Ada@example.com");
        assert_eq!(serde_json::from_value::<OrderView>(json).unwrap(), view);
    }
}
