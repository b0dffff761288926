//! Value types of the tax context: rates, tax classes, and whether prices include tax. Each
//! constructor checks its rules, so a value built from configuration is valid.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::errors::TaxConfigError;

/// A product's tax class, shared with the catalog that assigns it (see `shared_kernel`).
pub use shared_kernel::{TaxClass, MAX_TAX_CLASS_CHARS};

/// Most decimal places of a rate in percent: 8.875 % has three, 4 is room to spare.
pub const MAX_RATE_DECIMALS: u32 = 4;

/// A tax rate in percent: from 0 to 100, at most [`MAX_RATE_DECIMALS`] decimal places
/// (`19` is 19 %, `8.875` is 8.875 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct TaxRate(Decimal);

impl TaxRate {
    pub const ZERO: TaxRate = TaxRate(Decimal::ZERO);

    /// `percent` as a rate: `Decimal` 19 is 19 %.
    pub fn percent(percent: Decimal) -> Result<TaxRate, TaxConfigError> {
        let invalid = |reason| TaxConfigError::InvalidRate { percent, reason };
        if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
            return Err(invalid("must be from 0 to 100"));
        }
        let normalized = percent.normalize();
        if normalized.scale() > MAX_RATE_DECIMALS {
            return Err(invalid("at most four decimal places"));
        }
        Ok(TaxRate(normalized))
    }

    /// The rate in percent: 19 for 19 %.
    pub fn as_percent(&self) -> Decimal {
        self.0
    }

    /// The rate in millionths (ten-thousandths of a percent): 190 000 for 19 %. Exact, by
    /// the limit on decimal places; what the rounding computes with.
    pub(crate) fn millionths(&self) -> u128 {
        let mut scaled = self.0;
        scaled.rescale(MAX_RATE_DECIMALS);
        // 0 to 1 000 000 after the checks of `percent`.
        u128::try_from(scaled.mantissa()).unwrap_or(0)
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl TryFrom<Decimal> for TaxRate {
    type Error = TaxConfigError;

    fn try_from(percent: Decimal) -> Result<Self, Self::Error> {
        TaxRate::percent(percent)
    }
}

impl From<TaxRate> for Decimal {
    fn from(rate: TaxRate) -> Self {
        rate.0
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} %", self.0)
    }
}

/// Whether the amounts handed to the calculator already include tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceBasis {
    /// Prices are gross (as shoppers in the EU see them): the tax is inside the amount.
    TaxInclusive,
    /// Prices are net (as shoppers in the US see them): the tax comes on top.
    TaxExclusive,
}

impl fmt::Display for PriceBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PriceBasis::TaxInclusive => "tax_inclusive",
            PriceBasis::TaxExclusive => "tax_exclusive",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    #[test]
    fn a_rate_is_a_percentage_from_zero_to_a_hundred_with_four_decimals_at_most() {
        assert_eq!(TaxRate::percent(dec("19")).unwrap().millionths(), 190_000);
        assert_eq!(TaxRate::percent(dec("8.875")).unwrap().millionths(), 88_750);
        assert_eq!(TaxRate::percent(dec("0.0001")).unwrap().millionths(), 1);
        assert_eq!(
            TaxRate::percent(dec("100")).unwrap().millionths(),
            1_000_000
        );
        assert_eq!(
            TaxRate::percent(dec("7.70000")).unwrap().to_string(),
            "7.7 %"
        );
        assert!(TaxRate::percent(dec("0")).unwrap().is_zero());
        for refused in ["-1", "100.0001", "12.34567"] {
            assert!(
                matches!(
                    TaxRate::percent(dec(refused)),
                    Err(TaxConfigError::InvalidRate { .. })
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_rate_reads_from_configuration_only_when_valid() {
        let rate: TaxRate = serde_json::from_str("\"20\"").unwrap();
        assert_eq!(rate.as_percent(), dec("20"));
        assert!(serde_json::from_str::<TaxRate>("\"120\"").is_err());
    }
}
