//! How tax is taken out of, or put on top of, one amount, and rounded.
//!
//! With `rate` as a fraction (19 % is 0.19) and `amount` the line's amount after discounts
//! (or the shipping charge):
//! - tax-exclusive: `tax = amount × rate`, rounded; `net = amount`, `gross = net + tax`.
//! - tax-inclusive: `tax = amount − amount / (1 + rate)`, computed as the equal
//!   `amount × rate / (1 + rate)` and rounded; `gross = amount`, `net = gross − tax`.
//!
//! Rounding is half up (amounts are never negative, so half away from zero, as
//! `Money::round_to_minor_units` rounds everywhere else) to the currency's minor unit, once per
//! line and once for shipping; a total is the sum of rounded parts and is never rounded
//! again. The arithmetic runs on whole minor units and millionths of the rate in 128-bit
//! integers, so nothing is rounded before that one rounding.
//!
//! Invariant: the tax of a line is within half a minor unit of its exact value (a tie
//! rounds up), in the currency's minor units, never negative and never more than the amount.
//! Invariant: `net + tax == gross` exactly; the amount given is the gross (inclusive) or the
//! net (exclusive), unchanged. A zero rate gives zero tax.

use rust_decimal::Decimal;
use serde::Serialize;
use shared_kernel::{Currency, Money};

use crate::errors::TaxError;
use crate::values::{PriceBasis, TaxRate};

/// Largest amount taxed, in major units (10^18): three orders of magnitude above the largest
/// price, and small enough that the integer arithmetic is exact.
pub const MAX_TAXABLE_AMOUNT: u64 = 1_000_000_000_000_000_000;

/// A rate in millionths is over this denominator.
const MILLION: u128 = 1_000_000;

/// One amount with its tax: what a line or the shipping charge comes to. Serializes for
/// answers and views; built only by [`tax_on`] and [`TaxedAmount::new`], so it always adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TaxedAmount {
    rate: TaxRate,
    basis: PriceBasis,
    net: Money,
    tax: Money,
    gross: Money,
}

impl TaxedAmount {
    /// `amount` as given under `basis`, with `tax` charged on it at `rate`: how an external
    /// service's answer is taken in. Refuses a tax that is negative, finer than the minor
    /// unit, in another currency, or (inclusive) more than the amount.
    pub fn new(
        amount: Money,
        basis: PriceBasis,
        rate: TaxRate,
        tax: Money,
    ) -> Result<TaxedAmount, TaxError> {
        let invalid = |reason: String| Err(TaxError::InvalidAnswer { reason });
        let currency = amount.currency();
        if tax.currency() != currency {
            return invalid(format!("tax {tax} on an amount in {currency}"));
        }
        let amount_minor = to_minor(amount).map_err(|reason| TaxError::InvalidAnswer {
            reason: format!("{amount}: {reason}"),
        })?;
        let tax_minor = to_minor(tax).map_err(|reason| TaxError::InvalidAnswer {
            reason: format!("tax {tax}: {reason}"),
        })?;
        let (net, gross) = match basis {
            PriceBasis::TaxExclusive => (amount_minor, amount_minor + tax_minor),
            PriceBasis::TaxInclusive => match amount_minor.checked_sub(tax_minor) {
                Some(net) => (net, amount_minor),
                None => return invalid(format!("tax {tax} exceeds the tax-inclusive {amount}")),
            },
        };
        Ok(TaxedAmount {
            rate,
            basis,
            net: from_minor(net, currency)?,
            tax: from_minor(tax_minor, currency)?,
            gross: from_minor(gross, currency)?,
        })
    }

    pub fn rate(&self) -> TaxRate {
        self.rate
    }

    pub fn basis(&self) -> PriceBasis {
        self.basis
    }

    /// Without tax.
    pub fn net(&self) -> Money {
        self.net
    }

    pub fn tax(&self) -> Money {
        self.tax
    }

    /// With tax.
    pub fn gross(&self) -> Money {
        self.gross
    }

    /// The amount as it was given: the gross (inclusive) or the net (exclusive).
    pub fn given(&self) -> Money {
        match self.basis {
            PriceBasis::TaxInclusive => self.gross,
            PriceBasis::TaxExclusive => self.net,
        }
    }
}

/// `amount` taxed at `rate`, as the [module docs](self) say. `amount` must not be negative,
/// must be whole minor units of its currency and at most [`MAX_TAXABLE_AMOUNT`].
pub fn tax_on(amount: Money, rate: TaxRate, basis: PriceBasis) -> Result<TaxedAmount, TaxError> {
    let minor = to_minor(amount).map_err(|reason| TaxError::InvalidRequest {
        reason: format!("{amount}: {reason}"),
    })?;
    let rate_millionths = rate.millionths();
    // Exact: minor <= 10^21 and the rate <= 10^6, far below u128::MAX.
    let numerator = minor * rate_millionths;
    let denominator = match basis {
        PriceBasis::TaxExclusive => MILLION,
        PriceBasis::TaxInclusive => MILLION + rate_millionths,
    };
    let tax = from_minor(half_up(numerator, denominator), amount.currency())?;
    TaxedAmount::new(amount, basis, rate, tax)
}

/// `numerator / denominator` rounded to the nearest whole number, a tie up.
fn half_up(numerator: u128, denominator: u128) -> u128 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// The count of minor units in `money`, or why it is not an amount to tax.
pub(crate) fn to_minor(money: Money) -> Result<u128, String> {
    if money.is_negative() {
        return Err("must not be negative".to_owned());
    }
    let currency = money.currency();
    if !money.has_at_most_minor_unit_precision() {
        return Err(format!(
            "{currency} amounts have at most {} decimal places",
            currency.minor_units()
        ));
    }
    if money.amount() > Decimal::from(MAX_TAXABLE_AMOUNT) {
        return Err(format!("must be at most {MAX_TAXABLE_AMOUNT}"));
    }
    let mut amount = money.amount();
    // Exact: whole minor units, and at most 10^18 leaves room for three more digits.
    amount.rescale(currency.minor_units());
    u128::try_from(amount.mantissa()).map_err(|_| "must not be negative".to_owned())
}

/// `minor` minor units of `currency`, with exactly its decimal places.
pub(crate) fn from_minor(minor: u128, currency: Currency) -> Result<Money, TaxError> {
    let too_large = || TaxError::InvalidRequest {
        reason: "the amounts are too large to add up".to_owned(),
    };
    let mantissa = i128::try_from(minor).map_err(|_| too_large())?;
    let amount = Decimal::try_from_i128_with_scale(mantissa, currency.minor_units())
        .map_err(|_| too_large())?;
    Ok(Money::new(amount, currency))
}

#[cfg(test)]
mod tests;
