//! What the carts context needs from the outside: current prices, with the weight and tax
//! class the line captures alongside.

use async_trait::async_trait;
use shared_kernel::{Currency, Grams, Money, ProductId};

/// A purchasable SKU with its current price in the requested currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedSku {
    pub product_id: ProductId,
    /// The SKU in the catalog's normalized form; carts key their lines on it.
    pub sku: String,
    /// Product title (and variant name, if the adapter chooses) as shown on the cart line.
    pub title: String,
    pub unit_price: Money,
    /// Weight of one unit, when the catalog knows it.
    pub weight: Option<Grams>,
    /// The product's tax class (a valid `shared_kernel::TaxClass`); `None`: the standard rate.
    pub tax_class: Option<String>,
}

/// Why a price could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceLookupError {
    #[error("unknown SKU '{sku}'")]
    UnknownSku { sku: String },
    #[error("SKU '{sku}' is not for sale")]
    NotPurchasable { sku: String },
    #[error("SKU '{sku}' has no price in {currency}")]
    NoPriceInCurrency { sku: String, currency: Currency },
    /// The price source could not be reached or read; retrying later may succeed.
    #[error("price list unavailable: {0}")]
    Unavailable(String),
}

/// The current sell price of a SKU.
///
/// Contract:
/// - `sku` is what the shopper sent, trimmed. The implementation normalizes it the catalog's way
///   (case-insensitive) and returns the normalized form in [`PricedSku::sku`].
/// - On success `unit_price` is in `currency`, not negative, has at most the currency's
///   minor-unit precision and does not exceed [`Money::MAX_PRICE`]. A cart treats any other
///   answer as a broken price list (`CartError::CurrencyMismatch` or `PricingUnavailable`).
/// - [`PriceLookupError::UnknownSku`]: no variant has this SKU (malformed SKUs included).
/// - [`PriceLookupError::NotPurchasable`]: the SKU exists but its product is not published.
/// - [`PriceLookupError::NoPriceInCurrency`]: published, but not priced in `currency`.
/// - [`PriceLookupError::Unavailable`]: infrastructure failure only, never a business answer.
/// - Reads may be slightly stale (an eventually consistent view is fine): the cart captures the
///   price it was given.
#[async_trait]
pub trait PriceList: Send + Sync {
    async fn price(&self, sku: &str, currency: Currency) -> Result<PricedSku, PriceLookupError>;
}
