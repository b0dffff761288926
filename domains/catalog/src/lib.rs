//! Catalog context: what can be sold, under which SKU, at which price.
//!
//! Owns: products and their variants, each variant's SKU and its prices (one per currency),
//! publication (draft or published), and uniqueness of SKUs across the whole catalog.
//! Does not own: stock levels, carts, orders, discounts, taxes or currency conversion. Other
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
};
pub use views::{apply_product_event, ProductView, VariantView};
