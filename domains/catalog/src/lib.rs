//! Catalog context: what can be sold, under which SKU, at which price.
//!
//! Owns: products and their variants, each variant's SKU, its prices (one per currency) and
//! the weight of one unit, each product's tax class, publication (draft or published), and
//! uniqueness of SKUs across the whole catalog.
//! Does not own: stock levels, carts, orders, discounts, tax rates (a tax class is only a
//! label; the tax context rates it per country), shipping prices or currency conversion. Other
//! contexts read prices through their own ports, implemented by the platform over [`views`].
//!
//! Two aggregates live here:
//! - [`Product`] (`"product"`): title, description, variants and the draft/published state.
//! - [`SkuClaim`] (`"sku_claim"`, aggregate id = the normalized SKU): who holds a SKU.
//!
//! Invariant: a SKU is held by at most one product. The application claims every SKU of a new
//! product (`ClaimSku`, one `SkuClaim` stream per SKU) before sending `CreateProduct`; the event
//! store's optimistic concurrency on sequence 1 of that stream decides races, so no two products
//! can win the same SKU. A claim whose product never came into existence (crash between claim
//! and create) is taken over with `ReclaimOrphanedSku`.
//! Invariant: every price is non-negative and has at most the currency's minor-unit precision.
//! Invariant: a variant's weight, when known, is 0 to 1 000 000 000 whole grams; a product's
//! tax class, when set, is a valid [`shared_kernel::TaxClass`]. The tax class is per product,
//! not per variant, as in Medusa (whose tax-rate rules target products and product types) and
//! Shopify (whose product category decides the tax category): the sizes or colours of one
//! product are the same kind of goods, so they are taxed alike.

pub mod commands;
pub mod errors;
pub mod events;
pub mod ports;
pub mod product;
pub mod sku_claim;
pub mod values;
pub mod views;

pub use commands::{NewVariant, ProductCommand, SkuClaimCommand};
pub use errors::CatalogError;
pub use events::{ProductEvent, SkuClaimEvent, VariantData};
pub use product::Product;
pub use sku_claim::SkuClaim;
pub use values::{
    ProductStatus, Sku, Title, Variant, VariantSpec, MAX_SKU_CHARS, MAX_TITLE_CHARS, MAX_VARIANTS,
    MAX_VARIANT_WEIGHT_GRAMS,
};
pub use views::{apply_product_event, ProductView, VariantView};
