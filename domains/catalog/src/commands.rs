//! What can be asked of the catalog. Raw strings are validated by the aggregates, which report
//! the precise [`CatalogError`](crate::CatalogError).

use chrono::{DateTime, Utc};
use shared_kernel::{Money, ProductId};

use crate::values::Sku;

/// Commands for the [`Product`](crate::Product) aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductCommand {
    /// Creates a draft product. The application claims every SKU first (see [`SkuClaimCommand`]).
    CreateProduct {
        product_id: ProductId,
        title: String,
        description: String,
        variants: Vec<NewVariant>,
        /// The product's tax class (a [`shared_kernel::TaxClass`]), if it is not taxed at
        /// the standard rate.
        tax_class: Option<String>,
    },
    /// Sets the variant's price in `price`'s currency, replacing an existing one.
    ChangeVariantPrice { sku: String, price: Money },
    /// Sets the weight of one unit of the variant in whole grams (0 to
    /// [`MAX_VARIANT_WEIGHT_GRAMS`](crate::values::MAX_VARIANT_WEIGHT_GRAMS)); `None` makes
    /// it unknown. The same weight again: nothing happens. Carts keep the weight they captured.
    ChangeVariantWeight {
        sku: String,
        weight_grams: Option<i64>,
    },
    /// Sets the product's tax class (a [`shared_kernel::TaxClass`]); `None`: the standard
    /// rate. The same class again: nothing happens. Carts keep the class they captured.
    ChangeTaxClass { tax_class: Option<String> },
    /// Makes the product purchasable. Already published: nothing happens.
    PublishProduct,
    /// Withdraws the product from sale. Already a draft: nothing happens.
    UnpublishProduct,
}

impl ProductCommand {
    /// The command's name as errors report it.
    pub fn name(&self) -> &'static str {
        match self {
            ProductCommand::CreateProduct { .. } => "CreateProduct",
            ProductCommand::ChangeVariantPrice { .. } => "ChangeVariantPrice",
            ProductCommand::ChangeVariantWeight { .. } => "ChangeVariantWeight",
            ProductCommand::ChangeTaxClass { .. } => "ChangeTaxClass",
            ProductCommand::PublishProduct => "PublishProduct",
            ProductCommand::UnpublishProduct => "UnpublishProduct",
        }
    }
}

/// A variant as submitted, before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVariant {
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<Money>,
    /// Weight of one unit in whole grams, as submitted: the aggregate accepts 0 to
    /// [`MAX_VARIANT_WEIGHT_GRAMS`](crate::values::MAX_VARIANT_WEIGHT_GRAMS); `None`: unknown.
    pub weight_grams: Option<i64>,
}

/// Commands for the [`SkuClaim`](crate::SkuClaim) aggregate, whose id is the normalized SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuClaimCommand {
    /// Takes the SKU for `product_id`. Already held by it: nothing happens.
    ClaimSku {
        sku: Sku,
        product_id: ProductId,
        at: DateTime<Utc>,
    },
    /// Gives the SKU up if `product_id` holds it; otherwise nothing happens.
    ReleaseSku { product_id: ProductId },
    /// Moves the SKU from `previous` to `product_id`, for when `previous` was claimed but the
    /// product was never created. Refused if someone other than `previous` holds it.
    ReclaimOrphanedSku {
        sku: Sku,
        previous: ProductId,
        product_id: ProductId,
        at: DateTime<Utc>,
    },
}

impl SkuClaimCommand {
    pub fn name(&self) -> &'static str {
        match self {
            SkuClaimCommand::ClaimSku { .. } => "ClaimSku",
            SkuClaimCommand::ReleaseSku { .. } => "ReleaseSku",
            SkuClaimCommand::ReclaimOrphanedSku { .. } => "ReclaimOrphanedSku",
        }
    }
}
