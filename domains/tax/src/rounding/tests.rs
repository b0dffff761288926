//! How one amount is taxed and rounded: examples of each rule and of ties, then properties in
//! currencies with 0, 2 and 3 minor units.

use proptest::prelude::*;
use rust_decimal::Decimal;
use shared_kernel::{Currency, Money};

use super::{tax_on, TaxedAmount, MAX_TAXABLE_AMOUNT};
use crate::errors::TaxError;
use crate::values::{PriceBasis, TaxRate};

use PriceBasis::{TaxExclusive as Exclusive, TaxInclusive as Inclusive};

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn rate(percent: &str) -> TaxRate {
    TaxRate::percent(Decimal::from_str_exact(percent).unwrap()).unwrap()
}

/// (net, tax, gross) as text.
fn taxed(amount: Money, percent: &str, basis: PriceBasis) -> [String; 3] {
    let taxed = tax_on(amount, rate(percent), basis).unwrap();
    [taxed.net(), taxed.tax(), taxed.gross()].map(|money| money.to_string())
}

#[test]
fn exclusive_prices_get_the_rate_on_top() {
    assert_eq!(
        taxed(money("10.00", "EUR"), "19", Exclusive),
        ["10.00 EUR", "1.90 EUR", "11.90 EUR"]
    );
    // 19.99 × 8.875 % = 1.7741125
    assert_eq!(
        taxed(money("19.99", "USD"), "8.875", Exclusive),
        ["19.99 USD", "1.77 USD", "21.76 USD"]
    );
}

#[test]
fn inclusive_prices_have_the_tax_taken_out() {
    assert_eq!(
        taxed(money("11.90", "EUR"), "19", Inclusive),
        ["10.00 EUR", "1.90 EUR", "11.90 EUR"]
    );
    // 19.99 − 19.99 / 1.19 = 3.19168..
    assert_eq!(
        taxed(money("19.99", "EUR"), "19", Inclusive),
        ["16.80 EUR", "3.19 EUR", "19.99 EUR"]
    );
    // 1000 − 1000 / 1.1 = 90.9..
    assert_eq!(
        taxed(money("1000", "JPY"), "10", Inclusive),
        ["909 JPY", "91 JPY", "1000 JPY"]
    );
}

#[test]
fn a_tie_rounds_up_in_every_currency() {
    // Exclusive: 10 % of 0.05 EUR is 0.005; of 5 JPY, 0.5; of 0.005 KWD, 0.0005.
    assert_eq!(taxed(money("0.05", "EUR"), "10", Exclusive)[1], "0.01 EUR");
    assert_eq!(taxed(money("5", "JPY"), "10", Exclusive)[1], "1 JPY");
    assert_eq!(
        taxed(money("0.005", "KWD"), "10", Exclusive)[1],
        "0.001 KWD"
    );
    // Inclusive at 100 %: half the amount is tax; 0.01 EUR and 1 JPY split at a tie (half
    // even would give 0).
    assert_eq!(
        taxed(money("0.01", "EUR"), "100", Inclusive),
        ["0.00 EUR", "0.01 EUR", "0.01 EUR"]
    );
    assert_eq!(
        taxed(money("1", "JPY"), "100", Inclusive),
        ["0 JPY", "1 JPY", "1 JPY"]
    );
    // Just below a tie rounds down: 10 % of 0.04 EUR is 0.004.
    assert_eq!(taxed(money("0.04", "EUR"), "10", Exclusive)[1], "0.00 EUR");
}

#[test]
fn amounts_keep_their_currencys_minor_units() {
    assert_eq!(
        taxed(money("10", "EUR"), "0", Exclusive),
        ["10.00 EUR", "0.00 EUR", "10.00 EUR"]
    );
    assert_eq!(
        taxed(money("2", "KWD"), "5", Inclusive),
        ["1.905 KWD", "0.095 KWD", "2.000 KWD"]
    );
}

#[test]
fn refuses_amounts_it_cannot_tax_exactly() {
    for amount in [
        money("-0.01", "EUR"),
        money("0.001", "EUR"),
        money("0.5", "JPY"),
        Money::new(
            Decimal::from(MAX_TAXABLE_AMOUNT) + Decimal::ONE,
            Currency::EUR,
        ),
    ] {
        assert!(
            matches!(
                tax_on(amount, rate("19"), Exclusive),
                Err(TaxError::InvalidRequest { .. })
            ),
            "{amount}"
        );
    }
    let largest = Money::new(Decimal::from(MAX_TAXABLE_AMOUNT), Currency::KWD);
    let taxed = tax_on(largest, rate("100"), Exclusive).unwrap();
    assert_eq!(taxed.tax(), largest);
}

#[test]
fn an_answer_must_add_up() {
    let eur = |amount| money(amount, "EUR");
    let answer = TaxedAmount::new(eur("11.90"), Inclusive, rate("19"), eur("1.90")).unwrap();
    assert_eq!((answer.net(), answer.gross()), (eur("10.00"), eur("11.90")));
    for (amount, tax) in [
        (eur("1.00"), eur("1.01")),
        (eur("1.00"), eur("-0.01")),
        (eur("1.00"), eur("0.001")),
        (eur("1.00"), money("0.19", "USD")),
    ] {
        assert!(
            matches!(
                TaxedAmount::new(amount, Inclusive, rate("19"), tax),
                Err(TaxError::InvalidAnswer { .. })
            ),
            "{tax} on {amount}"
        );
    }
}

// --- properties ---

/// A currency of each width of minor units.
fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::JPY),
        Just(Currency::EUR),
        Just(Currency::KWD)
    ]
}

fn in_minor(minor: u64, currency: Currency) -> Money {
    Money::new(
        Decimal::new(i64::try_from(minor).unwrap(), currency.minor_units()),
        currency,
    )
}

/// Any rate from 0 to 100 % in steps of 0.0001 %, often a common one.
fn any_rate() -> impl Strategy<Value = TaxRate> {
    prop_oneof![
        (0i64..=1_000_000)
            .prop_map(|millionths| TaxRate::percent(Decimal::new(millionths, 4)).unwrap()),
        prop::sample::select(vec!["0", "5", "7", "8.875", "10", "19", "20", "21", "25.5"])
            .prop_map(rate),
    ]
}

fn basis() -> impl Strategy<Value = PriceBasis> {
    prop_oneof![Just(Inclusive), Just(Exclusive)]
}

/// Half a minor unit of `currency`.
fn half_unit(currency: Currency) -> Decimal {
    Decimal::new(5, currency.minor_units() + 1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn net_plus_tax_is_the_gross_exactly_and_the_given_amount_is_kept(
        currency in currency(),
        minor in 0u64..=10_000_000_000,
        rate in any_rate(),
        basis in basis(),
    ) {
        let amount = in_minor(minor, currency);
        let taxed = tax_on(amount, rate, basis).unwrap();
        prop_assert_eq!(taxed.net().checked_add(&taxed.tax()).unwrap(), taxed.gross());
        match basis {
            Inclusive => prop_assert_eq!(taxed.gross(), amount),
            Exclusive => prop_assert_eq!(taxed.net(), amount),
        }
        for part in [taxed.net(), taxed.tax(), taxed.gross()] {
            prop_assert_eq!(part.currency(), currency);
            prop_assert_eq!(part.amount().scale(), currency.minor_units());
            prop_assert!(!part.is_negative());
        }
        prop_assert!(taxed.tax().amount() <= amount.amount());
    }

    /// The exact tax is `amount × r` (exclusive) or `amount × r / (1 + r)` (inclusive), with
    /// `r` the rate as a fraction; compared without dividing, so the check is exact.
    #[test]
    fn each_tax_is_within_half_a_minor_unit_of_the_exact_tax(
        currency in currency(),
        minor in 0u64..=10_000_000_000,
        rate in any_rate(),
        basis in basis(),
    ) {
        let amount = in_minor(minor, currency);
        let tax = tax_on(amount, rate, basis).unwrap().tax().amount();
        let r = rate.as_percent() / Decimal::ONE_HUNDRED;
        let (scaled_tax, exact, scale) = match basis {
            Exclusive => (tax, amount.amount() * r, Decimal::ONE),
            Inclusive => (tax * (Decimal::ONE + r), amount.amount() * r, Decimal::ONE + r),
        };
        let error = scaled_tax - exact;
        let half = half_unit(currency) * scale;
        prop_assert!(error.abs() <= half, "tax {} off by {} / {}", tax, error, scale);
        // A tie goes up: never below the exact tax by a full half unit.
        prop_assert!(error > -half);
    }

    #[test]
    fn a_zero_rate_gives_zero_tax(
        currency in currency(),
        minor in 0u64..=10_000_000_000,
        basis in basis(),
    ) {
        let amount = in_minor(minor, currency);
        let taxed = tax_on(amount, TaxRate::ZERO, basis).unwrap();
        prop_assert!(taxed.tax().is_zero());
        prop_assert_eq!(taxed.net(), amount);
        prop_assert_eq!(taxed.gross(), amount);
    }
}
