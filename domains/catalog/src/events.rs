//! What happened in the catalog. Event type strings and version "1" are part of the stored
//! format: never rename them; add an upcaster and a new version instead.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};
use shared_kernel::{Money, ProductId};

use crate::values::{Sku, Title, Variant};

/// Events of the [`Product`](crate::Product) aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductEvent {
    ProductCreated {
        product_id: ProductId,
        title: Title,
        description: String,
        variants: Vec<Variant>,
    },
    /// The price of `sku` in `price`'s currency is now `price` (set or replaced).
    VariantPriceChanged {
        sku: Sku,
        price: Money,
    },
    ProductPublished {},
    ProductUnpublished {},
}

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> String {
        match self {
            ProductEvent::ProductCreated { .. } => "ProductCreated",
            ProductEvent::VariantPriceChanged { .. } => "VariantPriceChanged",
            ProductEvent::ProductPublished {} => "ProductPublished",
            ProductEvent::ProductUnpublished {} => "ProductUnpublished",
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
        sku: Sku,
        product_id: ProductId,
        at: DateTime<Utc>,
    },
    SkuReleased {
        sku: Sku,
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
