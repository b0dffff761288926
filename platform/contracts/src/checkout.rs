//! `checkout.*`: a checkout's start and its outcome, for funnels and support. The saga's own
//! step records (its `StockReserved`, `OrderPlaced`, ...) are internal: consumers follow the
//! contexts that own those facts. No contact data or payment token is published here.

use checkout::{Checkout, CheckoutEvent, CheckoutLineData, FailureReason};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, stream_uuid, Contract, MoneyV1};

/// One line a checkout is buying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckoutLineV1 {
    pub sku: String,
    pub product_id: Uuid,
    pub title: String,
    #[schemars(range(min = 1))]
    pub quantity: u32,
    pub unit_price: MoneyV1,
}

impl From<CheckoutLineData> for CheckoutLineV1 {
    fn from(line: CheckoutLineData) -> Self {
        Self {
            sku: line.sku,
            product_id: line.product_id.as_uuid(),
            title: line.title,
            quantity: line.quantity.get(),
            unit_price: line.unit_price.into(),
        }
    }
}

/// A shopper started checking a cart out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckoutStartedV1 {
    pub checkout_id: Uuid,
    pub cart_id: Uuid,
    /// Absent for a guest.
    pub customer_id: Option<Uuid>,
    pub currency: String,
    pub lines: Vec<CheckoutLineV1>,
    pub total: MoneyV1,
}

impl Contract for CheckoutStartedV1 {
    const TYPE: &'static str = "checkout.checkout_started";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A shopper started checking a cart out.";
}

/// The checkout placed its order and finished every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckoutCompletedV1 {
    pub checkout_id: Uuid,
    pub order_id: Uuid,
}

impl Contract for CheckoutCompletedV1 {
    const TYPE: &'static str = "checkout.checkout_completed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A checkout placed its order, was paid and is complete.";
}

/// A step after the order was placed was refused for good (a capture the provider rejects,
/// a reservation that can no longer be committed, an order cancelled before it was marked
/// paid): staff must resolve the checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckoutNeedsAttentionV1 {
    pub checkout_id: Uuid,
    /// The step refused, e.g. `capture_payment`, `mark_order_paid`, `commit_stock:<sku>`.
    pub step: String,
    pub reason: String,
}

impl Contract for CheckoutNeedsAttentionV1 {
    const TYPE: &'static str = "checkout.checkout_needs_attention";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A checkout's order is placed but a later step was refused for good; staff must act.";
}

/// Why a checkout failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FailureCodeV1 {
    OutOfStock,
    PaymentDeclined,
    PaymentTimeout,
    OrderRejected,
}

/// The checkout failed; every step it took was undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckoutFailedV1 {
    pub checkout_id: Uuid,
    pub code: FailureCodeV1,
    /// What the shopper was told.
    pub message: String,
    /// The SKU that was out of stock, for `out_of_stock`.
    pub sku: Option<String>,
}

impl Contract for CheckoutFailedV1 {
    const TYPE: &'static str = "checkout.checkout_failed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A checkout failed and undid every step: stock released, payment voided, cart unlocked.";
}

/// The checkout failed because its promotion code could not be redeemed. Version 1's codes
/// are a closed set and a new value would break its consumers (ADR 0015), so this reason is
/// published as version 2; every other failure stays version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckoutFailedV2 {
    pub checkout_id: Uuid,
    /// Why, as the checkout's failure says it: `promotion_refused` (later reasons may be
    /// added to this version: treat an unknown one as a generic failure).
    pub code: String,
    /// What the shopper was told.
    pub message: String,
    /// The promotion code that could not be used.
    pub promotion_code: Option<String>,
    /// The coupons context's reason for refusing it (`promotion_used_up`, ...).
    pub promotion_refusal: Option<String>,
}

impl Contract for CheckoutFailedV2 {
    const TYPE: &'static str = "checkout.checkout_failed";
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str =
        "A checkout failed for a reason version 1 cannot name (its promotion code was refused) \
         and undid every step: cart unlocked, nothing held or charged.";
}

fn failure(
    event: &FeedEvent,
    checkout_id: Uuid,
    reason: &FailureReason,
) -> Result<PublishedEvent, PublishError> {
    let (code, sku) = match reason {
        FailureReason::OutOfStock { sku, .. } => (FailureCodeV1::OutOfStock, Some(sku.clone())),
        FailureReason::PaymentDeclined { .. } => (FailureCodeV1::PaymentDeclined, None),
        FailureReason::PaymentTimedOut => (FailureCodeV1::PaymentTimeout, None),
        FailureReason::OrderRejected { .. } => (FailureCodeV1::OrderRejected, None),
        FailureReason::PromotionRefused {
            promotion_code,
            refusal,
            ..
        } => {
            return published(
                event,
                CheckoutFailedV2 {
                    checkout_id,
                    code: reason.code().to_owned(),
                    message: reason.shopper_message(),
                    promotion_code: Some(promotion_code.clone()),
                    promotion_refusal: Some(refusal.clone()),
                },
            )
        }
    };
    published(
        event,
        CheckoutFailedV1 {
            checkout_id,
            code,
            message: reason.shopper_message(),
            sku,
        },
    )
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let checkout_id = stream_uuid(event)?;
    Ok(Some(match decode::<Checkout>(event)? {
        CheckoutEvent::CheckoutStarted {
            cart_id,
            customer_id,
            currency,
            lines,
            total,
            ..
        } => published(
            event,
            CheckoutStartedV1 {
                checkout_id,
                cart_id: cart_id.as_uuid(),
                customer_id: customer_id.map(|id| id.as_uuid()),
                currency: currency.code().to_owned(),
                lines: lines.into_iter().map(CheckoutLineV1::from).collect(),
                total: total.into(),
            },
        )?,
        CheckoutEvent::CheckoutCompleted { order_id } => published(
            event,
            CheckoutCompletedV1 {
                checkout_id,
                order_id: order_id.as_uuid(),
            },
        )?,
        CheckoutEvent::CheckoutFailed { reason } => failure(event, checkout_id, &reason)?,
        CheckoutEvent::CheckoutNeedsAttention { step, reason } => published(
            event,
            CheckoutNeedsAttentionV1 {
                checkout_id,
                step,
                reason,
            },
        )?,
        // The saga's records of its own steps: internal (the owning contexts publish the facts).
        CheckoutEvent::StockReserved { .. }
        | CheckoutEvent::ReservationsCompleted {}
        | CheckoutEvent::StockUnavailable { .. }
        | CheckoutEvent::PaymentAuthorized {}
        | CheckoutEvent::PaymentDeclined { .. }
        | CheckoutEvent::PaymentOutcomeUnknown { .. }
        | CheckoutEvent::PaymentTimedOut {}
        | CheckoutEvent::OrderPlaced { .. }
        | CheckoutEvent::OrderRejected { .. }
        | CheckoutEvent::PaymentCaptured {}
        | CheckoutEvent::OrderMarkedPaid {}
        | CheckoutEvent::ReservationCommitted { .. }
        | CheckoutEvent::CartCheckedOut {}
        | CheckoutEvent::StockReleased { .. }
        | CheckoutEvent::PaymentVoided {}
        | CheckoutEvent::CartReleased {}
        | CheckoutEvent::PromotionRedeemed {}
        | CheckoutEvent::PromotionRefused { .. }
        | CheckoutEvent::RedemptionConfirmed {}
        | CheckoutEvent::RedemptionReleased {} => return Ok(None),
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<CheckoutStartedV1>(),
        schema_of::<CheckoutCompletedV1>(),
        schema_of::<CheckoutFailedV1>(),
        schema_of::<CheckoutFailedV2>(),
        schema_of::<CheckoutNeedsAttentionV1>(),
    ]
}
