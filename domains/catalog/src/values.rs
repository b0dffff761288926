//! Value types of the catalog. Each constructor validates, so holding one means it is valid.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Grams, Money};

use crate::errors::CatalogError;
use crate::events::VariantData;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Most variants one product may have.
pub const MAX_VARIANTS: usize = 100;
/// Heaviest weight of one unit, in grams (1 000 t): keeps typos out and cart totals countable.
pub const MAX_VARIANT_WEIGHT_GRAMS: u64 = 1_000_000_000;

pub use shared_kernel::{Sku, MAX_SKU_CHARS};

/// A product title: trimmed, not empty, at most 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Title, CatalogError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(CatalogError::EmptyTitle);
        }
        if trimmed.chars().count() > MAX_TITLE_CHARS {
            return Err(CatalogError::TitleTooLong {
                max: MAX_TITLE_CHARS,
            });
        }
        Ok(Title(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A title as an event recorded it, taken as it is (never validated again).
    pub fn recorded(title: String) -> Title {
        Title(title)
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Title {
    type Error = CatalogError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Title::parse(&raw)
    }
}

impl From<Title> for String {
    fn from(title: Title) -> Self {
        title.0
    }
}

/// Lifecycle of a created product. A product that does not exist yet has no status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Visible to staff only; cannot be bought.
    Draft,
    /// Visible to shoppers and purchasable.
    Published,
}

impl fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Published => "published",
        })
    }
}

/// One sellable variant of a product: its SKU, an optional name ("Red, XL"), at most one
/// price per currency, each a valid [`Money::price`], and the weight of one unit when known
/// (at most [`MAX_VARIANT_WEIGHT_GRAMS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    sku: Sku,
    name: Option<String>,
    prices: Vec<Money>,
    /// Default: snapshots taken before variants had weights.
    #[serde(default)]
    weight: Option<Grams>,
}

/// The name the design notes use for a validated variant; the same type as [`Variant`].
pub type VariantSpec = Variant;

impl Variant {
    /// Validates the prices (at least one, one per currency, each a valid price, rescaled to
    /// minor units) and trims the name (blank means none).
    pub fn new(
        sku: Sku,
        name: Option<String>,
        prices: Vec<Money>,
    ) -> Result<Variant, CatalogError> {
        if prices.is_empty() {
            return Err(CatalogError::NoPrice { sku });
        }
        let mut valid: Vec<Money> = Vec::with_capacity(prices.len());
        for price in prices {
            let price = validate_price(&sku, price)?;
            if valid.iter().any(|p| p.currency() == price.currency()) {
                return Err(CatalogError::DuplicateCurrency {
                    sku,
                    currency: price.currency(),
                });
            }
            valid.push(price);
        }
        let name = name
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty());
        Ok(Variant {
            sku,
            name,
            prices: valid,
            weight: None,
        })
    }

    /// The variant weighing `grams` per unit (`None`: unknown); refuses a weight below 0 or
    /// above [`MAX_VARIANT_WEIGHT_GRAMS`].
    pub fn weighing(self, grams: Option<i64>) -> Result<Variant, CatalogError> {
        let weight = validate_weight(&self.sku, grams)?;
        Ok(Variant { weight, ..self })
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Prices in the order they were first set.
    pub fn prices(&self) -> &[Money] {
        &self.prices
    }

    /// Weight of one unit, when known.
    pub fn weight(&self) -> Option<Grams> {
        self.weight
    }

    pub fn price(&self, currency: Currency) -> Option<Money> {
        self.prices
            .iter()
            .find(|p| p.currency() == currency)
            .copied()
    }

    /// A variant as `ProductCreated` recorded it, taken as it is (never validated again).
    pub fn recorded(variant: VariantData) -> Variant {
        Variant {
            sku: Sku::recorded(variant.sku),
            name: variant.name,
            prices: variant.prices,
            weight: variant.weight_grams,
        }
    }

    /// The variant as plain data, as an event records it.
    pub fn data(&self) -> VariantData {
        VariantData {
            sku: self.sku.as_str().to_owned(),
            name: self.name.clone(),
            prices: self.prices.clone(),
            weight_grams: self.weight,
        }
    }

    pub(crate) fn set_weight(&mut self, weight: Option<Grams>) {
        self.weight = weight;
    }

    /// Sets or replaces the price in `price`'s currency. Callers validate with [`validate_price`].
    pub(crate) fn set_price(&mut self, price: Money) {
        match self
            .prices
            .iter_mut()
            .find(|p| p.currency() == price.currency())
        {
            Some(existing) => *existing = price,
            None => self.prices.push(price),
        }
    }
}

/// A weight as the catalog stores it (0 to [`MAX_VARIANT_WEIGHT_GRAMS`]; `None`: unknown), or
/// why it is not one.
pub(crate) fn validate_weight(
    sku: &Sku,
    grams: Option<i64>,
) -> Result<Option<Grams>, CatalogError> {
    let Some(raw) = grams else {
        return Ok(None);
    };
    match u64::try_from(raw) {
        Ok(grams) if grams <= MAX_VARIANT_WEIGHT_GRAMS => Ok(Some(Grams::new(grams))),
        _ => Err(CatalogError::WeightOutOfRange {
            sku: sku.clone(),
            grams: raw,
            max: MAX_VARIANT_WEIGHT_GRAMS,
        }),
    }
}

/// A price as the catalog stores it (see [`Money::price`]), or why it is not one.
pub(crate) fn validate_price(sku: &Sku, price: Money) -> Result<Money, CatalogError> {
    Money::price(price.amount(), price.currency()).map_err(|reason| CatalogError::InvalidPrice {
        sku: sku.clone(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_kernel::MoneyError;

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
    }

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(Title::parse("  Tee ").unwrap().as_str(), "Tee");
        assert_eq!(Title::parse(" \t"), Err(CatalogError::EmptyTitle));
        assert!(Title::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            Title::parse(&"é".repeat(201)),
            Err(CatalogError::TitleTooLong { max: 200 })
        );
    }

    #[test]
    fn variant_rescales_prices_and_trims_the_name() {
        let sku = Sku::parse("A").unwrap();
        let variant = Variant::new(sku, Some("  Red ".into()), vec![eur("19.9")]).unwrap();
        assert_eq!(variant.name(), Some("Red"));
        assert_eq!(
            variant.price(Currency::EUR).unwrap().to_string(),
            "19.90 EUR"
        );
        assert_eq!(variant.price(Currency::USD), None);
    }

    #[test]
    fn variant_treats_a_blank_name_as_none() {
        let variant = Variant::new(Sku::parse("A").unwrap(), Some(" ".into()), vec![eur("1")]);
        assert_eq!(variant.unwrap().name(), None);
    }

    #[test]
    fn variant_weighs_up_to_a_thousand_tonnes_or_nothing_known() {
        let variant = || Variant::new(Sku::parse("A").unwrap(), None, vec![eur("1")]).unwrap();
        assert_eq!(variant().weight(), None);
        assert_eq!(variant().weighing(None).unwrap().weight(), None);
        assert_eq!(
            variant().weighing(Some(0)).unwrap().weight(),
            Some(Grams::ZERO)
        );
        assert_eq!(
            variant()
                .weighing(Some(MAX_VARIANT_WEIGHT_GRAMS as i64))
                .unwrap()
                .weight(),
            Some(Grams::new(MAX_VARIANT_WEIGHT_GRAMS))
        );
        for refused in [-1, MAX_VARIANT_WEIGHT_GRAMS as i64 + 1, i64::MIN, i64::MAX] {
            assert_eq!(
                variant().weighing(Some(refused)),
                Err(CatalogError::WeightOutOfRange {
                    sku: Sku::parse("A").unwrap(),
                    grams: refused,
                    max: MAX_VARIANT_WEIGHT_GRAMS
                })
            );
        }
    }

    #[test]
    fn variant_needs_a_price() {
        let sku = Sku::parse("A").unwrap();
        assert_eq!(
            Variant::new(sku.clone(), None, vec![]),
            Err(CatalogError::NoPrice { sku })
        );
    }

    #[test]
    fn variant_allows_one_price_per_currency() {
        let sku = Sku::parse("A").unwrap();
        assert_eq!(
            Variant::new(sku.clone(), None, vec![eur("1"), eur("2")]),
            Err(CatalogError::DuplicateCurrency {
                sku,
                currency: Currency::EUR
            })
        );
    }

    #[test]
    fn variant_rejects_negative_and_too_precise_prices() {
        let sku = Sku::parse("A").unwrap();
        assert_eq!(
            Variant::new(sku.clone(), None, vec![eur("-1")]),
            Err(CatalogError::InvalidPrice {
                sku: sku.clone(),
                reason: MoneyError::NegativeAmount
            })
        );
        assert!(matches!(
            Variant::new(sku, None, vec![eur("1.001")]),
            Err(CatalogError::InvalidPrice {
                reason: MoneyError::TooPrecise { .. },
                ..
            })
        ));
    }
}
