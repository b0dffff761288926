//! What the tax context refuses.
//!
//! - [`TaxError`]: why a [`TaxCalculator`](crate::TaxCalculator) gave no answer: the error
//!   contract of the port, for the built-in table and an external service alike. One opaque
//!   variant, [`TaxError::Unavailable`], keeps an external service's failure as its source.
//! - [`TaxConfigError`]: why a rate, a tax class or a [`TaxTable`](crate::TaxTable) was
//!   refused when the shop was configured.

use rust_decimal::Decimal;
use shared_kernel::{CountryCode, Currency};

use crate::values::PriceBasis;

/// Why tax could not be calculated.
#[derive(Debug, thiserror::Error)]
pub enum TaxError {
    /// The request is not one to calculate (amounts in two currencies, negative or finer than
    /// the minor unit, out of range). A bug in the caller, never the shopper's doing.
    #[error("invalid tax request: {reason}")]
    InvalidRequest { reason: String },
    /// No rate is known for the destination, so no tax can be charged there; the shop must
    /// configure one (0 % where it collects none) before selling to it.
    #[error("no tax rate is configured for {country}")]
    NoRate { country: CountryCode },
    /// Prices in this currency are not configured as tax-inclusive or tax-exclusive.
    #[error("prices in {currency} are not configured as tax-inclusive or tax-exclusive")]
    CurrencyNotConfigured { currency: Currency },
    /// The request treats prices one way, the configuration the other: answering would put
    /// tax in or on prices the shopper saw differently.
    #[error("prices in {currency} are configured {configured}, the request says {requested}")]
    PriceBasisMismatch {
        currency: Currency,
        configured: PriceBasis,
        requested: PriceBasis,
    },
    /// An answer does not fit its request or does not add up (a line missing, net + tax not
    /// the gross, another currency). From an external service: a bug on its side.
    #[error("invalid tax answer: {reason}")]
    InvalidAnswer { reason: String },
    /// An external tax service failed or could not be reached. Nothing is known about the
    /// answer; asking again is safe (calculating has no effect).
    #[error("the tax service is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TaxError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            TaxError::InvalidRequest { .. } => "invalid_tax_request",
            TaxError::NoRate { .. } => "tax_rate_missing",
            TaxError::CurrencyNotConfigured { .. } => "tax_currency_not_configured",
            TaxError::PriceBasisMismatch { .. } => "tax_price_basis_mismatch",
            TaxError::InvalidAnswer { .. } => "tax_answer_invalid",
            TaxError::Unavailable(_) => "tax_service_unavailable",
        }
    }
}

/// Why tax configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxConfigError {
    #[error("invalid tax rate {percent} %: {reason}")]
    InvalidRate {
        percent: Decimal,
        reason: &'static str,
    },
    #[error("'{class}' is not a valid tax class: use 1 to 32 characters of a-z, 0-9, '-' or '_'")]
    InvalidTaxClass { class: String },
    #[error("{country} is given more than one standard rate")]
    DuplicateCountry { country: CountryCode },
    #[error("{country} is given more than one rate for tax class {class}")]
    DuplicateClassRate { country: CountryCode, class: String },
    /// A class rate overrides a country's standard rate, so the country needs one.
    #[error("{country} has a rate for tax class {class} but no standard rate")]
    ClassRateWithoutStandardRate { country: CountryCode, class: String },
    #[error("prices in {currency} are configured more than once")]
    DuplicateCurrency { currency: Currency },
    /// A setting's text is not in the documented form ([`TaxTable::from_settings`](crate::TaxTable::from_settings)).
    #[error("'{entry}' in {setting}: {reason}")]
    InvalidSetting {
        setting: &'static str,
        entry: String,
        reason: String,
    },
}

impl From<shared_kernel::TaxClassError> for TaxConfigError {
    fn from(error: shared_kernel::TaxClassError) -> Self {
        TaxConfigError::InvalidTaxClass { class: error.class }
    }
}
