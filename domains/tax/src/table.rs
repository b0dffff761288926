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

#[async_trait]
impl TaxCalculator for TaxTable {
    async fn calculate(&self, request: &TaxRequest) -> Result<TaxBreakdown, TaxError> {
        self.tax(request)
    }
}

#[cfg(test)]
mod tests;
