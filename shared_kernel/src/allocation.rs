//! Splitting an amount into parts that add up to it exactly, in whole minor units.
//!
//! Refunding 10.00 EUR of an order with three lines of equal value cannot give each line
//! 3.333...: the parts are 3.34, 3.33 and 3.33, and which line gets the extra cent must not
//! depend on anything but the input. [`allocate`] uses the largest remainder method: every
//! part starts as its proportional share rounded down to a minor unit, and the minor units
//! left over go one each to the parts whose rounding cut the most, earlier parts first on a
//! tie.
//!
//! Invariants, for every successful allocation of `amount` over `weights`:
//! - the parts sum to `amount` exactly and are in `amount`'s currency, with its minor units;
//! - each part is its exact proportional share rounded down or up to a minor unit, so parts
//!   of equal weight differ by at most one minor unit;
//! - a part whose weight is zero is zero, and no part exceeds its weight when `amount` does
//!   not exceed the sum of the weights.

use rust_decimal::Decimal;

use crate::money::{Currency, Money};

/// Why an amount could not be allocated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    #[error("cannot allocate {amount} over weights in {weight_currency}")]
    CurrencyMismatch {
        amount: Currency,
        weight_currency: Currency,
    },
    #[error("cannot allocate a negative amount or over a negative weight")]
    Negative,
    #[error("{currency} amounts have at most {minor_units} decimal places")]
    NotWholeMinorUnits {
        currency: Currency,
        minor_units: u32,
    },
    #[error("cannot allocate a non-zero amount over weights that are all zero")]
    NoWeight,
    #[error("the amount or the weights are too large to allocate")]
    Overflow,
}

/// Splits `amount` over `weights` in proportion, as described in the [module docs](self).
///
/// `amount` and every weight must be in the same currency, not negative and whole minor
/// units (as prices and line totals are). Zero over any weights, even none, is all zeros.
pub fn allocate(amount: Money, weights: &[Money]) -> Result<Vec<Money>, AllocationError> {
    let currency = amount.currency();
    let total_minor = to_minor(amount)?;
    let weights_minor = weights
        .iter()
        .map(|weight| {
            if weight.currency() == currency {
                to_minor(*weight)
            } else {
                Err(AllocationError::CurrencyMismatch {
                    amount: currency,
                    weight_currency: weight.currency(),
                })
            }
        })
        .collect::<Result<Vec<u128>, _>>()?;
    let weight_sum = weights_minor
        .iter()
        .try_fold(0u128, |sum, weight| sum.checked_add(*weight))
        .ok_or(AllocationError::Overflow)?;
    if total_minor == 0 {
        return Ok(vec![
            Money::zero(currency).round_to_minor_units();
            weights.len()
        ]);
    }
    if weight_sum == 0 {
        return Err(AllocationError::NoWeight);
    }

    // Floor of each exact share, and what the floor cut off (in units of 1 / weight_sum).
    let mut parts = Vec::with_capacity(weights_minor.len());
    let mut remainders = Vec::with_capacity(weights_minor.len());
    for weight in &weights_minor {
        let scaled = total_minor
            .checked_mul(*weight)
            .ok_or(AllocationError::Overflow)?;
        parts.push(scaled / weight_sum);
        remainders.push(scaled % weight_sum);
    }
    // Fewer than one minor unit per part with a remainder is left over: the remainders sum to
    // `left_over × weight_sum`, and each is below `weight_sum`.
    let allocated: u128 = parts.iter().sum();
    let left_over = total_minor - allocated;
    let mut by_remainder: Vec<usize> = (0..parts.len()).collect();
    // Stable: equal remainders keep their order, so earlier parts win ties.
    by_remainder.sort_by(|a, b| remainders[*b].cmp(&remainders[*a]));
    for index in by_remainder.into_iter().take(left_over as usize) {
        parts[index] += 1;
    }
    parts
        .into_iter()
        .map(|minor| from_minor(minor, currency))
        .collect()
}

fn to_minor(money: Money) -> Result<u128, AllocationError> {
    if money.is_negative() {
        return Err(AllocationError::Negative);
    }
    let currency = money.currency();
    if !money.has_at_most_minor_unit_precision() {
        return Err(AllocationError::NotWholeMinorUnits {
            currency,
            minor_units: currency.minor_units(),
        });
    }
    let mut amount = money.amount();
    amount.rescale(currency.minor_units());
    if amount.scale() != currency.minor_units() || amount != money.amount() {
        // Too many digits for this scale: `rescale` left the amount as it was, or came as
        // close as it could.
        return Err(AllocationError::Overflow);
    }
    // Whole minor units at this scale, so the mantissa is the count of minor units.
    u128::try_from(amount.mantissa()).map_err(|_| AllocationError::Negative)
}

fn from_minor(minor: u128, currency: Currency) -> Result<Money, AllocationError> {
    let mantissa = i128::try_from(minor).map_err(|_| AllocationError::Overflow)?;
    let amount = Decimal::try_from_i128_with_scale(mantissa, currency.minor_units())
        .map_err(|_| AllocationError::Overflow)?;
    Ok(Money::new(amount, currency))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(amount: &str, currency: Currency) -> Money {
        Money::parse(amount, currency.code()).unwrap()
    }

    fn eur(amount: &str) -> Money {
        money(amount, Currency::EUR)
    }

    fn amounts(parts: &[Money]) -> Vec<String> {
        parts.iter().map(|part| part.amount().to_string()).collect()
    }

    #[test]
    fn an_even_split_gives_the_extra_cent_to_the_first_part() {
        let parts = allocate(eur("10.00"), &[eur("5.00"), eur("5.00"), eur("5.00")]).unwrap();
        assert_eq!(amounts(&parts), ["3.34", "3.33", "3.33"]);
    }

    #[test]
    fn left_over_units_go_to_the_largest_remainders_not_the_first_parts() {
        // Exact shares 0.333.., 0.666.. and 1.00 of one euro over 1 + 2 + 3.
        let parts = allocate(eur("1.00"), &[eur("1"), eur("2"), eur("3")]).unwrap();
        assert_eq!(amounts(&parts), ["0.17", "0.33", "0.50"]);
        let parts = allocate(eur("0.05"), &[eur("1"), eur("2"), eur("3")]).unwrap();
        // 0.00833.., 0.01666.., 0.025: floors 0, 1, 2 cents; the first cuts most.
        assert_eq!(amounts(&parts), ["0.01", "0.02", "0.02"]);
    }

    #[test]
    fn currencies_keep_their_own_minor_units() {
        let yen = allocate(money("100", Currency::JPY), &[money("1", Currency::JPY); 3]).unwrap();
        assert_eq!(amounts(&yen), ["34", "33", "33"]);
        let dinar = allocate(
            money("1.000", Currency::KWD),
            &[money("1", Currency::KWD); 3],
        )
        .unwrap();
        assert_eq!(amounts(&dinar), ["0.334", "0.333", "0.333"]);
    }

    #[test]
    fn all_of_the_weights_gives_each_its_weight() {
        let weights = [eur("19.99"), eur("0.01"), eur("0"), eur("5.50")];
        assert_eq!(allocate(eur("25.50"), &weights).unwrap(), weights.to_vec());
    }

    #[test]
    fn zero_allocates_zeros_even_over_no_weight() {
        assert_eq!(
            amounts(&allocate(eur("0"), &[eur("0"), eur("3")]).unwrap()),
            ["0.00", "0.00"]
        );
        assert!(allocate(eur("0"), &[]).unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_split_exactly() {
        assert_eq!(
            allocate(eur("1.00"), &[eur("0"), eur("0")]),
            Err(AllocationError::NoWeight)
        );
        assert_eq!(allocate(eur("1.00"), &[]), Err(AllocationError::NoWeight));
        assert_eq!(
            allocate(eur("1.00"), &[money("1", Currency::USD)]),
            Err(AllocationError::CurrencyMismatch {
                amount: Currency::EUR,
                weight_currency: Currency::USD
            })
        );
        assert_eq!(
            allocate(eur("-1.00"), &[eur("1")]),
            Err(AllocationError::Negative)
        );
        assert_eq!(
            allocate(eur("1.00"), &[eur("-1")]),
            Err(AllocationError::Negative)
        );
        assert_eq!(
            allocate(eur("1.001"), &[eur("1")]),
            Err(AllocationError::NotWholeMinorUnits {
                currency: Currency::EUR,
                minor_units: 2
            })
        );
    }

    #[test]
    fn refuses_amounts_too_large_to_multiply_instead_of_wrapping() {
        let huge = Money::new(Decimal::MAX, Currency::JPY);
        assert_eq!(
            allocate(huge, &[huge, huge]),
            Err(AllocationError::Overflow)
        );
        // Decimal::MAX has no room for two more digits: not silently rounded to fit.
        let huge = Money::new(Decimal::MAX, Currency::EUR);
        assert_eq!(allocate(huge, &[eur("1")]), Err(AllocationError::Overflow));
    }

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

    fn minor_of(money: &Money) -> i128 {
        let mut amount = money.amount();
        amount.rescale(money.currency().minor_units());
        amount.mantissa()
    }

    /// An order's line totals (quantities up to 99 of prices up to 10,000.000) and an amount
    /// up to a little more than their sum.
    fn order_and_amount() -> impl Strategy<Value = (Currency, Vec<u64>, u64)> {
        (
            currency(),
            prop::collection::vec((0u64..=10_000_000, 1u64..=99), 1..12),
        )
            .prop_flat_map(|(currency, lines)| {
                let totals: Vec<u64> = lines.iter().map(|(price, qty)| price * qty).collect();
                let sum: u64 = totals.iter().sum();
                (Just(currency), Just(totals), 0..=sum + sum / 10 + 1)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn parts_sum_exactly_and_stay_within_a_minor_unit_of_their_share(
            (currency, totals, amount) in order_and_amount()
        ) {
            let weights: Vec<Money> = totals.iter().map(|t| in_minor(*t, currency)).collect();
            let weight_sum: u128 = totals.iter().map(|t| u128::from(*t)).sum();
            let result = allocate(in_minor(amount, currency), &weights);
            if weight_sum == 0 && amount > 0 {
                prop_assert_eq!(result, Err(AllocationError::NoWeight));
                return Ok(());
            }
            let parts = result.unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            let mut sum = 0i128;
            for (part, weight) in parts.iter().zip(&totals) {
                prop_assert_eq!(part.currency(), currency);
                prop_assert_eq!(part.amount().scale(), currency.minor_units());
                let minor = minor_of(part);
                prop_assert!(minor >= 0);
                sum += minor;
                // floor(share) <= part <= ceil(share), share = amount × weight / sum.
                let scaled = u128::from(amount) * u128::from(*weight);
                if let Some(floor) = scaled.checked_div(weight_sum) {
                    let floor = floor as i128;
                    let ceil = floor + i128::from(scaled % weight_sum != 0);
                    prop_assert!(floor <= minor && minor <= ceil,
                        "part {} outside [{}, {}]", minor, floor, ceil);
                }
                if *weight == 0 {
                    prop_assert_eq!(minor, 0);
                }
                if u128::from(amount) <= weight_sum {
                    prop_assert!(minor <= i128::from(*weight));
                }
            }
            prop_assert_eq!(sum, i128::from(amount));
        }

        #[test]
        fn equal_weights_get_parts_at_most_one_minor_unit_apart(
            currency in currency(),
            amount in 0u64..=1_000_000_000,
            count in 1usize..20,
            weight in 1u64..=1_000_000,
        ) {
            let parts = allocate(
                in_minor(amount, currency),
                &vec![in_minor(weight, currency); count],
            ).unwrap();
            let minors: Vec<i128> = parts.iter().map(minor_of).collect();
            let (min, max) = (minors.iter().min().unwrap(), minors.iter().max().unwrap());
            prop_assert!(max - min <= 1);
            // The extra units go to the first parts.
            prop_assert!(minors.windows(2).all(|pair| pair[0] >= pair[1]));
        }
    }
}
