//! What an option costs: one [`CurrencyPrice`] per currency it is offered in, each a
//! [`Rate`] (flat, by subtotal bands or by weight bands) and an optional free-shipping
//! threshold. [`ShippingPrices::new`] checks every rule below; once built, prices are valid.
//!
//! Invariant: every amount of a [`CurrencyPrice`] (prices, band bounds, threshold) is in that
//! entry's currency, not negative, in whole minor units and at most [`Money::MAX_PRICE`]; an
//! option has at most one entry per currency.
//! Invariant: bands are half-open, `[from, to)`, and contiguous: the first starts at zero,
//! each ends where the next starts, each ends above where it starts, only the last may be
//! open-ended (`to` = none). So any subtotal or weight falls in at most one band, and in
//! exactly one if it is below the last band's end.
//! Invariant: a free-shipping threshold is above zero; a subtotal at or above it ships free.
//!
//! The serialized form of these types is the stored form of the option events: every tag and
//! field is a literal name, so renaming Rust items changes nothing stored.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Money};

use crate::errors::ShippingError;
use crate::values::Grams;

/// Most bands one rate may have.
pub const MAX_BANDS: usize = 50;

/// The price for a cart whose merchandise subtotal is in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubtotalBand {
    pub from: Money,
    /// `None`: no upper end (only the last band).
    pub to: Option<Money>,
    pub price: Money,
}

/// The price for a cart whose weight is in `[from, to)` grams.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeightBand {
    pub from: Grams,
    /// `None`: no upper end (only the last band).
    pub to: Option<Grams>,
    pub price: Money,
}

/// How an option's price in one currency is found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Rate {
    /// One price whatever the cart.
    #[serde(rename = "flat")]
    Flat { price: Money },
    /// A price per band of the merchandise subtotal (before discounts, without shipping).
    #[serde(rename = "subtotal_bands")]
    SubtotalBands { bands: Vec<SubtotalBand> },
    /// A price per band of the cart's weight.
    #[serde(rename = "weight_bands")]
    WeightBands { bands: Vec<WeightBand> },
}

impl Rate {
    /// The price for a cart with `subtotal` (in the rate's currency) and `weight`; `None`
    /// when the cart falls beyond the last band, so the option is not offered.
    pub fn price_for(&self, subtotal: Money, weight: Grams) -> Option<Money> {
        match self {
            Rate::Flat { price } => Some(*price),
            Rate::SubtotalBands { bands } => bands
                .iter()
                .find(|band| {
                    band.from.amount() <= subtotal.amount()
                        && band.to.is_none_or(|to| subtotal.amount() < to.amount())
                })
                .map(|band| band.price),
            Rate::WeightBands { bands } => bands
                .iter()
                .find(|band| band.from <= weight && band.to.is_none_or(|to| weight < to))
                .map(|band| band.price),
        }
    }

    /// The currency of its first price.
    fn currency(&self) -> Option<Currency> {
        match self {
            Rate::Flat { price } => Some(price.currency()),
            Rate::SubtotalBands { bands } => bands.first().map(|band| band.price.currency()),
            Rate::WeightBands { bands } => bands.first().map(|band| band.price.currency()),
        }
    }
}

/// An option's price in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CurrencyPrice {
    pub rate: Rate,
    /// A subtotal at or above this ships free.
    pub free_shipping_from: Option<Money>,
}

/// What a cart pays for an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Charge {
    /// Zero when `free_shipping`.
    pub price: Money,
    /// The subtotal reached the free-shipping threshold.
    pub free_shipping: bool,
}

impl CurrencyPrice {
    /// The currency of every amount in the entry (of valid prices).
    pub fn currency(&self) -> Option<Currency> {
        self.rate.currency()
    }

    /// What a cart with `subtotal` (in this entry's currency) and `weight` pays; `None` when
    /// the option is not offered to it. A cart beyond the last band is not offered the option
    /// even if its subtotal would ship free: no carrier takes it at that price.
    pub fn charge(&self, subtotal: Money, weight: Grams) -> Option<Charge> {
        let price = self.rate.price_for(subtotal, weight)?;
        let free = self
            .free_shipping_from
            .is_some_and(|threshold| subtotal.amount() >= threshold.amount());
        Some(if free {
            Charge {
                price: Money::zero(price.currency()).round_to_minor_units(),
                free_shipping: true,
            }
        } else {
            Charge {
                price,
                free_shipping: false,
            }
        })
    }
}

/// An option's prices: one [`CurrencyPrice`] per currency, at least one, ordered by currency.
/// Read back from events as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShippingPrices(Vec<CurrencyPrice>);

impl ShippingPrices {
    /// Checks the rules of the [module docs](self); amounts are kept in their currency's minor
    /// units (`5` EUR is stored `5.00`).
    pub fn new(entries: Vec<CurrencyPrice>) -> Result<ShippingPrices, ShippingError> {
        if entries.is_empty() {
            return Err(invalid("give a price in at least one currency"));
        }
        let mut checked = entries
            .into_iter()
            .map(check_entry)
            .collect::<Result<Vec<_>, _>>()?;
        checked.sort_by_key(|(currency, _)| *currency);
        if let Some(pair) = checked.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(invalid(format!("{} is priced more than once", pair[0].0)));
        }
        Ok(ShippingPrices(
            checked.into_iter().map(|(_, entry)| entry).collect(),
        ))
    }

    /// The price in `currency`, if the option is offered in it.
    pub fn get(&self, currency: Currency) -> Option<&CurrencyPrice> {
        self.0
            .iter()
            .find(|entry| entry.currency() == Some(currency))
    }

    /// Every entry, ordered by currency.
    pub fn entries(&self) -> &[CurrencyPrice] {
        &self.0
    }
}

fn invalid(reason: impl fmt::Display) -> ShippingError {
    ShippingError::InvalidPrices {
        reason: reason.to_string(),
    }
}

fn check_entry(entry: CurrencyPrice) -> Result<(Currency, CurrencyPrice), ShippingError> {
    let currency = entry
        .currency()
        .ok_or_else(|| invalid("give at least one band"))?;
    let amount = |money: Money| -> Result<Money, ShippingError> {
        if money.currency() != currency {
            return Err(invalid(format!(
                "{money} is not in {currency}, the currency of the rest of its price"
            )));
        }
        Money::price(money.amount(), currency).map_err(|e| invalid(format!("{money}: {e}")))
    };
    let rate = match entry.rate {
        Rate::Flat { price } => Rate::Flat {
            price: amount(price)?,
        },
        Rate::SubtotalBands { bands } => {
            let bands = bands
                .into_iter()
                .map(|band| {
                    Ok(SubtotalBand {
                        from: amount(band.from)?,
                        to: band.to.map(amount).transpose()?,
                        price: amount(band.price)?,
                    })
                })
                .collect::<Result<Vec<_>, ShippingError>>()?;
            let bounds: Vec<(Decimal, Option<Decimal>)> = bands
                .iter()
                .map(|band| (band.from.amount(), band.to.map(|to| to.amount())))
                .collect();
            check_bands(currency, &bounds, Decimal::ZERO)?;
            Rate::SubtotalBands { bands }
        }
        Rate::WeightBands { bands } => {
            let bands = bands
                .into_iter()
                .map(|band| {
                    Ok(WeightBand {
                        price: amount(band.price)?,
                        ..band
                    })
                })
                .collect::<Result<Vec<_>, ShippingError>>()?;
            let bounds: Vec<(Grams, Option<Grams>)> =
                bands.iter().map(|band| (band.from, band.to)).collect();
            check_bands(currency, &bounds, Grams::ZERO)?;
            Rate::WeightBands { bands }
        }
    };
    let free_shipping_from = match entry.free_shipping_from {
        None => None,
        Some(threshold) => {
            let threshold = amount(threshold)?;
            if threshold.is_zero() {
                return Err(invalid(format!(
                    "{currency}: a free-shipping threshold must be above zero (price the option \
                     at zero instead)"
                )));
            }
            Some(threshold)
        }
    };
    Ok((
        currency,
        CurrencyPrice {
            rate,
            free_shipping_from,
        },
    ))
}

/// Half-open `[from, to)` bands starting at `zero`, contiguous, each non-empty, only the last
/// open-ended.
fn check_bands<B: PartialOrd + Copy + fmt::Display>(
    currency: Currency,
    bounds: &[(B, Option<B>)],
    zero: B,
) -> Result<(), ShippingError> {
    let fail = |reason: String| Err(invalid(format!("{currency}: {reason}")));
    let Some((first, _)) = bounds.first() else {
        return fail("give at least one band".to_owned());
    };
    if bounds.len() > MAX_BANDS {
        return fail(format!("at most {MAX_BANDS} bands"));
    }
    if *first != zero {
        return fail(format!("the first band must start at {zero}, not {first}"));
    }
    for (index, (from, to)) in bounds.iter().enumerate() {
        let next = bounds.get(index + 1).map(|(next_from, _)| *next_from);
        match (to, next) {
            (Some(to), _) if to <= from => {
                return fail(format!("a band from {from} must end above it, not at {to}"));
            }
            (None, Some(_)) => {
                return fail(format!(
                    "only the last band may be open-ended, not the one from {from}"
                ));
            }
            (Some(to), Some(next)) if *to != next => {
                return fail(format!(
                    "a band ends at {to} but the next starts at {next}: bands must be contiguous"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> Money {
        Money::parse(amount, currency).unwrap()
    }

    fn eur(amount: &str) -> Money {
        money(amount, "EUR")
    }

    fn weight_band(from: u64, to: Option<u64>, price: &str) -> WeightBand {
        WeightBand {
            from: Grams::new(from),
            to: to.map(Grams::new),
            price: eur(price),
        }
    }

    fn subtotal_band(from: &str, to: Option<&str>, price: &str) -> SubtotalBand {
        SubtotalBand {
            from: eur(from),
            to: to.map(eur),
            price: eur(price),
        }
    }

    fn prices(
        rate: Rate,
        free_shipping_from: Option<Money>,
    ) -> Result<ShippingPrices, ShippingError> {
        ShippingPrices::new(vec![CurrencyPrice {
            rate,
            free_shipping_from,
        }])
    }

    fn refused(rate: Rate) -> String {
        match prices(rate, None) {
            Err(ShippingError::InvalidPrices { reason }) => reason,
            other => panic!("expected invalid prices, got {other:?}"),
        }
    }

    #[test]
    fn amounts_are_kept_in_minor_units_and_entries_ordered_by_currency() {
        let prices = ShippingPrices::new(vec![
            CurrencyPrice {
                rate: Rate::Flat {
                    price: money("500", "JPY"),
                },
                free_shipping_from: None,
            },
            CurrencyPrice {
                rate: Rate::Flat { price: eur("5") },
                free_shipping_from: Some(eur("50")),
            },
        ])
        .unwrap();
        let json = serde_json::to_value(&prices).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {
                    "rate": { "type": "flat", "price": { "amount": "5.00", "currency": "EUR" } },
                    "free_shipping_from": { "amount": "50.00", "currency": "EUR" }
                },
                {
                    "rate": { "type": "flat", "price": { "amount": "500", "currency": "JPY" } },
                    "free_shipping_from": null
                }
            ])
        );
        assert!(prices.get(Currency::JPY).is_some());
        assert!(prices.get(Currency::USD).is_none());
    }

    #[test]
    fn refuses_no_price_a_currency_twice_or_amounts_in_another_currency() {
        assert!(matches!(
            ShippingPrices::new(vec![]),
            Err(ShippingError::InvalidPrices { .. })
        ));
        let flat = |price| CurrencyPrice {
            rate: Rate::Flat { price },
            free_shipping_from: None,
        };
        assert!(ShippingPrices::new(vec![flat(eur("1")), flat(eur("2"))]).is_err());
        let mixed = refused(Rate::WeightBands {
            bands: vec![
                WeightBand {
                    price: money("1", "USD"),
                    ..weight_band(0, None, "1")
                },
                weight_band(0, None, "1"),
            ],
        });
        assert!(mixed.contains("is not in USD"), "{mixed}");
    }

    #[test]
    fn refuses_negative_or_too_precise_amounts_and_a_zero_threshold() {
        for price in [eur("-1"), eur("1.001"), money("1.5", "JPY")] {
            assert!(prices(Rate::Flat { price }, None).is_err(), "{price}");
        }
        assert!(prices(Rate::Flat { price: eur("0") }, None).is_ok());
        assert!(prices(Rate::Flat { price: eur("4.90") }, Some(eur("0"))).is_err());
        assert!(prices(Rate::Flat { price: eur("4.90") }, Some(money("50", "USD"))).is_err());
    }

    #[test]
    fn bands_must_start_at_zero_be_contiguous_and_only_the_last_open() {
        assert!(prices(
            Rate::WeightBands {
                bands: vec![
                    weight_band(0, Some(1_000), "4.90"),
                    weight_band(1_000, Some(5_000), "6.90"),
                    weight_band(5_000, None, "9.90"),
                ],
            },
            None
        )
        .is_ok());
        let cases: [(Vec<WeightBand>, &str); 6] = [
            (vec![], "at least one band"),
            (vec![weight_band(1, None, "1")], "must start at 0 g"),
            (
                vec![weight_band(0, Some(10), "1"), weight_band(11, None, "1")],
                "must be contiguous",
            ),
            (
                vec![weight_band(0, Some(10), "1"), weight_band(9, None, "1")],
                "must be contiguous",
            ),
            (
                vec![weight_band(0, None, "1"), weight_band(10, None, "1")],
                "only the last band may be open-ended",
            ),
            (
                vec![
                    weight_band(0, Some(10), "1"),
                    weight_band(10, Some(10), "1"),
                ],
                "must end above it",
            ),
        ];
        for (bands, expected) in cases {
            let reason = refused(Rate::WeightBands { bands });
            assert!(reason.contains(expected), "{reason} (expected {expected})");
        }
        let many = (0..=MAX_BANDS as u64)
            .map(|n| weight_band(n, Some(n + 1), "1"))
            .collect();
        assert!(refused(Rate::WeightBands { bands: many }).contains("at most 50 bands"));
        let reason = refused(Rate::SubtotalBands {
            bands: vec![
                subtotal_band("0", Some("50"), "4.90"),
                subtotal_band("50.01", None, "0"),
            ],
        });
        assert!(
            reason.contains("ends at 50.00 but the next starts at 50.01"),
            "{reason}"
        );
    }

    #[test]
    fn a_band_includes_its_start_and_excludes_its_end() {
        let rate = Rate::SubtotalBands {
            bands: vec![
                subtotal_band("0", Some("50"), "4.90"),
                subtotal_band("50", Some("100"), "2.90"),
            ],
        };
        let price = |subtotal| rate.price_for(eur(subtotal), Grams::ZERO);
        assert_eq!(price("0"), Some(eur("4.90")));
        assert_eq!(price("49.99"), Some(eur("4.90")));
        assert_eq!(price("50.00"), Some(eur("2.90")));
        assert_eq!(price("99.99"), Some(eur("2.90")));
        assert_eq!(price("100.00"), None);
    }

    #[test]
    fn the_threshold_makes_an_offered_option_free_from_exactly_its_amount() {
        let entry = CurrencyPrice {
            rate: Rate::WeightBands {
                bands: vec![weight_band(0, Some(2_000), "4.90")],
            },
            free_shipping_from: Some(eur("50.00")),
        };
        let charge = |subtotal, grams| entry.charge(eur(subtotal), Grams::new(grams));
        assert_eq!(
            charge("49.99", 100),
            Some(Charge {
                price: eur("4.90"),
                free_shipping: false
            })
        );
        let free = charge("50.00", 100).unwrap();
        assert!(free.free_shipping);
        assert_eq!(free.price.amount().to_string(), "0.00");
        assert_eq!(charge("80.00", 2_000), None, "beyond the last band");
    }
}
