//! Outcomes the shipping context refuses. It does no I/O, so neither error has an
//! infrastructure variant; store failures are reported by cqrs-es around [`ShippingError`],
//! and the [`ZoneDirectory`](crate::ports::ZoneDirectory) port has its own error.
//!
//! - [`ShippingError`]: why a staff command on a zone or an option was refused.
//! - [`QuoteError`]: why a cart could not be quoted (a bug in the caller or in the directory,
//!   never the shopper's doing; a cart that simply has no option gets an empty list).

use shared_kernel::Money;

use crate::values::{ShippingOptionId, ShippingZoneId, ZoneStatus};

/// Why a shipping zone command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShippingError {
    #[error("shipping zone not found")]
    ZoneNotFound,
    #[error("shipping zone {zone_id} already exists")]
    ZoneExists { zone_id: ShippingZoneId },
    #[error("{command} is not allowed while the shipping zone is {status}")]
    NotAllowed {
        status: ZoneStatus,
        command: &'static str,
    },
    #[error("'{name}' is not a valid name: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("a shipping zone needs at least one country")]
    NoCountries,
    #[error("'{country}' is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry { country: String },
    #[error("invalid shipping prices: {reason}")]
    InvalidPrices { reason: String },
    #[error("shipping option {option_id} not found in this zone")]
    OptionNotFound { option_id: ShippingOptionId },
    /// Option ids are never reused, even once the option was deleted.
    #[error("shipping option {option_id} already exists")]
    OptionExists { option_id: ShippingOptionId },
    #[error("the zone already has an option named '{name}'")]
    OptionNameTaken { name: String },
    #[error("a zone has at most {max} options")]
    TooManyOptions { max: usize },
}

impl ShippingError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            ShippingError::ZoneNotFound => "shipping_zone_not_found",
            ShippingError::ZoneExists { .. } => "shipping_zone_exists",
            ShippingError::NotAllowed { .. } => "not_allowed",
            ShippingError::InvalidName { .. } => "invalid_name",
            ShippingError::NoCountries => "shipping_zone_without_countries",
            ShippingError::UnknownCountry { .. } => "invalid_country",
            ShippingError::InvalidPrices { .. } => "invalid_shipping_prices",
            ShippingError::OptionNotFound { .. } => "shipping_option_not_found",
            ShippingError::OptionExists { .. } => "shipping_option_exists",
            ShippingError::OptionNameTaken { .. } => "shipping_option_name_taken",
            ShippingError::TooManyOptions { .. } => "too_many_shipping_options",
        }
    }
}

/// Why a cart could not be quoted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("invalid subtotal {subtotal}: {reason}")]
    InvalidSubtotal {
        subtotal: Money,
        reason: &'static str,
    },
    /// The directory let two zones list one country; quoting either would be a guess.
    #[error("{country} is listed by more than one shipping zone: {zones:?}")]
    CountryInSeveralZones {
        country: String,
        zones: Vec<ShippingZoneId>,
    },
}
