//! What a promotion takes off a basket: examples of each offer, then properties over random
//! baskets in currencies with 0, 2 and 3 minor units.

use proptest::prelude::*;
use rust_decimal::Decimal;
use shared_kernel::{Currency, Money, Sku};

use super::{discount, Basket};
use crate::errors::{BasketError, Refusal};
use crate::terms::{AppliesTo, Offer, Terms};
use crate::values::{CurrencyAmounts, Percentage, SkuSet};

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn eur(amount: &str) -> Money {
    money(amount, "EUR")
}

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

fn basket(lines: &[(&str, Money)], shipping: Money) -> Basket {
    Basket::new(
        lines
            .iter()
            .map(|(raw, total)| (sku(raw), *total))
            .collect(),
        shipping,
    )
    .unwrap()
}

fn percent_off(percent: &str, applies_to: AppliesTo) -> Terms {
    Terms::new(
        Offer::PercentOff {
            percent: Percentage::new(Decimal::from_str_exact(percent).unwrap()).unwrap(),
        },
        applies_to,
    )
}

fn amount_off(amounts: Vec<Money>, applies_to: AppliesTo) -> Terms {
    Terms::new(
        Offer::AmountOff {
            amounts: CurrencyAmounts::new(amounts).unwrap(),
        },
        applies_to,
    )
}

fn only(skus: &[&str]) -> AppliesTo {
    AppliesTo::Skus {
        skus: SkuSet::new(skus.iter().map(|raw| sku(raw))).unwrap(),
    }
}

fn amounts(parts: &[Money]) -> Vec<String> {
    parts.iter().map(|part| part.amount().to_string()).collect()
}

#[test]
fn percent_off_the_order_is_split_across_lines_by_their_totals() {
    let off = discount(
        &percent_off("10", AppliesTo::Order),
        &basket(&[("TEE", eur("30.00")), ("MUG", eur("10.00"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(off.total(), eur("4.00"));
    assert_eq!(amounts(off.lines()), ["3.00", "1.00"]);
    assert_eq!(off.shipping(), eur("0.00"));
}

#[test]
fn the_percentage_of_the_whole_is_rounded_once_then_split_to_the_cent() {
    // 10 % of 9.99 is 0.999, so 1.00; the three equal lines share it 0.34, 0.33, 0.33.
    let off = discount(
        &percent_off("10", AppliesTo::Order),
        &basket(
            &[("A", eur("3.33")), ("B", eur("3.33")), ("C", eur("3.33"))],
            eur("0"),
        ),
    )
    .unwrap();
    assert_eq!(off.total(), eur("1.00"));
    assert_eq!(amounts(off.lines()), ["0.34", "0.33", "0.33"]);
}

#[test]
fn a_percentage_is_rounded_half_up_in_currencies_of_zero_two_and_three_minor_units() {
    let cases = [
        // 50 % of 1 yen is half a yen: up to 1.
        ("50", "1", "JPY", "1"),
        // 15 % of 1,003 yen is 150.45: down to 150.
        ("15", "1003", "JPY", "150"),
        // 12.5 % of 0.20 EUR is 0.025: up to 0.03 (half-even would give 0.02).
        ("12.5", "0.20", "EUR", "0.03"),
        // 12.5 % of 0.004 KWD is 0.0005: up to 0.001.
        ("12.5", "0.004", "KWD", "0.001"),
        // 33.33 % of 10.000 KWD is 3.333 exactly.
        ("33.33", "10.000", "KWD", "3.333"),
    ];
    for (percent, total, currency, expected) in cases {
        let off = discount(
            &percent_off(percent, AppliesTo::Order),
            &basket(&[("A", money(total, currency))], money("0", currency)),
        )
        .unwrap();
        assert_eq!(
            off.total(),
            money(expected, currency),
            "{percent} % of {total}"
        );
        assert_eq!(
            off.total().amount().scale(),
            Currency::parse(currency).unwrap().minor_units()
        );
    }
}

#[test]
fn percent_off_chosen_skus_leaves_the_other_lines_whole() {
    let off = discount(
        &percent_off("20", only(&["TEE"])),
        &basket(&[("TEE", eur("25.00")), ("MUG", eur("10.00"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(amounts(off.lines()), ["5.00", "0.00"]);
    assert_eq!(off.total(), eur("5.00"));
}

#[test]
fn a_hundred_percent_off_takes_each_eligible_line_exactly() {
    let off = discount(
        &percent_off("100", AppliesTo::Order),
        &basket(&[("TEE", eur("19.99")), ("MUG", eur("0.01"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(amounts(off.lines()), ["19.99", "0.01"]);
    assert_eq!(off.shipping(), eur("0.00"));
}

#[test]
fn an_amount_off_is_taken_once_and_split_by_line_totals() {
    let off = discount(
        &amount_off(vec![eur("5.00")], AppliesTo::Order),
        &basket(&[("TEE", eur("30.00")), ("MUG", eur("10.00"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(amounts(off.lines()), ["3.75", "1.25"]);
    assert_eq!(off.total(), eur("5.00"));
}

#[test]
fn an_amount_off_never_exceeds_the_eligible_lines() {
    let off = discount(
        &amount_off(vec![eur("50.00")], only(&["TEE"])),
        &basket(&[("TEE", eur("30.00")), ("MUG", eur("10.00"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(amounts(off.lines()), ["30.00", "0.00"]);
    assert_eq!(off.total(), eur("30.00"));
    assert_eq!(off.shipping(), eur("0.00"));
}

#[test]
fn an_amount_off_uses_the_amount_of_the_baskets_currency() {
    let off = discount(
        &amount_off(
            vec![eur("5.00"), money("700", "JPY"), money("1.500", "KWD")],
            AppliesTo::Order,
        ),
        &basket(&[("TEE", money("3000", "JPY"))], money("0", "JPY")),
    )
    .unwrap();
    assert_eq!(off.total(), money("700", "JPY"));
}

#[test]
fn free_shipping_takes_the_shipping_charge_and_nothing_off_the_lines() {
    let off = discount(
        &Terms::new(Offer::FreeShipping, AppliesTo::Order),
        &basket(&[("TEE", eur("30.00"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(amounts(off.lines()), ["0.00"]);
    assert_eq!(off.shipping(), eur("4.90"));
    assert_eq!(off.total(), eur("4.90"));
}

#[test]
fn free_shipping_before_the_shipping_is_known_is_a_zero_discount() {
    let off = discount(
        &Terms::new(Offer::FreeShipping, AppliesTo::Order),
        &basket(&[("TEE", eur("30.00"))], eur("0")),
    )
    .unwrap();
    assert_eq!(off.total(), eur("0.00"));
}

#[test]
fn free_shipping_limited_to_skus_needs_one_of_them_in_the_basket() {
    let terms = Terms::new(Offer::FreeShipping, only(&["TEE"]));
    let with_tee = basket(&[("MUG", eur("10.00")), ("TEE", eur("30.00"))], eur("4.90"));
    assert_eq!(discount(&terms, &with_tee).unwrap().shipping(), eur("4.90"));
    let without = basket(&[("MUG", eur("10.00"))], eur("4.90"));
    assert_eq!(discount(&terms, &without), Err(Refusal::NoEligibleItems));
}

#[test]
fn refuses_a_basket_with_no_line_the_code_covers() {
    let terms = percent_off("10", only(&["TEE"]));
    let mugs = basket(&[("MUG", eur("10.00"))], eur("4.90"));
    assert_eq!(discount(&terms, &mugs), Err(Refusal::NoEligibleItems));
    // An empty basket has nothing to take a discount from, whatever the code covers.
    let empty = basket(&[], eur("4.90"));
    for terms in [
        percent_off("10", AppliesTo::Order),
        amount_off(vec![eur("5.00")], AppliesTo::Order),
        Terms::new(Offer::FreeShipping, AppliesTo::Order),
    ] {
        assert_eq!(discount(&terms, &empty), Err(Refusal::NoEligibleItems));
    }
}

#[test]
fn eligible_lines_that_cost_nothing_get_a_zero_discount() {
    let off = discount(
        &amount_off(vec![eur("5.00")], only(&["GIFT"])),
        &basket(&[("GIFT", eur("0")), ("TEE", eur("30.00"))], eur("4.90")),
    )
    .unwrap();
    assert_eq!(amounts(off.lines()), ["0.00", "0.00"]);
    assert_eq!(off.total(), eur("0.00"));
}

#[test]
fn the_minimum_is_the_merchandise_subtotal_of_every_line_without_shipping() {
    let terms = Terms {
        minimum_subtotal: Some(CurrencyAmounts::new(vec![eur("40.00")]).unwrap()),
        ..percent_off("10", only(&["TEE"]))
    };
    // 35 of goods and 10 of shipping do not reach 40.
    assert_eq!(
        discount(&terms, &basket(&[("TEE", eur("35.00"))], eur("10.00"))),
        Err(Refusal::BelowMinimum {
            minimum: eur("40.00")
        })
    );
    // Lines the code does not cover still count towards the minimum.
    let off = discount(
        &terms,
        &basket(&[("TEE", eur("10.00")), ("MUG", eur("30.00"))], eur("0")),
    )
    .unwrap();
    assert_eq!(off.total(), eur("1.00"));
}

#[test]
fn refuses_a_currency_the_code_is_not_offered_in() {
    let usd = |amount| money(amount, "USD");
    assert_eq!(
        discount(
            &amount_off(vec![eur("5.00")], AppliesTo::Order),
            &basket(&[("TEE", usd("30.00"))], usd("0")),
        ),
        Err(Refusal::CurrencyNotSupported {
            currency: Currency::USD
        })
    );
    let with_minimum = Terms {
        minimum_subtotal: Some(CurrencyAmounts::new(vec![eur("40.00")]).unwrap()),
        ..percent_off("10", AppliesTo::Order)
    };
    assert_eq!(
        discount(&with_minimum, &basket(&[("TEE", usd("300.00"))], usd("0"))),
        Err(Refusal::CurrencyNotSupported {
            currency: Currency::USD
        })
    );
}

#[test]
fn a_basket_is_one_currency_of_whole_minor_units_none_negative() {
    assert_eq!(
        Basket::new(vec![(sku("TEE"), money("30", "USD"))], eur("0")),
        Err(BasketError::CurrencyMismatch {
            basket: Currency::EUR,
            found: Currency::USD
        })
    );
    assert_eq!(
        Basket::new(vec![(sku("TEE"), eur("-1"))], eur("0")),
        Err(BasketError::Negative)
    );
    assert_eq!(
        Basket::new(vec![], eur("-4.90")),
        Err(BasketError::Negative)
    );
    assert_eq!(
        Basket::new(vec![(sku("TEE"), eur("1.001"))], eur("0")),
        Err(BasketError::NotWholeMinorUnits {
            currency: Currency::EUR,
            minor_units: 2
        })
    );
    let basket = basket(&[("TEE", eur("30")), ("MUG", eur("10.5"))], eur("4.9"));
    assert_eq!(basket.subtotal().amount().to_string(), "40.50");
    assert_eq!(basket.shipping().amount().to_string(), "4.90");
    assert_eq!(basket.currency(), Currency::EUR);
}

#[test]
fn a_basket_refuses_a_subtotal_above_the_largest_price() {
    let half = Money::new(Money::MAX_PRICE / Decimal::TWO, Currency::EUR);
    assert!(Basket::new(vec![(sku("A"), half), (sku("B"), half)], eur("0")).is_ok());
    assert_eq!(
        Basket::new(
            vec![(sku("A"), half), (sku("B"), half), (sku("C"), eur("0.01"))],
            eur("0")
        ),
        Err(BasketError::TooLarge {
            max: Money::MAX_PRICE
        })
    );
}

// --- Properties ---

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

fn minor_of(money: &Money) -> u128 {
    let mut amount = money.amount();
    amount.rescale(money.currency().minor_units());
    u128::try_from(amount.mantissa()).expect("not negative")
}

/// The SKUs lines are drawn from, so that some repeat and some are left out of a promotion.
const SKUS: [&str; 6] = ["TEE-S", "TEE-M", "MUG", "CAP", "SOCKS", "GIFT"];

#[derive(Debug, Clone)]
enum OfferCase {
    /// Basis points.
    Percent(u32),
    /// Minor units.
    Amount(u64),
    FreeShipping,
}

/// A basket in `currency`: up to 10 lines, each at most a tenth of the largest price, so the
/// subtotal always fits; small amounts most of the time, huge ones sometimes.
fn basket_case() -> impl Strategy<Value = (Currency, Vec<(usize, u64)>, u64)> {
    currency().prop_flat_map(|currency| {
        let max_minor = 10u64.pow(15 + currency.minor_units()) / 10;
        let line_minor = prop_oneof![4 => 0u64..=100_000, 1 => 0u64..=max_minor];
        (
            Just(currency),
            prop::collection::vec((0..SKUS.len(), line_minor), 0..10),
            0u64..=10_000,
        )
    })
}

fn offer_case() -> impl Strategy<Value = OfferCase> {
    prop_oneof![
        // Percentages that often land exactly half a minor unit, to exercise the rounding.
        prop_oneof![3 => 1u32..=10_000, 1 => prop::sample::select(vec![50, 1250, 2500, 5000])]
            .prop_map(OfferCase::Percent),
        prop_oneof![1u64..=100_000, 1u64..=10u64.pow(17)].prop_map(OfferCase::Amount),
        Just(OfferCase::FreeShipping),
    ]
}

/// Which SKUs the promotion covers: `None` for the whole order.
fn covered() -> impl Strategy<Value = Option<Vec<usize>>> {
    prop::option::of(prop::collection::vec(0..SKUS.len(), 1..4))
}

fn terms_for(offer: &OfferCase, covered: &Option<Vec<usize>>, currency: Currency) -> Terms {
    let offer = match offer {
        OfferCase::Percent(basis_points) => Offer::PercentOff {
            percent: Percentage::from_basis_points(*basis_points).unwrap(),
        },
        OfferCase::Amount(minor) => Offer::AmountOff {
            // Capped at the largest price, which is what `CurrencyAmounts` accepts.
            amounts: CurrencyAmounts::new(vec![in_minor(
                (*minor).min(10u64.pow(15 + currency.minor_units())),
                currency,
            )])
            .unwrap(),
        },
        OfferCase::FreeShipping => Offer::FreeShipping,
    };
    let applies_to = match covered {
        None => AppliesTo::Order,
        Some(indexes) => AppliesTo::Skus {
            skus: SkuSet::new(indexes.iter().map(|i| sku(SKUS[*i]))).unwrap(),
        },
    };
    Terms::new(offer, applies_to)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_split_sums_to_the_discount_and_no_line_goes_negative_or_beyond_its_total(
        (currency, lines, shipping) in basket_case(),
        offer in offer_case(),
        covered in covered(),
    ) {
        let terms = terms_for(&offer, &covered, currency);
        let basket = Basket::new(
            lines.iter().map(|(i, minor)| (sku(SKUS[*i]), in_minor(*minor, currency))).collect(),
            in_minor(shipping, currency),
        ).unwrap();
        let is_covered = |i: &usize| covered.as_ref().is_none_or(|c| c.contains(i));
        let result = discount(&terms, &basket);
        if !lines.iter().any(|(i, _)| is_covered(i)) {
            // Also every empty basket: there is nothing to discount.
            prop_assert_eq!(result, Err(Refusal::NoEligibleItems));
            return Ok(());
        }
        let off = result.unwrap();
        prop_assert_eq!(off.lines().len(), lines.len());
        let mut parts_sum = 0u128;
        let mut eligible = 0u128;
        for ((i, total), part) in lines.iter().zip(off.lines()) {
            prop_assert_eq!(part.currency(), currency);
            prop_assert_eq!(part.amount().scale(), currency.minor_units());
            prop_assert!(!part.is_negative());
            let part = minor_of(part);
            prop_assert!(part <= u128::from(*total), "part {} above line total {}", part, total);
            if is_covered(i) {
                eligible += u128::from(*total);
            } else {
                prop_assert_eq!(part, 0);
            }
            parts_sum += part;
        }
        let shipping_part = minor_of(&off.shipping());
        prop_assert_eq!(parts_sum + shipping_part, minor_of(&off.total()));
        prop_assert_eq!(off.total().currency(), currency);
        prop_assert!(parts_sum <= eligible);
        prop_assert!(shipping_part <= u128::from(shipping));
        match offer {
            OfferCase::Percent(basis_points) => {
                // Half up, in integers: floor((eligible × bp + 5000) / 10000).
                let expected = (eligible * u128::from(basis_points) + 5_000) / 10_000;
                prop_assert_eq!(parts_sum, expected);
                prop_assert_eq!(shipping_part, 0);
            }
            OfferCase::Amount(minor) => {
                let amount = u128::from(minor.min(10u64.pow(15 + currency.minor_units())));
                prop_assert_eq!(parts_sum, amount.min(eligible));
                prop_assert_eq!(shipping_part, 0);
            }
            OfferCase::FreeShipping => {
                prop_assert_eq!(parts_sum, 0);
                prop_assert_eq!(shipping_part, u128::from(shipping));
            }
        }
    }
}
