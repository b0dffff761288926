//! Business outcomes the carts context refuses, plus one opaque variant for infrastructure.

use shared_kernel::{CartId, Currency, LineId};

use crate::ports::PriceLookupError;
use crate::values::CartStatus;

/// Why a cart command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    #[error("cart not found")]
    NotFound,
    #[error("cart already exists")]
    AlreadyExists,
    #[error("{command} is not allowed while the cart is {status}")]
    NotAllowed {
        status: CartStatus,
        command: &'static str,
    },
    #[error("quantity must be between {min} and {max}, got {requested}")]
    QuantityOutOfRange { min: u32, max: u32, requested: u32 },
    #[error("a cart has at most {max} lines")]
    TooManyLines { max: usize },
    #[error("the cart has no line {line_id}")]
    LineNotFound { line_id: LineId },
    #[error("the cart is in {cart}, the price is in {price}")]
    CurrencyMismatch { cart: Currency, price: Currency },
    #[error("unknown SKU '{sku}'")]
    UnknownSku { sku: String },
    #[error("SKU '{sku}' is not for sale")]
    NotPurchasable { sku: String },
    #[error("SKU '{sku}' has no price in {currency}")]
    NoPriceInCurrency { sku: String, currency: Currency },
    #[error("an empty cart cannot be checked out")]
    EmptyCart,
    /// Another checkout holds the cart; `checkout_id` is that one, for the caller to follow.
    #[error("checkout {checkout_id} is already in progress for this cart")]
    CheckoutInProgress { checkout_id: uuid::Uuid },
    /// The cart is another customer's: nobody else may take it over or merge it.
    #[error("the cart belongs to another customer")]
    OwnedByAnotherCustomer,
    /// Another merge holds the cart.
    #[error("the cart is being merged into cart {into_cart_id}")]
    MergeInProgress { into_cart_id: CartId },
    /// A shipping method (or its quotes) needs the cart's shipping address first.
    #[error("the cart has no shipping address yet")]
    ShippingAddressRequired,
    /// The price list failed or broke its contract; retrying later may succeed.
    #[error("pricing unavailable: {0}")]
    PricingUnavailable(String),
}

impl CartError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            CartError::NotFound => "cart_not_found",
            CartError::AlreadyExists => "cart_already_exists",
            CartError::NotAllowed { .. } => "not_allowed",
            CartError::QuantityOutOfRange { .. } => "quantity_out_of_range",
            CartError::TooManyLines { .. } => "too_many_lines",
            CartError::LineNotFound { .. } => "line_not_found",
            CartError::CurrencyMismatch { .. } => "currency_mismatch",
            CartError::UnknownSku { .. } => "unknown_sku",
            CartError::NotPurchasable { .. } => "not_purchasable",
            CartError::NoPriceInCurrency { .. } => "no_price_in_currency",
            CartError::EmptyCart => "cart_empty",
            CartError::CheckoutInProgress { .. } => "checkout_in_progress",
            CartError::OwnedByAnotherCustomer => "cart_owned_by_another_customer",
            CartError::MergeInProgress { .. } => "merge_in_progress",
            CartError::ShippingAddressRequired => "shipping_address_required",
            CartError::PricingUnavailable(_) => "pricing_unavailable",
        }
    }
}

impl From<PriceLookupError> for CartError {
    fn from(error: PriceLookupError) -> Self {
        match error {
            PriceLookupError::UnknownSku { sku } => CartError::UnknownSku { sku },
            PriceLookupError::NotPurchasable { sku } => CartError::NotPurchasable { sku },
            PriceLookupError::NoPriceInCurrency { sku, currency } => {
                CartError::NoPriceInCurrency { sku, currency }
            }
            PriceLookupError::Unavailable(reason) => CartError::PricingUnavailable(reason),
        }
    }
}
