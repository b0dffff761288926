//! Money: a decimal amount tagged with an ISO 4217 currency.
//!
//! Invariant: amounts of different currencies are never added or subtracted; doing so is a
//! [`MoneyError::CurrencyMismatch`], not a silent conversion.
//! Invariant: rounding only happens when asked for ([`Money::round_to_minor_units`]) or when a
//! price is built with [`Money::price`], which refuses amounts it would have to round.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::quantity::Quantity;

/// Why an amount, a currency or an operation on money was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{code}' is not a currency code (expected three uppercase letters)")]
    InvalidCurrencyCode { code: String },
    #[error("unknown currency '{code}'")]
    UnknownCurrency { code: String },
    #[error("'{amount}' is not a plain decimal amount")]
    InvalidAmount { amount: String },
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount must not be negative")]
    NegativeAmount,
    #[error("{currency} amounts have at most {minor_units} decimal places")]
    TooPrecise {
        currency: Currency,
        minor_units: u32,
    },
    #[error("amount exceeds the maximum of {max}")]
    TooLarge { max: Decimal },
    #[error("amount overflows")]
    Overflow,
}

/// An ISO 4217 currency from the supported table. Serializes as its code, e.g. `"EUR"`.
///
/// Ordered by code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    // Field order matters: the derived `Ord` compares the code first.
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    pub const AUD: Currency = Currency::of("AUD", 2);
    pub const BHD: Currency = Currency::of("BHD", 3);
    pub const CAD: Currency = Currency::of("CAD", 2);
    pub const CHF: Currency = Currency::of("CHF", 2);
    pub const CZK: Currency = Currency::of("CZK", 2);
    pub const DKK: Currency = Currency::of("DKK", 2);
    pub const EUR: Currency = Currency::of("EUR", 2);
    pub const GBP: Currency = Currency::of("GBP", 2);
    pub const HUF: Currency = Currency::of("HUF", 2);
    pub const JPY: Currency = Currency::of("JPY", 0);
    pub const KRW: Currency = Currency::of("KRW", 0);
    pub const KWD: Currency = Currency::of("KWD", 3);
    pub const NOK: Currency = Currency::of("NOK", 2);
    pub const NZD: Currency = Currency::of("NZD", 2);
    pub const PLN: Currency = Currency::of("PLN", 2);
    pub const SEK: Currency = Currency::of("SEK", 2);
    pub const USD: Currency = Currency::of("USD", 2);

    /// Every currency there is money in. Entries are only ever added: events hold money as
    /// `{amount, currency}` and decoding looks the code up here, so removing one would make
    /// history unreadable. Stop accepting a currency in commands instead (ADR 0014).
    const ALL: [Currency; 17] = [
        Currency::AUD,
        Currency::BHD,
        Currency::CAD,
        Currency::CHF,
        Currency::CZK,
        Currency::DKK,
        Currency::EUR,
        Currency::GBP,
        Currency::HUF,
        Currency::JPY,
        Currency::KRW,
        Currency::KWD,
        Currency::NOK,
        Currency::NZD,
        Currency::PLN,
        Currency::SEK,
        Currency::USD,
    ];

    const fn of(code: &'static str, minor_units: u32) -> Currency {
        Currency { code, minor_units }
    }

    /// Accepts exactly three uppercase ASCII letters naming a supported currency.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(MoneyError::InvalidCurrencyCode {
                code: code.to_owned(),
            });
        }
        Currency::ALL
            .iter()
            .find(|currency| currency.code == code)
            .copied()
            .ok_or_else(|| MoneyError::UnknownCurrency {
                code: code.to_owned(),
            })
    }

    /// Every supported currency, ordered by code.
    pub fn all() -> &'static [Currency] {
        &Currency::ALL
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimal places of the currency's smallest unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Currency::parse(code)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount in one currency.
///
/// Serializes as `{"amount":"19.99","currency":"EUR"}`; the amount is a string so that no JSON
/// reader turns it into a float. Equality is numeric: `19.9 EUR == 19.90 EUR`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Largest amount [`Money::price`] accepts (10^15). Keeping prices far below `Decimal::MAX`
    /// guarantees that price × any `u32` quantity, and sums of many such lines, cannot overflow.
    pub const MAX_PRICE: Decimal = Decimal::from_parts(0xa4c6_8000, 0x38d7e, 0, false, 0);

    /// Any amount, unrounded. Use [`Money::price`] for amounts someone will be charged.
    pub fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// Parses a plain decimal (`-?digits[.digits]`, no exponent, sign `+`, spaces or `_`) and a
    /// currency code.
    pub fn parse(amount: &str, currency: &str) -> Result<Money, MoneyError> {
        let currency = Currency::parse(currency)?;
        Ok(Money::new(parse_plain_decimal(amount)?, currency))
    }

    /// A price: not negative, at most [`Money::MAX_PRICE`], no more decimals than the currency's
    /// minor units; rescaled so that `19.9 EUR` is stored and shown as `19.90 EUR`.
    pub fn price(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        if amount < Decimal::ZERO {
            return Err(MoneyError::NegativeAmount);
        }
        if amount > Money::MAX_PRICE {
            return Err(MoneyError::TooLarge {
                max: Money::MAX_PRICE,
            });
        }
        let money = Money::new(amount, currency);
        if !money.has_at_most_minor_unit_precision() {
            return Err(MoneyError::TooPrecise {
                currency,
                minor_units: currency.minor_units(),
            });
        }
        // Exact: the precision check above means no digit is lost here.
        Ok(money.round_to_minor_units())
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        let currency = self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, currency))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        let currency = self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, currency))
    }

    /// The amount multiplied by `quantity`, or [`MoneyError::Overflow`].
    pub fn checked_times(&self, quantity: Quantity) -> Result<Money, MoneyError> {
        let amount = self
            .amount
            .checked_mul(Decimal::from(quantity.get()))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(amount, self.currency))
    }

    /// The amount multiplied by `quantity`.
    ///
    /// # Panics
    /// If the result exceeds `Decimal`'s range (about 7.9 × 10^28). That cannot happen for
    /// amounts built by [`Money::price`]; use [`Money::checked_times`] for arbitrary amounts.
    pub fn times(&self, quantity: Quantity) -> Money {
        self.checked_times(quantity)
            .expect("amount times quantity exceeds the decimal range")
    }

    /// Rounds half away from zero to the currency's minor units, with exactly that many
    /// decimals (`1.005 EUR` → `1.01 EUR`, `3 EUR` → `3.00 EUR`).
    pub fn round_to_minor_units(&self) -> Money {
        let minor_units = self.currency.minor_units();
        let mut amount = self
            .amount
            .round_dp_with_strategy(minor_units, RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(minor_units);
        if amount.is_zero() {
            // "-0.00" would serialize differently from "0.00" for the same value.
            amount.set_sign_positive(true);
        }
        Money::new(amount, self.currency)
    }

    /// Strictly below zero.
    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is a whole number of minor units (trailing zeros do not count).
    pub fn has_at_most_minor_unit_precision(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    fn same_currency(&self, other: &Money) -> Result<Currency, MoneyError> {
        if self.currency == other.currency {
            Ok(self.currency)
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency)
    }
}

/// Wire shape of [`Money`]. Written by hand rather than relying on rust_decimal's serde
/// features so that the amount stays a string whatever features another crate enables.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyRepr {
    amount: String,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;

    fn try_from(repr: MoneyRepr) -> Result<Self, Self::Error> {
        Ok(Money::new(
            parse_plain_decimal(&repr.amount)?,
            repr.currency,
        ))
    }
}

impl From<Money> for MoneyRepr {
    fn from(money: Money) -> Self {
        MoneyRepr {
            amount: money.amount.to_string(),
            currency: money.currency,
        }
    }
}

fn parse_plain_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let invalid = || MoneyError::InvalidAmount {
        amount: text.to_owned(),
    };
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !fraction.is_none_or(all_digits) {
        return Err(invalid());
    }
    // `from_str_exact` fails instead of silently rounding away digits beyond Decimal's scale.
    Decimal::from_str_exact(text).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(amount: &str) -> Money {
        Money::parse(amount, "EUR").unwrap()
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    /// Money in events decodes through this table, so a currency, once listed, stays listed
    /// with the same minor units.
    #[test]
    fn no_currency_is_ever_removed_from_the_table() {
        let released = [
            ("AUD", 2),
            ("BHD", 3),
            ("CAD", 2),
            ("CHF", 2),
            ("CZK", 2),
            ("DKK", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("HUF", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("KWD", 3),
            ("NOK", 2),
            ("NZD", 2),
            ("PLN", 2),
            ("SEK", 2),
            ("USD", 2),
        ];
        for (code, minor_units) in released {
            let currency = Currency::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(currency.minor_units(), minor_units, "{code}");
        }
    }

    #[test]
    fn currency_parse_accepts_supported_codes_with_their_minor_units() {
        assert_eq!(Currency::parse("EUR").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        assert_eq!(Currency::parse("USD").unwrap(), Currency::USD);
        assert_eq!(Currency::USD.code(), "USD");
    }

    #[test]
    fn currency_parse_requires_three_uppercase_letters() {
        for code in ["eur", "EU", "EURO", " EUR", "E1R", ""] {
            assert_eq!(
                Currency::parse(code),
                Err(MoneyError::InvalidCurrencyCode { code: code.into() }),
                "{code:?}"
            );
        }
    }

    #[test]
    fn currency_parse_rejects_unknown_codes() {
        assert_eq!(
            Currency::parse("XYZ"),
            Err(MoneyError::UnknownCurrency { code: "XYZ".into() })
        );
    }

    #[test]
    fn currency_table_is_sorted_and_covers_the_required_codes() {
        let codes: Vec<_> = Currency::all().iter().map(Currency::code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        for code in [
            "EUR", "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD",
            "KWD",
        ] {
            assert!(codes.contains(&code), "{code}");
        }
    }

    #[test]
    fn currency_serializes_as_its_code_and_validates_on_read() {
        assert_eq!(serde_json::to_string(&Currency::CHF).unwrap(), "\"CHF\"");
        assert_eq!(
            serde_json::from_str::<Currency>("\"GBP\"").unwrap(),
            Currency::GBP
        );
        assert!(serde_json::from_str::<Currency>("\"XXX\"").is_err());
        assert!(serde_json::from_str::<Currency>("\"gbp\"").is_err());
    }

    #[test]
    fn adding_and_subtracting_same_currency() {
        assert_eq!(eur("1.50").checked_add(&eur("2.25")).unwrap(), eur("3.75"));
        assert_eq!(eur("1.50").checked_sub(&eur("2.25")).unwrap(), eur("-0.75"));
    }

    #[test]
    fn mixing_currencies_is_a_mismatch_error() {
        let usd = Money::parse("1", "USD").unwrap();
        let expected = MoneyError::CurrencyMismatch {
            left: Currency::EUR,
            right: Currency::USD,
        };
        assert_eq!(eur("1").checked_add(&usd), Err(expected.clone()));
        assert_eq!(eur("1").checked_sub(&usd), Err(expected));
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let huge = Money::new(Decimal::MAX, Currency::EUR);
        assert_eq!(huge.checked_add(&huge), Err(MoneyError::Overflow));
        let two = Quantity::new(2).unwrap();
        assert_eq!(huge.checked_times(two), Err(MoneyError::Overflow));
    }

    #[test]
    fn times_multiplies_by_quantity() {
        assert_eq!(eur("19.99").times(Quantity::new(3).unwrap()), eur("59.97"));
    }

    #[test]
    fn the_largest_price_times_the_largest_quantity_does_not_overflow() {
        let max = Money::price(Money::MAX_PRICE, Currency::KWD).unwrap();
        let most = Quantity::new(u32::MAX).unwrap();
        assert!(max.checked_times(most).is_ok());
    }

    #[test]
    fn rounding_is_half_away_from_zero_to_exact_minor_units() {
        assert_eq!(eur("1.005").round_to_minor_units().to_string(), "1.01 EUR");
        assert_eq!(
            eur("-1.005").round_to_minor_units().to_string(),
            "-1.01 EUR"
        );
        assert_eq!(eur("1.004").round_to_minor_units().to_string(), "1.00 EUR");
        assert_eq!(eur("3").round_to_minor_units().to_string(), "3.00 EUR");
        let yen = Money::parse("2.5", "JPY").unwrap();
        assert_eq!(yen.round_to_minor_units().to_string(), "3 JPY");
        let dinar = Money::parse("1.23456", "KWD").unwrap();
        assert_eq!(dinar.round_to_minor_units().to_string(), "1.235 KWD");
    }

    #[test]
    fn rounding_a_tiny_negative_amount_gives_plain_zero() {
        assert_eq!(eur("-0.001").round_to_minor_units().to_string(), "0.00 EUR");
    }

    #[test]
    fn price_rescales_to_minor_units() {
        let price = Money::price(dec("19.9"), Currency::EUR).unwrap();
        assert_eq!(price.to_string(), "19.90 EUR");
        assert_eq!(price.amount().scale(), 2);
        let trailing = Money::price(dec("5.000"), Currency::JPY).unwrap();
        assert_eq!(trailing.to_string(), "5 JPY");
    }

    #[test]
    fn price_accepts_zero() {
        assert!(Money::price(Decimal::ZERO, Currency::EUR)
            .unwrap()
            .is_zero());
    }

    #[test]
    fn price_rejects_negative_amounts() {
        assert_eq!(
            Money::price(dec("-0.01"), Currency::EUR),
            Err(MoneyError::NegativeAmount)
        );
    }

    #[test]
    fn price_rejects_more_decimals_than_the_currency_has() {
        assert_eq!(
            Money::price(dec("19.999"), Currency::EUR),
            Err(MoneyError::TooPrecise {
                currency: Currency::EUR,
                minor_units: 2
            })
        );
        assert!(Money::price(dec("1.5"), Currency::JPY).is_err());
        assert!(Money::price(dec("1.555"), Currency::KWD).is_ok());
    }

    #[test]
    fn price_rejects_absurdly_large_amounts() {
        let too_big = Money::MAX_PRICE + Decimal::ONE;
        assert!(matches!(
            Money::price(too_big, Currency::EUR),
            Err(MoneyError::TooLarge { .. })
        ));
    }

    #[test]
    fn precision_check_ignores_trailing_zeros() {
        assert!(eur("1.2300").has_at_most_minor_unit_precision());
        assert!(!eur("1.231").has_at_most_minor_unit_precision());
    }

    #[test]
    fn negativity_excludes_zero() {
        assert!(eur("-0.01").is_negative());
        assert!(!eur("0").is_negative());
        assert!(!eur("-0").is_negative());
    }

    #[test]
    fn parse_accepts_only_plain_decimals() {
        assert_eq!(eur("12").amount(), dec("12"));
        assert_eq!(eur("-12.50").amount(), dec("-12.50"));
        for bad in [
            "",
            "-",
            "1.",
            ".5",
            "+1",
            "1e3",
            " 1",
            "1 ",
            "1_000",
            "1,5",
            "abc",
            "--1",
            "0.00000000000000000000000000001",
        ] {
            assert_eq!(
                Money::parse(bad, "EUR"),
                Err(MoneyError::InvalidAmount { amount: bad.into() }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn serializes_amount_as_string_with_currency_code() {
        let json = serde_json::to_string(&eur("19.99")).unwrap();
        assert_eq!(json, r#"{"amount":"19.99","currency":"EUR"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, eur("19.99"));
    }

    #[test]
    fn serialization_keeps_the_scale() {
        let price = Money::price(dec("5"), Currency::USD).unwrap();
        assert_eq!(
            serde_json::to_string(&price).unwrap(),
            r#"{"amount":"5.00","currency":"USD"}"#
        );
    }

    #[test]
    fn deserialization_validates_currency_amount_and_fields() {
        let cases = [
            r#"{"amount":"1.00","currency":"XXX"}"#,
            r#"{"amount":1.0,"currency":"EUR"}"#,
            r#"{"amount":"1e2","currency":"EUR"}"#,
            r#"{"amount":"1.00"}"#,
            r#"{"amount":"1.00","currency":"EUR","extra":1}"#,
        ];
        for json in cases {
            assert!(serde_json::from_str::<Money>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn displays_amount_then_code() {
        assert_eq!(eur("19.99").to_string(), "19.99 EUR");
        assert_eq!(Money::zero(Currency::JPY).to_string(), "0 JPY");
    }

    #[test]
    fn equality_is_numeric() {
        assert_eq!(eur("19.9"), eur("19.90"));
        assert_ne!(eur("1"), Money::parse("1", "USD").unwrap());
    }

    mod fuzz {
        //! Money parsing is where amounts enter from outside: any text gets an answer, the
        //! plain decimals it accepts keep their exact value, and it accepts nothing else.

        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn any_text_is_parsed_or_refused_never_panics(text in ".{0,40}") {
                let _ = Money::parse(&text, "EUR");
                let _ = Money::parse("1.00", &text);
            }

            #[test]
            fn accepted_amounts_are_plain_decimals(text in "[-+0-9.eE_ ]{0,24}") {
                if let Ok(money) = Money::parse(&text, "EUR") {
                    let unsigned = text.strip_prefix('-').unwrap_or(&text);
                    prop_assert!(!unsigned.is_empty());
                    prop_assert!(unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
                    prop_assert!(unsigned.matches('.').count() <= 1);
                    prop_assert!(!unsigned.starts_with('.') && !unsigned.ends_with('.'));
                    prop_assert_eq!(money.amount(), Decimal::from_str_exact(&text).unwrap());
                }
            }

            #[test]
            fn plain_decimals_keep_their_exact_value_through_text(
                negative in any::<bool>(),
                whole in 0u64..=999_999_999_999,
                fraction in prop::option::of("[0-9]{1,6}"),
            ) {
                let text = format!(
                    "{}{whole}{}",
                    if negative { "-" } else { "" },
                    fraction.map(|f| format!(".{f}")).unwrap_or_default()
                );
                let money = Money::parse(&text, "EUR").unwrap();
                prop_assert_eq!(money.amount(), Decimal::from_str_exact(&text).unwrap());
                let again = Money::parse(&money.amount().to_string(), "EUR").unwrap();
                prop_assert_eq!(again, money);
                let json = serde_json::to_string(&money).unwrap();
                prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
            }
        }
    }
}
