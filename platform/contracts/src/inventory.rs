//! `inventory.*`: stock per SKU, for warehouses and availability feeds. The stream id is the
//! SKU.

use chrono::{DateTime, Utc};
use inventory::{AdjustmentReason, StockEvent, StockItem};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, Contract};

/// Units arrived (a purchase order, a transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReceivedV1 {
    pub sku: String,
    #[schemars(range(min = 1))]
    pub quantity: u32,
    /// The caller's reference, e.g. a purchase order number.
    pub reference: Option<String>,
}

impl Contract for StockReceivedV1 {
    const TYPE: &'static str = "inventory.stock_received";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Units of a SKU arrived and are on hand.";
}

/// Why stock was adjusted by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReasonV1 {
    Damaged,
    Lost,
    Found,
    Recount,
    Returned,
    /// See `note`.
    Other,
}

/// The count on hand was corrected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockAdjustedV1 {
    pub sku: String,
    /// Units added (positive) or taken away (negative).
    pub delta: i64,
    pub reason: AdjustmentReasonV1,
    /// The explanation given with `other`.
    pub note: Option<String>,
}

impl Contract for StockAdjustedV1 {
    const TYPE: &'static str = "inventory.stock_adjusted";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "The count on hand of a SKU was corrected by hand.";
}

/// Units were held for a checkout until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReservedV1 {
    pub sku: String,
    pub reservation_id: Uuid,
    #[schemars(range(min = 1))]
    pub quantity: u32,
    pub expires_at: DateTime<Utc>,
}

impl Contract for StockReservedV1 {
    const TYPE: &'static str = "inventory.stock_reserved";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Units of a SKU were held for a checkout.";
}

/// A reservation ended: its units are available again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationReleasedV1 {
    pub sku: String,
    pub reservation_id: Uuid,
}

impl Contract for ReservationReleasedV1 {
    const TYPE: &'static str = "inventory.reservation_released";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A reservation was released; its units are available again.";
}

/// A reservation became a sale: its units left the stock on hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCommittedV1 {
    pub sku: String,
    pub reservation_id: Uuid,
    #[schemars(range(min = 1))]
    pub quantity: u32,
}

impl Contract for ReservationCommittedV1 {
    const TYPE: &'static str = "inventory.reservation_committed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A reservation became a sale; its units are to be shipped.";
}

/// A reservation ran out before it was committed: its units are available again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReservationExpiredV1 {
    pub sku: String,
    pub reservation_id: Uuid,
}

impl Contract for ReservationExpiredV1 {
    const TYPE: &'static str = "inventory.reservation_expired";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A reservation expired; its units are available again.";
}

/// Units that came back (a refund's restock) are in stock again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StockReturnedV1 {
    pub sku: String,
    /// The same for every retry of one restock: count it once.
    pub return_id: Uuid,
    #[schemars(range(min = 1))]
    pub quantity: u32,
}

impl Contract for StockReturnedV1 {
    const TYPE: &'static str = "inventory.stock_returned";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Units that came back are in stock again.";
}

fn reason(reason: AdjustmentReason) -> (AdjustmentReasonV1, Option<String>) {
    match reason {
        AdjustmentReason::Damaged => (AdjustmentReasonV1::Damaged, None),
        AdjustmentReason::Lost => (AdjustmentReasonV1::Lost, None),
        AdjustmentReason::Found => (AdjustmentReasonV1::Found, None),
        AdjustmentReason::Recount => (AdjustmentReasonV1::Recount, None),
        AdjustmentReason::Returned => (AdjustmentReasonV1::Returned, None),
        AdjustmentReason::Other(note) => (AdjustmentReasonV1::Other, Some(note)),
    }
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let sku = event.aggregate_id.clone();
    Ok(Some(match decode::<StockItem>(event)? {
        StockEvent::StockReceived {
            sku,
            quantity,
            reference,
        } => published(
            event,
            StockReceivedV1 {
                sku,
                quantity: quantity.get(),
                reference,
            },
        )?,
        StockEvent::StockAdjusted {
            sku,
            delta,
            reason: why,
        } => {
            let (reason, note) = reason(why);
            published(
                event,
                StockAdjustedV1 {
                    sku,
                    delta,
                    reason,
                    note,
                },
            )?
        }
        StockEvent::StockReserved {
            reservation_id,
            quantity,
            expires_at,
        } => published(
            event,
            StockReservedV1 {
                sku,
                reservation_id: reservation_id.as_uuid(),
                quantity: quantity.get(),
                expires_at,
            },
        )?,
        StockEvent::ReservationReleased { reservation_id } => published(
            event,
            ReservationReleasedV1 {
                sku,
                reservation_id: reservation_id.as_uuid(),
            },
        )?,
        StockEvent::ReservationCommitted {
            reservation_id,
            quantity,
        } => published(
            event,
            ReservationCommittedV1 {
                sku,
                reservation_id: reservation_id.as_uuid(),
                quantity: quantity.get(),
            },
        )?,
        StockEvent::ReservationExpired { reservation_id } => published(
            event,
            ReservationExpiredV1 {
                sku,
                reservation_id: reservation_id.as_uuid(),
            },
        )?,
        StockEvent::StockReturned {
            return_id,
            quantity,
        } => published(
            event,
            StockReturnedV1 {
                sku,
                return_id,
                quantity: quantity.get(),
            },
        )?,
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<StockReceivedV1>(),
        schema_of::<StockAdjustedV1>(),
        schema_of::<StockReservedV1>(),
        schema_of::<ReservationReleasedV1>(),
        schema_of::<ReservationCommittedV1>(),
        schema_of::<ReservationExpiredV1>(),
        schema_of::<StockReturnedV1>(),
    ]
}
