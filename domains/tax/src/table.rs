//! The built-in [`TaxCalculator`]: a table of rates the shop configures.
//!
//! - A standard rate per destination country; a line without a tax class, or with a class
//!   the country has no rate for, is taxed at it.
//! - Optionally a rate per (country, tax class), overriding the standard rate for that class
//!   ("reduced" books in Germany at 7 %).
//! - Shipping is taxed at the country's standard rate.
//! - Per currency, whether prices are tax-inclusive or tax-exclusive. The request says it too
//!   (an external service needs it); the table refuses a request that disagrees with its
//!   configuration rather than put tax in prices the shopper saw without it.
//!
//! Invariant: a configured table has at most one standard rate per country, at most one rate
//! per (country, class), a class rate only where the country has a standard rate, and one
//! price basis per configured currency.

use std::collections::BTreeMap;

use async_trait::async_trait;
use shared_kernel::{CountryCode, Currency};

use crate::errors::{TaxConfigError, TaxError};
use crate::ports::{TaxBreakdown, TaxCalculator, TaxRequest};
use crate::rounding::tax_on;
use crate::values::{PriceBasis, TaxClass, TaxRate};

/// Tax rates by country and tax class, and the price basis per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxTable {
    standard: BTreeMap<CountryCode, TaxRate>,
    by_class: BTreeMap<(CountryCode, TaxClass), TaxRate>,
    bases: BTreeMap<Currency, PriceBasis>,
}

impl TaxTable {
    /// Checks the invariant of the [module docs](self).
    pub fn new(
        standard: impl IntoIterator<Item = (CountryCode, TaxRate)>,
        by_class: impl IntoIterator<Item = (CountryCode, TaxClass, TaxRate)>,
        bases: impl IntoIterator<Item = (Currency, PriceBasis)>,
    ) -> Result<TaxTable, TaxConfigError> {
        let mut table = TaxTable {
            standard: BTreeMap::new(),
            by_class: BTreeMap::new(),
            bases: BTreeMap::new(),
        };
        for (country, rate) in standard {
            if table.standard.insert(country, rate).is_some() {
                return Err(TaxConfigError::DuplicateCountry { country });
            }
        }
        for (country, class, rate) in by_class {
            if !table.standard.contains_key(&country) {
                return Err(TaxConfigError::ClassRateWithoutStandardRate {
                    country,
                    class: class.to_string(),
                });
            }
            let name = class.to_string();
            if table.by_class.insert((country, class), rate).is_some() {
                return Err(TaxConfigError::DuplicateClassRate {
                    country,
                    class: name,
                });
            }
        }
        for (currency, basis) in bases {
            if table.bases.insert(currency, basis).is_some() {
                return Err(TaxConfigError::DuplicateCurrency { currency });
            }
        }
        Ok(table)
    }

    /// The table described by two settings, as an operator writes them in the environment:
    ///
    /// - `rates`: comma-separated `COUNTRY=PERCENT` standard rates and `COUNTRY/CLASS=PERCENT`
    ///   class rates, e.g. `GB=20,DE=19,DE/reduced=7,US=0`;
    /// - `prices`: comma-separated `CURRENCY=inclusive|exclusive`, e.g.
    ///   `EUR=inclusive,USD=exclusive`.
    ///
    /// Whitespace around entries is ignored and empty entries are skipped. Errors: the first
    /// entry that is malformed ([`TaxConfigError::InvalidSetting`]) or breaks the table's
    /// invariant.
    pub fn from_settings(rates: &str, prices: &str) -> Result<TaxTable, TaxConfigError> {
        let mut standard = Vec::new();
        let mut by_class = Vec::new();
        for (entry, key, value) in entries("rates", rates)? {
            let invalid = |reason: String| TaxConfigError::InvalidSetting {
                setting: "rates",
                entry: entry.to_owned(),
                reason,
            };
            let percent = rust_decimal::Decimal::from_str_exact(value)
                .map_err(|_| invalid(format!("'{value}' is not a percentage")))?;
            let rate = TaxRate::percent(percent)?;
            let (country, class) = match key.split_once('/') {
                Some((country, class)) => (country, Some(TaxClass::parse(class)?)),
                None => (key, None),
            };
            let country = CountryCode::parse(country)
                .map_err(|error| invalid(format!("'{country}': {error}")))?;
            match class {
                Some(class) => by_class.push((country, class, rate)),
                None => standard.push((country, rate)),
            }
        }
        let mut bases = Vec::new();
        for (entry, key, value) in entries("prices", prices)? {
            let invalid = |reason: String| TaxConfigError::InvalidSetting {
                setting: "prices",
                entry: entry.to_owned(),
                reason,
            };
            let currency =
                Currency::parse(key).map_err(|error| invalid(format!("'{key}': {error}")))?;
            let basis = match value.to_ascii_lowercase().as_str() {
                "inclusive" => PriceBasis::TaxInclusive,
                "exclusive" => PriceBasis::TaxExclusive,
                _ => return Err(invalid("say inclusive or exclusive".to_owned())),
            };
            bases.push((currency, basis));
        }
        TaxTable::new(standard, by_class, bases)
    }

    /// Every configured currency with whether its prices include tax.
    pub fn price_bases(&self) -> impl Iterator<Item = (Currency, PriceBasis)> + '_ {
        self.bases
            .iter()
            .map(|(currency, basis)| (*currency, *basis))
    }

    /// Whether prices in `currency` include tax; `None` if the currency is not configured.
    /// What a cart reads to build its [`TaxRequest`].
    pub fn price_basis(&self, currency: Currency) -> Option<PriceBasis> {
        self.bases.get(&currency).copied()
    }

    /// The rate for goods of `class` sent to `country`: the class's rate there, else the
    /// country's standard rate; `None` if the country has no rate.
    pub fn rate_for(&self, country: CountryCode, class: Option<&TaxClass>) -> Option<TaxRate> {
        let standard = *self.standard.get(&country)?;
        let by_class = class.and_then(|class| self.by_class.get(&(country, class.clone())));
        Some(by_class.copied().unwrap_or(standard))
    }

    /// The answer [`TaxCalculator::calculate`] gives, without waiting for anything.
    pub fn tax(&self, request: &TaxRequest) -> Result<TaxBreakdown, TaxError> {
        let currency = request.currency();
        let configured = self
            .price_basis(currency)
            .ok_or(TaxError::CurrencyNotConfigured { currency })?;
        if configured != request.prices() {
            return Err(TaxError::PriceBasisMismatch {
                currency,
                configured,
                requested: request.prices(),
            });
        }
        let country = request.destination();
        let rate = |class| {
            self.rate_for(country, class)
                .ok_or(TaxError::NoRate { country })
        };
        let lines = request
            .lines()
            .iter()
            .map(|line| tax_on(line.amount, rate(line.tax_class.as_ref())?, configured))
            .collect::<Result<Vec<_>, _>>()?;
        let shipping = tax_on(request.shipping(), rate(None)?, configured)?;
        TaxBreakdown::new(request, lines, shipping)
    }
}

/// The `KEY=VALUE` entries of a comma-separated setting, each with its text, trimmed.
fn entries<'a>(
    setting: &'static str,
    text: &'a str,
) -> Result<Vec<(&'a str, &'a str, &'a str)>, TaxConfigError> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
                Ok((entry, key.trim(), value.trim()))
            }
            _ => Err(TaxConfigError::InvalidSetting {
                setting,
                entry: entry.to_owned(),
                reason: "write KEY=VALUE".to_owned(),
            }),
        })
        .collect()
}

#[async_trait]
impl TaxCalculator for TaxTable {
    async fn calculate(&self, request: &TaxRequest) -> Result<TaxBreakdown, TaxError> {
        self.tax(request)
    }
}

#[cfg(test)]
mod tests;
