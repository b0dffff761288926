//! `payments.*`: what happened to money, for accounting and reconciliation. An authorization
//! whose outcome is not known yet stays internal until it is known.

use payments::{DeclineCode, Payment, PaymentEvent};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, stream_uuid, Contract, MoneyV1};

/// The provider holds `amount` on the shopper's payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentAuthorizedV1 {
    pub payment_id: Uuid,
    pub amount: MoneyV1,
    /// The provider's reference of the hold.
    pub authorization_id: String,
}

impl Contract for PaymentAuthorizedV1 {
    const TYPE: &'static str = "payments.payment_authorized";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "The provider holds the amount on the shopper's payment method.";
}

/// Why the provider declined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclineCodeV1 {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    Other,
}

/// The provider refused the payment method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentDeclinedV1 {
    pub payment_id: Uuid,
    pub amount: MoneyV1,
    pub code: DeclineCodeV1,
    /// The provider's explanation, fit to show the shopper.
    pub message: String,
}

impl Contract for PaymentDeclinedV1 {
    const TYPE: &'static str = "payments.payment_declined";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "The provider declined the shopper's payment method.";
}

/// Part or all of the hold was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentCapturedV1 {
    pub payment_id: Uuid,
    pub amount: MoneyV1,
    /// The provider's reference of this capture.
    pub capture_id: String,
    /// Everything captured on the payment so far.
    pub total_captured: MoneyV1,
}

impl Contract for PaymentCapturedV1 {
    const TYPE: &'static str = "payments.payment_captured";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Money was taken from an authorization.";
}

/// The hold was released without taking anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentVoidedV1 {
    pub payment_id: Uuid,
}

impl Contract for PaymentVoidedV1 {
    const TYPE: &'static str = "payments.payment_voided";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "An authorization was released without capturing anything.";
}

/// Money went back to the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRefundedV1 {
    pub payment_id: Uuid,
    pub refund_id: Uuid,
    pub amount: MoneyV1,
    /// Everything refunded on the payment so far.
    pub total_refunded: MoneyV1,
}

impl Contract for PaymentRefundedV1 {
    const TYPE: &'static str = "payments.payment_refunded";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Captured money was returned to the shopper.";
}

fn decline_code(code: DeclineCode) -> DeclineCodeV1 {
    match code {
        DeclineCode::CardDeclined => DeclineCodeV1::CardDeclined,
        DeclineCode::InsufficientFunds => DeclineCodeV1::InsufficientFunds,
        DeclineCode::ExpiredCard => DeclineCodeV1::ExpiredCard,
        DeclineCode::Other => DeclineCodeV1::Other,
    }
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let payment_id = stream_uuid(event)?;
    Ok(Some(match decode::<Payment>(event)? {
        PaymentEvent::PaymentAuthorized {
            amount,
            authorization_id,
            ..
        } => published(
            event,
            PaymentAuthorizedV1 {
                payment_id,
                amount: amount.into(),
                authorization_id,
            },
        )?,
        PaymentEvent::PaymentDeclined {
            amount,
            code,
            message,
            ..
        } => published(
            event,
            PaymentDeclinedV1 {
                payment_id,
                amount: amount.into(),
                code: decline_code(code),
                message,
            },
        )?,
        PaymentEvent::PaymentAuthorizationUnknown { .. } => return Ok(None),
        PaymentEvent::PaymentCaptured {
            amount,
            capture_id,
            total_captured,
        } => published(
            event,
            PaymentCapturedV1 {
                payment_id,
                amount: amount.into(),
                capture_id,
                total_captured: total_captured.into(),
            },
        )?,
        PaymentEvent::PaymentVoided {} => published(event, PaymentVoidedV1 { payment_id })?,
        PaymentEvent::PaymentRefunded {
            refund_id,
            amount,
            total_refunded,
        } => published(
            event,
            PaymentRefundedV1 {
                payment_id,
                refund_id: refund_id.as_uuid(),
                amount: amount.into(),
                total_refunded: total_refunded.into(),
            },
        )?,
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<PaymentAuthorizedV1>(),
        schema_of::<PaymentDeclinedV1>(),
        schema_of::<PaymentCapturedV1>(),
        schema_of::<PaymentVoidedV1>(),
        schema_of::<PaymentRefundedV1>(),
    ]
}
