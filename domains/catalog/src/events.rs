//! What happened in the catalog. Event type strings are part of the stored format: never change
//! them. Payloads are plain data, never re-validated when read (ADR 0014).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{Grams, Money, ProductId};

/// A variant as `ProductCreated` records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantData {
    /// Normalized (uppercase).
    pub sku: String,
    pub name: Option<String>,
    /// At most one per currency.
    pub prices: Vec<Money>,
    /// Weight of one unit; absent when unknown (and in every event written before variants
    /// had weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<Grams>,
}

/// Events of the [`Product`](crate::Product) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductEvent {
    ProductCreated {
        product_id: ProductId,
        title: String,
        description: String,
        variants: Vec<VariantData>,
        /// The product's tax class (lower-case slug); absent: the standard rate (and in every
        /// event written before products had tax classes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tax_class: Option<String>,
    },
    /// The price of `sku` in `price`'s currency is now `price` (set or replaced).
    VariantPriceChanged {
        sku: String,
        price: Money,
    },
    ProductPublished {},
    ProductUnpublished {},
    /// One unit of `sku` now weighs `weight_grams`; `None`: its weight is unknown.
    VariantWeightChanged {
        sku: String,
        weight_grams: Option<Grams>,
    },
    /// The product's tax class is now `tax_class` (lower-case slug); `None`: the standard rate.
    TaxClassChanged {
        tax_class: Option<String>,
    },
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        match self {
            ProductEvent::ProductCreated { .. } => "ProductCreated",
            ProductEvent::VariantPriceChanged { .. } => "VariantPriceChanged",
            ProductEvent::ProductPublished {} => "ProductPublished",
            ProductEvent::ProductUnpublished {} => "ProductUnpublished",
            ProductEvent::VariantWeightChanged { .. } => "VariantWeightChanged",
            ProductEvent::TaxClassChanged { .. } => "TaxClassChanged",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}

/// Events of the [`SkuClaim`](crate::SkuClaim) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkuClaimEvent {
    SkuClaimed {
        sku: String,
        product_id: ProductId,
        at: DateTime<Utc>,
    },
    SkuReleased {
        sku: String,
        product_id: ProductId,
    },
}

impl DomainEvent for SkuClaimEvent {
    fn event_type(&self) -> String {
        match self {
            SkuClaimEvent::SkuClaimed { .. } => "SkuClaimed",
            SkuClaimEvent::SkuReleased { .. } => "SkuReleased",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "2".to_owned()
    }
}
