//! Business outcomes the catalog refuses. The catalog does no I/O, so there is no
//! infrastructure variant; store failures are reported by cqrs-es around these.

use shared_kernel::{Currency, MoneyError, ProductId, TaxClassError};

use crate::values::{ProductStatus, Sku};

/// Why a catalog command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("invalid SKU '{sku}': expected 1 to 64 characters of A-Z, a-z, 0-9, '-', '_' or '.'")]
    InvalidSku { sku: String },
    #[error("the title must not be empty")]
    EmptyTitle,
    #[error("the title must be at most {max} characters")]
    TitleTooLong { max: usize },
    #[error("a product needs at least one variant")]
    NoVariants,
    #[error("a product has at most {max} variants, {requested} were given")]
    TooManyVariants { max: usize, requested: usize },
    #[error("SKU {sku} appears more than once")]
    DuplicateSku { sku: Sku },
    #[error("variant {sku} has no price")]
    NoPrice { sku: Sku },
    #[error("variant {sku} has more than one price in {currency}")]
    DuplicateCurrency { sku: Sku, currency: Currency },
    #[error("invalid price for variant {sku}: {reason}")]
    InvalidPrice { sku: Sku, reason: MoneyError },
    #[error("variant {sku} cannot weigh {grams} g: use 0 to {max} whole grams")]
    WeightOutOfRange { sku: Sku, grams: i64, max: u64 },
    #[error(transparent)]
    InvalidTaxClass(#[from] TaxClassError),
    #[error("the product has no variant {sku}")]
    UnknownVariant { sku: Sku },
    #[error("SKU {sku} is already used by product {product_id}")]
    SkuTaken { sku: Sku, product_id: ProductId },
    #[error("product not found")]
    NotFound,
    #[error("product already exists")]
    AlreadyExists,
    #[error("{command} is not allowed while the product is {status}")]
    NotAllowed {
        status: ProductStatus,
        command: &'static str,
    },
}

impl CatalogError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            CatalogError::InvalidSku { .. } => "invalid_sku",
            CatalogError::EmptyTitle => "empty_title",
            CatalogError::TitleTooLong { .. } => "title_too_long",
            CatalogError::NoVariants => "no_variants",
            CatalogError::TooManyVariants { .. } => "too_many_variants",
            CatalogError::DuplicateSku { .. } => "duplicate_sku",
            CatalogError::NoPrice { .. } => "no_price",
            CatalogError::DuplicateCurrency { .. } => "duplicate_currency",
            CatalogError::InvalidPrice { .. } => "invalid_price",
            CatalogError::WeightOutOfRange { .. } => "weight_out_of_range",
            CatalogError::InvalidTaxClass(_) => "invalid_tax_class",
            CatalogError::UnknownVariant { .. } => "unknown_variant",
            CatalogError::SkuTaken { .. } => "sku_taken",
            CatalogError::NotFound => "product_not_found",
            CatalogError::AlreadyExists => "product_already_exists",
            CatalogError::NotAllowed { .. } => "not_allowed",
        }
    }
}

impl From<shared_kernel::SkuError> for CatalogError {
    fn from(error: shared_kernel::SkuError) -> Self {
        CatalogError::InvalidSku { sku: error.sku }
    }
}
