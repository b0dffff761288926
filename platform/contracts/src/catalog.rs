//! `catalog.*`: products as the storefront and search see them. SKU claims stay internal.

use catalog::{Product, ProductEvent, VariantData};
use runtime::{ContractSchema, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{decode, publish as published, schema_of, stream_uuid, Contract, MoneyV1};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VariantV1 {
    pub sku: String,
    pub name: Option<String>,
    /// At most one price per currency.
    pub prices: Vec<MoneyV1>,
    /// Weight of one unit in whole grams; absent when unknown (and on products created
    /// before variants had weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u64>,
}

impl From<VariantData> for VariantV1 {
    fn from(variant: VariantData) -> Self {
        Self {
            sku: variant.sku,
            name: variant.name,
            prices: variant.prices.into_iter().map(MoneyV1::from).collect(),
            weight_grams: variant.weight_grams.map(|grams| grams.get()),
        }
    }
}

/// A product was created, as a draft that shoppers cannot see yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductCreatedV1 {
    pub product_id: Uuid,
    pub title: String,
    pub description: String,
    pub variants: Vec<VariantV1>,
    /// The product's tax class (lower-case slug); absent: the standard rate (and on products
    /// created before products had tax classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_class: Option<String>,
}

impl Contract for ProductCreatedV1 {
    const TYPE: &'static str = "catalog.product_created";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A product was created as a draft, with its variants and prices.";
}

/// The price of one variant in one currency was set or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductPriceChangedV1 {
    pub product_id: Uuid,
    pub sku: String,
    pub price: MoneyV1,
}

impl Contract for ProductPriceChangedV1 {
    const TYPE: &'static str = "catalog.product_price_changed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A variant's price in one currency was set or changed.";
}

/// The weight of one unit of a variant was set, changed or made unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct VariantWeightChangedV1 {
    pub product_id: Uuid,
    pub sku: String,
    /// Whole grams; null: unknown.
    pub weight_grams: Option<u64>,
}

impl Contract for VariantWeightChangedV1 {
    const TYPE: &'static str = "catalog.variant_weight_changed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "The weight of one unit of a variant was set, changed or made unknown.";
}

/// The product's tax class was set, changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductTaxClassChangedV1 {
    pub product_id: Uuid,
    /// Lower-case slug; null: the standard rate.
    pub tax_class: Option<String>,
}

impl Contract for ProductTaxClassChangedV1 {
    const TYPE: &'static str = "catalog.product_tax_class_changed";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "A product's tax class was set, changed or removed (null: the standard rate).";
}

/// The product became visible and purchasable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductPublishedV1 {
    pub product_id: Uuid,
}

impl Contract for ProductPublishedV1 {
    const TYPE: &'static str = "catalog.product_published";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A product became visible to shoppers and purchasable.";
}

/// The product was withdrawn from the storefront.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductUnpublishedV1 {
    pub product_id: Uuid,
}

impl Contract for ProductUnpublishedV1 {
    const TYPE: &'static str = "catalog.product_unpublished";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "A product was withdrawn from the storefront.";
}

pub fn publish(event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
    let product_id = stream_uuid(event)?;
    Ok(Some(match decode::<Product>(event)? {
        ProductEvent::ProductCreated {
            product_id,
            title,
            description,
            variants,
            tax_class,
        } => published(
            event,
            ProductCreatedV1 {
                product_id: product_id.as_uuid(),
                title,
                description,
                variants: variants.into_iter().map(VariantV1::from).collect(),
                tax_class,
            },
        )?,
        ProductEvent::VariantPriceChanged { sku, price } => published(
            event,
            ProductPriceChangedV1 {
                product_id,
                sku,
                price: price.into(),
            },
        )?,
        ProductEvent::VariantWeightChanged { sku, weight_grams } => published(
            event,
            VariantWeightChangedV1 {
                product_id,
                sku,
                weight_grams: weight_grams.map(|grams| grams.get()),
            },
        )?,
        ProductEvent::TaxClassChanged { tax_class } => published(
            event,
            ProductTaxClassChangedV1 {
                product_id,
                tax_class,
            },
        )?,
        ProductEvent::ProductPublished {} => published(event, ProductPublishedV1 { product_id })?,
        ProductEvent::ProductUnpublished {} => {
            published(event, ProductUnpublishedV1 { product_id })?
        }
    }))
}

pub fn schemas() -> Vec<ContractSchema> {
    vec![
        schema_of::<ProductCreatedV1>(),
        schema_of::<ProductPriceChangedV1>(),
        schema_of::<ProductPublishedV1>(),
        schema_of::<ProductUnpublishedV1>(),
        schema_of::<VariantWeightChangedV1>(),
        schema_of::<ProductTaxClassChangedV1>(),
    ]
}
