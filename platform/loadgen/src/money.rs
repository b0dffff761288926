//! Money as the API sends it: a decimal string and a currency code. Amounts are compared as
//! exact decimals (an integer mantissa and a scale), never as floats, so "19.9" equals
//! "19.90" and nothing is lost to rounding. Sums are exact too, kept per currency.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Money {
    pub amount: String,
    pub currency: String,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// An exact decimal: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

/// More fractional digits than any currency uses, with room to rescale within i128.
const MAX_SCALE: u32 = 18;

impl Decimal {
    /// Parses "19.99", "-3", "0.5", "+1.000". No exponents, no separators.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (negative, digits) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((whole, fraction)) => (whole, fraction),
            None => (digits, ""),
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        if !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return None;
        }
        // Trailing fractional zeros carry no value; dropping them keeps the scale small.
        let fraction = fraction.trim_end_matches('0');
        let scale = u32::try_from(fraction.len()).ok()?;
        if scale > MAX_SCALE {
            return None;
        }
        let mut mantissa: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(b - b'0'))?;
        }
        if negative {
            mantissa = -mantissa;
        }
        Some(Self { mantissa, scale })
    }

    fn rescaled(self, scale: u32) -> Option<i128> {
        let factor = 10_i128.checked_pow(scale.checked_sub(self.scale)?)?;
        self.mantissa.checked_mul(factor)
    }

    /// Exact comparison; `None` only if rescaling would overflow.
    pub fn compare(self, other: Self) -> Option<Ordering> {
        let scale = self.scale.max(other.scale);
        Some(self.rescaled(scale)?.cmp(&other.rescaled(scale)?))
    }

    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// Exact sum; `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        let mantissa = self.rescaled(scale)?.checked_add(other.rescaled(scale)?)?;
        Some(Self { mantissa, scale }.normalized())
    }

    /// Exact difference; `None` on overflow.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.checked_add(Self {
            mantissa: other.mantissa.checked_neg()?,
            scale: other.scale,
        })
    }

    /// Without trailing fractional zeros, as `parse` makes them, so that equal values are
    /// equal field by field.
    fn normalized(mut self) -> Self {
        while self.scale > 0 && self.mantissa % 10 == 0 {
            self.mantissa /= 10;
            self.scale -= 1;
        }
        self
    }
}

/// At least two fractional digits, as money is shown: "12.30", "-0.05", "7.125".
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::try_from(self.scale).unwrap_or(usize::MAX);
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        write!(f, "{sign}{whole}.{fraction:0<2}")
    }
}

/// Amounts added up exactly, one sum per currency (upper-cased), so that currencies never
/// mix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    by_currency: BTreeMap<String, Decimal>,
}

impl Totals {
    /// Adds `money`; an error names an amount that is not a decimal or a sum that overflows.
    pub fn add(&mut self, money: &Money) -> Result<(), String> {
        let amount = money
            .decimal()
            .ok_or_else(|| format!("amount {money} is not a decimal"))?;
        let sum = self
            .by_currency
            .entry(money.currency.to_ascii_uppercase())
            .or_insert(Decimal::ZERO);
        *sum = sum
            .checked_add(amount)
            .ok_or_else(|| format!("adding {money} overflows"))?;
        Ok(())
    }
}

/// "1234.50 EUR", "10.00 EUR + 3.00 USD", or "0.00" when empty.
impl fmt::Display for Totals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.by_currency.is_empty() {
            return write!(f, "{}", Decimal::ZERO);
        }
        let parts: Vec<String> = self
            .by_currency
            .iter()
            .map(|(currency, sum)| format!("{sum} {currency}"))
            .collect();
        write!(f, "{}", parts.join(" + "))
    }
}

impl Money {
    /// The amount as an exact decimal, `None` when it is not one.
    pub fn decimal(&self) -> Option<Decimal> {
        Decimal::parse(&self.amount)
    }

    /// Same currency (case-insensitive) and exactly the same amount. Unparseable amounts
    /// are never equal to anything.
    pub fn same_as(&self, other: &Money) -> bool {
        if !self.currency.eq_ignore_ascii_case(&other.currency) {
            return false;
        }
        match (Decimal::parse(&self.amount), Decimal::parse(&other.amount)) {
            (Some(a), Some(b)) => a.compare(b) == Some(Ordering::Equal),
            _ => false,
        }
    }

    /// Same currency and at least `other`'s amount. Unparseable amounts cover nothing.
    pub fn covers(&self, other: &Money) -> bool {
        if !self.currency.eq_ignore_ascii_case(&other.currency) {
            return false;
        }
        match (Decimal::parse(&self.amount), Decimal::parse(&other.amount)) {
            (Some(a), Some(b)) => matches!(a.compare(b), Some(Ordering::Greater | Ordering::Equal)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.to_owned(),
            currency: currency.to_owned(),
        }
    }

    #[test]
    fn parses_decimals() {
        let d = |s| Decimal::parse(s);
        assert_eq!(
            d("19.99"),
            Some(Decimal {
                mantissa: 1999,
                scale: 2
            })
        );
        assert_eq!(
            d("19.90"),
            Some(Decimal {
                mantissa: 199,
                scale: 1
            })
        );
        assert_eq!(
            d("-3"),
            Some(Decimal {
                mantissa: -3,
                scale: 0
            })
        );
        assert_eq!(
            d(".5"),
            Some(Decimal {
                mantissa: 5,
                scale: 1
            })
        );
        assert_eq!(
            d("7."),
            Some(Decimal {
                mantissa: 7,
                scale: 0
            })
        );
        for bad in ["", "-", ".", "1e3", "1,00", "abc", "1.2.3", " ", "--1"] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn compares_exactly_across_scales() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("19.9").compare(d("19.900")), Some(Ordering::Equal));
        assert_eq!(d("0").compare(d("0.00")), Some(Ordering::Equal));
        assert_eq!(d("-0.00").compare(d("0")), Some(Ordering::Equal));
        assert_eq!(d("19.99").compare(d("20")), Some(Ordering::Less));
        assert_eq!(d("0.1").compare(d("0.09")), Some(Ordering::Greater));
        // The classic float trap: 0.1 + 0.2 is not 0.3 in binary, but these are strings.
        assert_eq!(d("0.30").compare(d("0.3")), Some(Ordering::Equal));
    }

    #[test]
    fn adds_and_subtracts_exactly_across_scales() {
        let d = |s| Decimal::parse(s).unwrap();
        assert_eq!(d("0.1").checked_add(d("0.2")), Some(d("0.3")));
        assert_eq!(d("19.99").checked_add(d("0.01")), Some(d("20")));
        assert_eq!(d("10.00").checked_sub(d("12.345")), Some(d("-2.345")));
        assert_eq!(d("5").checked_sub(d("5.00")), Some(Decimal::ZERO));
        let max = Decimal {
            mantissa: i128::MAX,
            scale: 0,
        };
        assert_eq!(max.checked_add(d("1")), None);
        assert_eq!(
            d("1").checked_sub(max).and_then(|v| v.checked_sub(d("3"))),
            None
        );
    }

    #[test]
    fn shows_decimals_with_at_least_two_fractional_digits() {
        let shown = |s| Decimal::parse(s).unwrap().to_string();
        assert_eq!(shown("12.3"), "12.30");
        assert_eq!(shown("-0.05"), "-0.05");
        assert_eq!(shown("7.125"), "7.125");
        assert_eq!(shown("0"), "0.00");
        assert_eq!(shown("1200"), "1200.00");
    }

    #[test]
    fn totals_sum_per_currency_and_refuse_non_decimals() {
        let mut totals = Totals::default();
        totals.add(&money("10.10", "EUR")).unwrap();
        totals.add(&money("0.20", "eur")).unwrap();
        totals.add(&money("3", "USD")).unwrap();
        assert_eq!(totals.to_string(), "10.30 EUR + 3.00 USD");
        assert!(totals.add(&money("1,00", "EUR")).is_err());
        assert_eq!(Totals::default().to_string(), "0.00");
    }

    #[test]
    fn money_equality_needs_currency_and_amount() {
        assert!(money("19.99", "EUR").same_as(&money("19.990", "eur")));
        assert!(!money("19.99", "EUR").same_as(&money("19.99", "USD")));
        assert!(!money("19.99", "EUR").same_as(&money("19.98", "EUR")));
        assert!(!money("oops", "EUR").same_as(&money("oops", "EUR")));
    }

    #[test]
    fn covers_compares_amounts_of_one_currency() {
        assert!(money("10.00", "EUR").covers(&money("10", "EUR")));
        assert!(money("10.01", "EUR").covers(&money("10.00", "EUR")));
        assert!(!money("9.99", "EUR").covers(&money("10.00", "EUR")));
        assert!(!money("10.00", "EUR").covers(&money("1.00", "USD")));
        assert!(!money("x", "EUR").covers(&money("1.00", "EUR")));
    }
}
