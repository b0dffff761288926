//! `promotions.*`: promotion codes and their use (ADR 0031), for marketing and analytics
//! services. The stream id is the code, upper case; every contract names it as `code`.
//!
//! A redemption is published as the code's own fact, as stock reservations are: held for a
//! checkout (`promotion_redeemed`), given back (`redemption_released`) or spent by the placed
//! order (`redemption_confirmed`). Only signed-in customers are named, by id.

use chrono::{DateTime, Utc};
use coupons::{AppliesTo, Offer, Promotion, PromotionEvent, Terms};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, Contract, MoneyV1};

/// The kinds of offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferTypeV1 {
    /// A percentage of the eligible lines' total; see `percent_off`.
    PercentOff,
    /// A fixed amount off the eligible lines' total, once per order; see `amount_off`.
    AmountOff,
    /// The whole shipping charge.
    FreeShipping,
}

/// What a code takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OfferV1 {
    #[serde(rename = "type")]
    pub kind: OfferTypeV1,
    /// With `percent_off`: above 0 and at most 100, e.g. `"12.5"`.
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?$"))]
    pub percent_off: Option<String>,
    /// With `amount_off`: one amount per currency the code can be used in.
    pub amount_off: Option<Vec<MoneyV1>>,
}

/// Which lines a discount is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppliesToTypeV1 {
    /// Every line of the order.
    Order,
    /// Only lines of the SKUs in `skus`.
    Skus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppliesToV1 {
    #[serde(rename = "type")]
    pub kind: AppliesToTypeV1,
    /// With `skus`: the SKUs the discount applies to.
    pub skus: Option<Vec<String>>,
}

/// A promotion's terms, all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TermsV1 {
    pub offer: OfferV1,
    pub applies_to: AppliesToV1,
    /// The least merchandise subtotal per currency; when set, the code can be used only in
    /// these currencies.
    pub minimum_subtotal: Option<Vec<MoneyV1>>,
    /// From when the code can be used (inclusive); `null`: from its creation.
    pub starts_at: Option<DateTime<Utc>>,
    /// Until when (exclusive); `null`: no end.
    pub ends_at: Option<DateTime<Utc>>,
    /// Uses held or spent at once, over everyone; `null`: no limit.
    #[schemars(range(min = 1))]
    pub usage_limit: Option<u32>,
    /// Uses one signed-in customer may hold or have spent; `null`: no limit.
    #[schemars(range(min = 1))]
    pub per_customer_limit: Option<u32>,
}

impl From<Terms> for TermsV1 {
    fn from(terms: Terms) -> Self {
        let money = |amounts: &coupons::CurrencyAmounts| -> Vec<MoneyV1> {
            amounts
                .amounts()
                .iter()
                .copied()
                .map(MoneyV1::from)
                .collect()
        };
        let offer = match &terms.offer {
            Offer::PercentOff { percent } => OfferV1 {
                kind: OfferTypeV1::PercentOff,
                percent_off: Some(percent.as_percent().to_string()),
                amount_off: None,
            },
            Offer::AmountOff { amounts } => OfferV1 {
                kind: OfferTypeV1::AmountOff,
                percent_off: None,
                amount_off: Some(money(amounts)),
            },
            Offer::FreeShipping => OfferV1 {
                kind: OfferTypeV1::FreeShipping,
                percent_off: None,
                amount_off: None,
            },
        };
        let applies_to = match &terms.applies_to {
            AppliesTo::Order => AppliesToV1 {
                kind: AppliesToTypeV1::Order,
                skus: None,
            },
            AppliesTo::Skus { skus } => AppliesToV1 {
                kind: AppliesToTypeV1::Skus,
                skus: Some(skus.iter().map(|sku| sku.as_str().to_owned()).collect()),
            },
        };
        Self {
            offer,
            applies_to,
            minimum_subtotal: terms.minimum_subtotal.as_ref().map(money),
            starts_at: terms.schedule.starts_at(),
            ends_at: terms.schedule.ends_at(),
            usage_limit: terms.usage_limit.map(|limit| limit.get()),
            per_customer_limit: terms.per_customer_limit.map(|limit| limit.get()),
        }
    }
}

/// A code was offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionCreatedV1 {
    /// Upper case; taken for good.
    pub code: String,
    pub terms: TermsV1,
    pub created_at: DateTime<Utc>,
}

impl Contract for PromotionCreatedV1 {
    const TYPE: &'static str = "promotions.promotion_created";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A promotion code was offered on its terms.";
}

/// A code's terms changed; `terms` are all of them, not only what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionUpdatedV1 {
    pub code: String,
    pub terms: TermsV1,
}

impl Contract for PromotionUpdatedV1 {
    const TYPE: &'static str = "promotions.promotion_updated";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A promotion code's terms changed.";
}

/// A code was taken off offer for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionDeactivatedV1 {
    pub code: String,
    pub deactivated_at: DateTime<Utc>,
}

impl Contract for PromotionDeactivatedV1 {
    const TYPE: &'static str = "promotions.promotion_deactivated";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A promotion code was deactivated for good.";
}

/// A checkout holds one use of a code; it counts against the limits until released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PromotionRedeemedV1 {
    pub code: String,
    pub checkout_id: Uuid,
    /// The signed-in customer; `null` for a guest.
    pub customer_id: Option<Uuid>,
    /// The merchandise subtotal before discounts.
    pub subtotal: MoneyV1,
    pub redeemed_at: DateTime<Utc>,
}

impl Contract for PromotionRedeemedV1 {
    const TYPE: &'static str = "promotions.promotion_redeemed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A checkout holds one use of a promotion code.";
}

/// A failed checkout gave its use back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RedemptionReleasedV1 {
    pub code: String,
    pub checkout_id: Uuid,
}

impl Contract for RedemptionReleasedV1 {
    const TYPE: &'static str = "promotions.redemption_released";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A failed checkout gave its use of a promotion code back.";
}

/// The checkout placed its order: its use is spent for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RedemptionConfirmedV1 {
    pub code: String,
    pub checkout_id: Uuid,
}

impl Contract for RedemptionConfirmedV1 {
    const TYPE: &'static str = "promotions.redemption_confirmed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A checkout placed its order; its use of a promotion code is spent for good.";
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let code = event.aggregate_id.clone();
    Ok(Some(match decode::<Promotion>(event)? {
        PromotionEvent::PromotionCreated {
            code,
            terms,
            created_at,
        } => published(
            event,
            PromotionCreatedV1 {
                code,
                terms: terms.into(),
                created_at,
            },
        )?,
        PromotionEvent::PromotionUpdated { terms } => published(
            event,
            PromotionUpdatedV1 {
                code,
                terms: terms.into(),
            },
        )?,
        PromotionEvent::PromotionDeactivated { deactivated_at } => published(
            event,
            PromotionDeactivatedV1 {
                code,
                deactivated_at,
            },
        )?,
        PromotionEvent::PromotionRedeemed {
            checkout_id,
            customer_id,
            subtotal,
            redeemed_at,
        } => published(
            event,
            PromotionRedeemedV1 {
                code,
                checkout_id: checkout_id.as_uuid(),
                customer_id: customer_id.map(|id| id.as_uuid()),
                subtotal: subtotal.into(),
                redeemed_at,
            },
        )?,
        PromotionEvent::RedemptionReleased { checkout_id } => published(
            event,
            RedemptionReleasedV1 {
                code,
                checkout_id: checkout_id.as_uuid(),
            },
        )?,
        PromotionEvent::RedemptionConfirmed { checkout_id } => published(
            event,
            RedemptionConfirmedV1 {
                code,
                checkout_id: checkout_id.as_uuid(),
            },
        )?,
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<PromotionCreatedV1>(),
        schema_of::<PromotionUpdatedV1>(),
        schema_of::<PromotionDeactivatedV1>(),
        schema_of::<PromotionRedeemedV1>(),
        schema_of::<RedemptionReleasedV1>(),
        schema_of::<RedemptionConfirmedV1>(),
    ]
}
