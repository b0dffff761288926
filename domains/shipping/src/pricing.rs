//! What shipping a cart is offered, and at what price: a pure function of the zones (as the
//! [`ShippingZoneView`] read model holds them), the destination, the merchandise subtotal and
//! the cart's weight.
//!
//! Rules, in order:
//! - The destination's zone is the one live zone that lists the country; no zone: nothing is
//!   offered. Two zones listing it is a broken directory, reported, never guessed around.
//! - The currency is the subtotal's. An option without a price in it is not offered.
//! - A flat rate is its price. A band rate takes the one band `[from, to)` that holds the
//!   subtotal (subtotal bands) or the weight (weight bands); beyond the last band, the option
//!   is not offered, even if it would ship free.
//! - A subtotal at or above the option's free-shipping threshold in that currency ships at
//!   zero.
//! - Quotes are listed cheapest first; equal prices keep the order the options were created in.
//!
//! Invariant: every quoted price is in the subtotal's currency, in whole minor units, and is
//! either the price of exactly one band (or the flat price) or zero when free.

use serde::{Deserialize, Serialize};
use shared_kernel::{CountryCode, Money};

use crate::aggregate::ShippingOption;
use crate::errors::QuoteError;
use crate::values::{Grams, Name, ShippingOptionId};
use crate::views::ShippingZoneView;

/// One option a cart may choose, with what it would pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingQuote {
    pub option_id: ShippingOptionId,
    pub name: Name,
    /// In the subtotal's currency; zero when `free_shipping`.
    pub price: Money,
    /// The subtotal reached the option's free-shipping threshold.
    pub free_shipping: bool,
}

/// The options offered to a cart going to `destination` with merchandise `subtotal` (before
/// discounts, without shipping; its currency is the cart's) and `weight` (see
/// [`Grams::total_of`]), cheapest first. Empty when no zone ships there or no option fits.
pub fn quote_shipping<'a>(
    zones: impl IntoIterator<Item = &'a ShippingZoneView>,
    destination: CountryCode,
    subtotal: Money,
    weight: Grams,
) -> Result<Vec<ShippingQuote>, QuoteError> {
    match zone_for(zones, destination)? {
        Some(zone) => price_options(&zone.options, subtotal, weight),
        None => {
            check_subtotal(subtotal)?;
            Ok(Vec::new())
        }
    }
}

/// The zone that lists `destination`, if any.
pub fn zone_for<'a>(
    zones: impl IntoIterator<Item = &'a ShippingZoneView>,
    destination: CountryCode,
) -> Result<Option<&'a ShippingZoneView>, QuoteError> {
    let matching: Vec<&ShippingZoneView> = zones
        .into_iter()
        .filter(|zone| zone.countries.contains(destination))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [zone] => Ok(Some(zone)),
        several => Err(QuoteError::CountryInSeveralZones {
            country: destination.as_str().to_owned(),
            zones: several.iter().map(|zone| zone.zone_id).collect(),
        }),
    }
}

/// The quotes of one zone's `options` for a cart, cheapest first.
pub fn price_options(
    options: &[ShippingOption],
    subtotal: Money,
    weight: Grams,
) -> Result<Vec<ShippingQuote>, QuoteError> {
    check_subtotal(subtotal)?;
    let mut quotes: Vec<ShippingQuote> = options
        .iter()
        .filter_map(|option| {
            let charge = option
                .prices()
                .get(subtotal.currency())?
                .charge(subtotal, weight)?;
            Some(ShippingQuote {
                option_id: option.option_id(),
                name: option.name().clone(),
                price: charge.price,
                free_shipping: charge.free_shipping,
            })
        })
        .collect();
    // Stable: equal prices keep the options' order.
    quotes.sort_by_key(|quote| quote.price.amount());
    Ok(quotes)
}

fn check_subtotal(subtotal: Money) -> Result<(), QuoteError> {
    let invalid = |reason| Err(QuoteError::InvalidSubtotal { subtotal, reason });
    if subtotal.is_negative() {
        return invalid("must not be negative");
    }
    if !subtotal.has_at_most_minor_unit_precision() {
        return invalid("must be whole minor units of its currency");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
