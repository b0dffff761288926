//! Money as the API sends it: a decimal string and a currency code. Amounts are compared as
//! exact decimals (an integer mantissa and a scale), never as floats, so "19.9" equals
//! "19.90" and nothing is lost to rounding.

use std::cmp::Ordering;
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
}

impl Money {
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
