//! `orders.*`: what was bought, where it goes and how far it has got: what warehouses, mail
//! and accounting follow. `order_placed` carries personal data (email, address; ADR 0016).

use chrono::{DateTime, Utc};
use orders::{Order, OrderEvent, OrderLineData, RefundLineData};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use shared_kernel::AddressData;
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, stream_uuid, Contract, MoneyV1};

/// Where an order ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AddressV1 {
    /// Recipient.
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// State, province or county, where the country uses one.
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub phone: Option<String>,
}

impl From<AddressData> for AddressV1 {
    fn from(address: AddressData) -> Self {
        Self {
            name: address.name,
            line1: address.line1,
            line2: address.line2,
            city: address.city,
            postal_code: address.postal_code,
            region: address.region,
            country: address.country,
            phone: address.phone,
        }
    }
}

/// One line of an order, at the price agreed at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLineV1 {
    pub sku: String,
    pub product_id: Uuid,
    pub title: String,
    #[schemars(range(min = 1))]
    pub quantity: u32,
    pub unit_price: MoneyV1,
    /// `unit_price × quantity`.
    pub line_total: MoneyV1,
}

impl From<OrderLineData> for OrderLineV1 {
    fn from(line: OrderLineData) -> Self {
        Self {
            sku: line.sku,
            product_id: line.product_id.as_uuid(),
            title: line.title,
            quantity: line.quantity.get(),
            unit_price: line.unit_price.into(),
            line_total: line.line_total.into(),
        }
    }
}

/// An order exists: what was bought, by whom, shipped where, for how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderPlacedV1 {
    pub order_id: Uuid,
    /// The checkout that placed it; absent for orders staff placed by hand.
    pub checkout_id: Option<Uuid>,
    /// Absent for a guest.
    pub customer_id: Option<Uuid>,
    pub email: String,
    pub shipping_address: AddressV1,
    /// ISO 4217 code of every amount in the order.
    pub currency: String,
    pub lines: Vec<OrderLineV1>,
    pub subtotal: MoneyV1,
    pub shipping_total: MoneyV1,
    /// What the shopper pays: `subtotal + shipping_total`.
    pub total: MoneyV1,
    pub placed_at: DateTime<Utc>,
}

impl Contract for OrderPlacedV1 {
    const TYPE: &'static str = "orders.order_placed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "An order was placed: its lines, totals, contact email and shipping address.";
}

/// The tax charged on one amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaxV2 {
    /// In percent, as a decimal string (`"19"`, `"8.875"`).
    pub rate: String,
    pub amount: MoneyV1,
}

/// One line of an order with its discount and tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLineV2 {
    pub sku: String,
    pub product_id: Uuid,
    pub title: String,
    #[schemars(range(min = 1))]
    pub quantity: u32,
    pub unit_price: MoneyV1,
    /// `unit_price × quantity`.
    pub line_total: MoneyV1,
    /// The line's share of the promotion's discount (zero without one).
    pub discount: MoneyV1,
    /// The line's tax; absent when the order charged no tax.
    pub tax: Option<TaxV2>,
}

/// An order exists, with totals that version 1 cannot state (a promotion discount or tax).
/// Version 1's `total` is documented as `subtotal + shipping_total`, which such an order
/// breaks, so it is published as version 2 (ADR 0015); every other order stays version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderPlacedV2 {
    pub order_id: Uuid,
    pub number: Option<u64>,
    pub checkout_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub email: String,
    pub shipping_address: AddressV1,
    /// ISO 4217 code of every amount in the order.
    pub currency: String,
    pub lines: Vec<OrderLineV2>,
    pub subtotal: MoneyV1,
    pub promotion_code: Option<String>,
    /// The sum of the lines' discounts.
    pub discount_total: MoneyV1,
    /// What the shopper pays for shipping (after a free-shipping code).
    pub shipping_total: MoneyV1,
    /// The tax on the shipping; absent when the order charged no tax.
    pub shipping_tax: Option<TaxV2>,
    /// The lines' tax plus the shipping's (zero without tax).
    pub tax_total: MoneyV1,
    /// Whether the prices included the tax (it is inside `total`) or it came on top.
    pub taxes_included: bool,
    /// What the shopper pays: `subtotal - discount_total + shipping_total`, plus `tax_total`
    /// unless `taxes_included`.
    pub total: MoneyV1,
    pub placed_at: DateTime<Utc>,
}

impl Contract for OrderPlacedV2 {
    const TYPE: &'static str = "orders.order_placed";
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str = "An order was placed with a promotion discount or tax: its \
         lines with their discount and tax, its totals, contact email and shipping address.";
}

fn tax_v2(tax: orders::TaxData) -> TaxV2 {
    TaxV2 {
        rate: tax.rate.normalize().to_string(),
        amount: tax.amount.into(),
    }
}

/// The order's total was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderPaidV1 {
    pub order_id: Uuid,
    pub payment_id: Uuid,
    pub amount: MoneyV1,
}

impl Contract for OrderPaidV1 {
    const TYPE: &'static str = "orders.order_paid";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "An order was paid in full; it is ready to ship.";
}

/// The order was handed to a carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderFulfilledV1 {
    pub order_id: Uuid,
    pub carrier: String,
    pub tracking_number: String,
}

impl Contract for OrderFulfilledV1 {
    const TYPE: &'static str = "orders.order_fulfilled";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "An order was handed to a carrier.";
}

/// The order was delivered and closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCompletedV1 {
    pub order_id: Uuid,
}

impl Contract for OrderCompletedV1 {
    const TYPE: &'static str = "orders.order_completed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "An order was delivered and closed.";
}

/// The order was cancelled before it shipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCancelledV1 {
    pub order_id: Uuid,
    pub reason: String,
    /// Whether money had come in (a refund is due).
    pub was_paid: bool,
}

impl Contract for OrderCancelledV1 {
    const TYPE: &'static str = "orders.order_cancelled";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "An order was cancelled before it shipped.";
}

/// One line's part of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefundLineV1 {
    pub sku: String,
    /// Units given back; 0 when the refund is of money only.
    pub quantity: u32,
    /// The money given back for the line.
    pub amount: MoneyV1,
}

impl From<RefundLineData> for RefundLineV1 {
    fn from(line: RefundLineData) -> Self {
        Self {
            sku: line.sku,
            quantity: line.quantity,
            amount: line.amount.into(),
        }
    }
}

/// Part of what was paid for an order, and units of its lines, were set aside for a refund:
/// no other refund can take them until this one is refunded or released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRefundRequestedV1 {
    pub order_id: Uuid,
    pub refund_id: Uuid,
    /// `lines` and `shipping` sum exactly to it.
    pub amount: MoneyV1,
    /// In the order's line order; only the lines the refund gives something back for.
    pub lines: Vec<RefundLineV1>,
    /// The part of `amount` that refunds shipping.
    pub shipping: MoneyV1,
    /// Whether the units given back go back into stock.
    pub restock: bool,
    pub reason: String,
    /// Who asked: `admin`, `return` or `cancellation` (more may be added).
    pub origin: String,
}

impl Contract for OrderRefundRequestedV1 {
    const TYPE: &'static str = "orders.refund_requested";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "Money and units of an order were set aside for a refund that is under way.";
}

/// The money of a refund went back to the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRefundedV1 {
    pub order_id: Uuid,
    pub refund_id: Uuid,
    pub amount: MoneyV1,
    /// All the order's refunds so far, this one included.
    pub total_refunded: MoneyV1,
}

impl Contract for OrderRefundedV1 {
    const TYPE: &'static str = "orders.order_refunded";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "The money of a refund of an order went back to the shopper.";
}

/// A refund could not give the money back: what it set aside is refundable again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRefundReleasedV1 {
    pub order_id: Uuid,
    pub refund_id: Uuid,
    pub reason: String,
}

impl Contract for OrderRefundReleasedV1 {
    const TYPE: &'static str = "orders.refund_released";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A refund of an order failed; what it had set aside is refundable again.";
}

/// The shopper's personal data in an order was erased at their request. Every service that
/// kept a copy of it (from `orders.order_placed`) must erase that copy too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PersonalDataErasedV1 {
    pub order_id: Uuid,
}

impl Contract for PersonalDataErasedV1 {
    const TYPE: &'static str = "orders.personal_data_erased";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "The shopper's email and address in an order were erased at \
         their request; consumers erase every copy they kept.";
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let order_id = stream_uuid(event)?;
    Ok(Some(match decode::<Order>(event)? {
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
        } if discount_total.is_some() || tax_total.is_some() => {
            let zero = || shared_kernel::Money::zero(currency).round_to_minor_units();
            published(
                event,
                OrderPlacedV2 {
                    order_id,
                    number,
                    checkout_id: checkout_id.map(|id| id.as_uuid()),
                    customer_id: customer_id.map(|id| id.as_uuid()),
                    email,
                    shipping_address: shipping_address.into(),
                    currency: currency.code().to_owned(),
                    lines: lines
                        .into_iter()
                        .map(|line| OrderLineV2 {
                            sku: line.sku,
                            product_id: line.product_id.as_uuid(),
                            title: line.title,
                            quantity: line.quantity.get(),
                            unit_price: line.unit_price.into(),
                            line_total: line.line_total.into(),
                            discount: line.discount.unwrap_or_else(zero).into(),
                            tax: line.tax.map(tax_v2),
                        })
                        .collect(),
                    subtotal: subtotal.into(),
                    promotion_code,
                    discount_total: discount_total.unwrap_or_else(zero).into(),
                    shipping_total: shipping_total.into(),
                    taxes_included: shipping_tax.as_ref().is_some_and(|tax| tax.included),
                    shipping_tax: shipping_tax.map(tax_v2),
                    tax_total: tax_total.unwrap_or_else(zero).into(),
                    total: total.into(),
                    placed_at,
                },
            )?
        }
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
            ..
        } => published(
            event,
            OrderPlacedV1 {
                order_id,
                checkout_id: checkout_id.map(|id| id.as_uuid()),
                customer_id: customer_id.map(|id| id.as_uuid()),
                email,
                shipping_address: shipping_address.into(),
                currency: currency.code().to_owned(),
                lines: lines.into_iter().map(OrderLineV1::from).collect(),
                subtotal: subtotal.into(),
                shipping_total: shipping_total.into(),
                total: total.into(),
                placed_at,
            },
        )?,
        OrderEvent::OrderPaid { payment_id, amount } => published(
            event,
            OrderPaidV1 {
                order_id,
                payment_id: payment_id.as_uuid(),
                amount: amount.into(),
            },
        )?,
        OrderEvent::OrderFulfilled {
            carrier,
            tracking_number,
        } => published(
            event,
            OrderFulfilledV1 {
                order_id,
                carrier,
                tracking_number,
            },
        )?,
        OrderEvent::OrderCompleted {} => published(event, OrderCompletedV1 { order_id })?,
        OrderEvent::OrderCancelled { reason, was_paid } => published(
            event,
            OrderCancelledV1 {
                order_id,
                reason,
                was_paid,
            },
        )?,
        OrderEvent::OrderRefundRequested {
            refund_id,
            amount,
            lines,
            shipping,
            restock,
            reason,
            origin,
        } => published(
            event,
            OrderRefundRequestedV1 {
                order_id,
                refund_id: refund_id.as_uuid(),
                amount: amount.into(),
                lines: lines.into_iter().map(RefundLineV1::from).collect(),
                shipping: shipping.into(),
                restock,
                reason,
                origin: origin.to_string(),
            },
        )?,
        OrderEvent::OrderRefunded {
            refund_id,
            amount,
            total_refunded,
        } => published(
            event,
            OrderRefundedV1 {
                order_id,
                refund_id: refund_id.as_uuid(),
                amount: amount.into(),
                total_refunded: total_refunded.into(),
            },
        )?,
        OrderEvent::OrderRefundReleased { refund_id, reason } => published(
            event,
            OrderRefundReleasedV1 {
                order_id,
                refund_id: refund_id.as_uuid(),
                reason,
            },
        )?,
        OrderEvent::PersonalDataErased {} => published(event, PersonalDataErasedV1 { order_id })?,
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<OrderPlacedV1>(),
        schema_of::<OrderPlacedV2>(),
        schema_of::<OrderPaidV1>(),
        schema_of::<OrderFulfilledV1>(),
        schema_of::<OrderCompletedV1>(),
        schema_of::<OrderCancelledV1>(),
        schema_of::<OrderRefundRequestedV1>(),
        schema_of::<OrderRefundedV1>(),
        schema_of::<OrderRefundReleasedV1>(),
        schema_of::<PersonalDataErasedV1>(),
    ]
}
