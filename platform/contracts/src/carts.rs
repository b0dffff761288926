//! `carts.*`: what shoppers put in carts, for analytics and abandoned-cart mail. The lock a
//! checkout takes on its cart stays internal.

use carts::{Cart, CartEvent};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, stream_uuid, Contract, MoneyV1};

/// A cart was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CartCreatedV1 {
    pub cart_id: Uuid,
    /// ISO 4217 code every price in the cart is in.
    pub currency: String,
    /// Absent for a guest's cart.
    pub customer_id: Option<Uuid>,
}

impl Contract for CartCreatedV1 {
    const TYPE: &'static str = "carts.cart_created";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A cart was created.";
}

/// A line was added at the price the catalog gave then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemAddedV1 {
    pub cart_id: Uuid,
    pub line_id: Uuid,
    pub sku: String,
    pub product_id: Uuid,
    pub title: String,
    #[schemars(range(min = 1))]
    pub quantity: u32,
    pub unit_price: MoneyV1,
    /// Weight of one unit in whole grams, captured with the price; absent when the variant
    /// had no weight (and on lines added before carts captured weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u64>,
    /// The product's tax class, captured with the price; absent: the standard rate (and on
    /// lines added before carts captured tax classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_class: Option<String>,
}

impl Contract for ItemAddedV1 {
    const TYPE: &'static str = "carts.item_added";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A line was added to a cart, priced when added.";
}

/// A line's quantity changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemQuantityChangedV1 {
    pub cart_id: Uuid,
    pub line_id: Uuid,
    #[schemars(range(min = 1))]
    pub quantity: u32,
}

impl Contract for ItemQuantityChangedV1 {
    const TYPE: &'static str = "carts.item_quantity_changed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "The quantity of a cart line changed.";
}

/// A line was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemRemovedV1 {
    pub cart_id: Uuid,
    pub line_id: Uuid,
}

impl Contract for ItemRemovedV1 {
    const TYPE: &'static str = "carts.item_removed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A line was removed from a cart.";
}

/// The cart was bought by a checkout and will never change again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CartCheckedOutV1 {
    pub cart_id: Uuid,
    pub checkout_id: Uuid,
}

impl Contract for CartCheckedOutV1 {
    const TYPE: &'static str = "carts.cart_checked_out";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A checkout bought the cart; it never changes again.";
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let cart_id = stream_uuid(event)?;
    Ok(Some(match decode::<Cart>(event)? {
        CartEvent::CartCreated {
            currency,
            customer_id,
            ..
        } => published(
            event,
            CartCreatedV1 {
                cart_id,
                currency: currency.code().to_owned(),
                customer_id: customer_id.map(|id| id.as_uuid()),
            },
        )?,
        CartEvent::ItemAdded {
            line_id,
            sku,
            product_id,
            title,
            quantity,
            unit_price,
            weight_grams,
            tax_class,
        } => published(
            event,
            ItemAddedV1 {
                cart_id,
                line_id: line_id.as_uuid(),
                sku,
                product_id: product_id.as_uuid(),
                title,
                quantity: quantity.get(),
                unit_price: unit_price.into(),
                weight_grams: weight_grams.map(|grams| grams.get()),
                tax_class,
            },
        )?,
        CartEvent::ItemQuantityChanged { line_id, quantity } => published(
            event,
            ItemQuantityChangedV1 {
                cart_id,
                line_id: line_id.as_uuid(),
                quantity: quantity.get(),
            },
        )?,
        CartEvent::ItemRemoved { line_id } => published(
            event,
            ItemRemovedV1 {
                cart_id,
                line_id: line_id.as_uuid(),
            },
        )?,
        CartEvent::CartCheckedOut { checkout_id } => published(
            event,
            CartCheckedOutV1 {
                cart_id,
                checkout_id,
            },
        )?,
        // The lines a merge adds are published as `item_added` and `item_quantity_changed`;
        // who took a cart over, and the merge's own steps, stay internal for now (ADR 0027).
        CartEvent::CheckoutBegan { .. }
        | CartEvent::CheckoutReleased { .. }
        | CartEvent::CustomerAssigned { .. }
        | CartEvent::MergeBegan { .. }
        | CartEvent::MergeCancelled { .. }
        | CartEvent::CartMerged { .. }
        | CartEvent::CartMergedIn { .. }
        // A cart's code is the shopper's choice until the checkout redeems it; the checkout
        // and the order carry what it took off.
        | CartEvent::PromotionCodeApplied { .. }
        | CartEvent::PromotionCodeRemoved { .. }
        // Where a cart ships and how are the shopper's choices until the checkout records
        // them; the address is personal data, which a published event would copy to every
        // consumer beyond the reach of an erasure (ADR 0026, 0036).
        | CartEvent::ShippingAddressSet { .. }
        | CartEvent::ShippingMethodChosen { .. }
        | CartEvent::ShippingMethodCleared { .. } => return Ok(None),
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<CartCreatedV1>(),
        schema_of::<ItemAddedV1>(),
        schema_of::<ItemQuantityChangedV1>(),
        schema_of::<ItemRemovedV1>(),
        schema_of::<CartCheckedOutV1>(),
    ]
}
