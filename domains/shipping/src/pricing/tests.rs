//! What a cart is offered: examples of each rule, then properties over random bands in
//! currencies with 0, 2 and 3 minor units.

use proptest::prelude::*;
use rust_decimal::Decimal;
use shared_kernel::{CountryCode, Currency, Money};
use uuid::Uuid;

use super::{price_options, quote_shipping, ShippingQuote};
use crate::aggregate::ShippingOption;
use crate::errors::QuoteError;
use crate::rates::{CurrencyPrice, Rate, ShippingPrices, SubtotalBand, WeightBand};
use crate::values::{CountrySet, Grams, Name, ShippingOptionId, ShippingZoneId};
use crate::views::ShippingZoneView;

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn eur(amount: &str) -> Money {
    money(amount, "EUR")
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

fn option_id(n: u128) -> ShippingOptionId {
    ShippingOptionId::from_uuid(Uuid::from_u128(0x0B_0000 + n))
}

fn option(n: u128, name: &str, entries: Vec<CurrencyPrice>) -> ShippingOption {
    ShippingOption::new(
        option_id(n),
        Name::parse(name).unwrap(),
        ShippingPrices::new(entries).unwrap(),
    )
}

fn flat(price: Money, free_shipping_from: Option<Money>) -> CurrencyPrice {
    CurrencyPrice {
        rate: Rate::Flat { price },
        free_shipping_from,
    }
}

fn weight_bands(bands: &[(u64, Option<u64>, &str)]) -> CurrencyPrice {
    CurrencyPrice {
        rate: Rate::WeightBands {
            bands: bands
                .iter()
                .map(|(from, to, price)| WeightBand {
                    from: Grams::new(*from),
                    to: to.map(Grams::new),
                    price: eur(price),
                })
                .collect(),
        },
        free_shipping_from: None,
    }
}

fn zone(n: u128, countries: &[&str], options: Vec<ShippingOption>) -> ShippingZoneView {
    ShippingZoneView {
        zone_id: ShippingZoneId::from_uuid(Uuid::from_u128(n)),
        name: Name::parse(&format!("Zone {n}")).unwrap(),
        countries: CountrySet::parse(countries.iter().copied()).unwrap(),
        options,
        version: 1,
    }
}

/// Standard: 4.90 EUR or 700 JPY, free from 50 EUR; Parcel: by weight up to 30 kg;
/// Express: 14.90 EUR only.
fn europe() -> ShippingZoneView {
    zone(
        1,
        &["DE", "AT", "FR"],
        vec![
            option(
                1,
                "Standard",
                vec![
                    flat(eur("4.90"), Some(eur("50.00"))),
                    flat(money("700", "JPY"), None),
                ],
            ),
            option(
                2,
                "Parcel",
                vec![weight_bands(&[
                    (0, Some(2_000), "3.90"),
                    (2_000, Some(30_000), "9.90"),
                ])],
            ),
            option(3, "Express", vec![flat(eur("14.90"), None)]),
        ],
    )
}

fn summary(quotes: &[ShippingQuote]) -> Vec<(String, String, bool)> {
    quotes
        .iter()
        .map(|q| (q.name.to_string(), q.price.to_string(), q.free_shipping))
        .collect()
}

fn quoted(destination: &str, subtotal: Money, grams: u64) -> Vec<(String, String, bool)> {
    let zones = [europe(), zone(2, &["US"], vec![])];
    summary(&quote_shipping(&zones, country(destination), subtotal, Grams::new(grams)).unwrap())
}

fn row(name: &str, price: &str, free: bool) -> (String, String, bool) {
    (name.to_owned(), price.to_owned(), free)
}

#[test]
fn a_cart_is_offered_its_zones_options_cheapest_first() {
    assert_eq!(
        quoted("DE", eur("20.00"), 1_500),
        [
            row("Parcel", "3.90 EUR", false),
            row("Standard", "4.90 EUR", false),
            row("Express", "14.90 EUR", false),
        ]
    );
}

#[test]
fn a_country_no_zone_lists_or_a_zone_without_options_is_offered_nothing() {
    assert!(quoted("JP", eur("20.00"), 0).is_empty());
    assert!(quoted("US", eur("20.00"), 0).is_empty());
}

#[test]
fn an_option_without_a_price_in_the_carts_currency_is_not_offered() {
    assert_eq!(
        quoted("AT", money("3000", "JPY"), 100),
        [row("Standard", "700 JPY", false)]
    );
    assert!(quoted("AT", money("30", "USD"), 100).is_empty());
}

#[test]
fn a_cart_heavier_than_every_weight_band_is_not_offered_that_option() {
    let names = |grams| {
        quoted("FR", eur("20.00"), grams)
            .into_iter()
            .map(|(name, _, _)| name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(29_999), ["Standard", "Parcel", "Express"]);
    assert_eq!(names(30_000), ["Standard", "Express"]);
}

#[test]
fn a_cart_heavier_than_every_band_is_not_offered_the_option_even_when_it_would_ship_free() {
    let parcel = option(
        1,
        "Parcel",
        vec![CurrencyPrice {
            free_shipping_from: Some(eur("50.00")),
            ..weight_bands(&[(0, Some(1_000), "3.90")])
        }],
    );
    let quotes = |grams| {
        price_options(
            std::slice::from_ref(&parcel),
            eur("80.00"),
            Grams::new(grams),
        )
    };
    assert_eq!(
        summary(&quotes(999).unwrap()),
        [row("Parcel", "0.00 EUR", true)]
    );
    assert!(quotes(1_000).unwrap().is_empty());
}

#[test]
fn a_subtotal_at_or_above_the_threshold_ships_free() {
    assert_eq!(
        quoted("DE", eur("49.99"), 0)[1],
        row("Standard", "4.90 EUR", false)
    );
    assert_eq!(
        quoted("DE", eur("50.00"), 0)[0],
        row("Standard", "0.00 EUR", true)
    );
}

#[test]
fn subtotal_bands_price_by_the_merchandise_subtotal() {
    let bands = |from: &str, to: Option<&str>, price: &str| SubtotalBand {
        from: money(from, "KWD"),
        to: to.map(|to| money(to, "KWD")),
        price: money(price, "KWD"),
    };
    let tiered = option(
        1,
        "Tiered",
        vec![CurrencyPrice {
            rate: Rate::SubtotalBands {
                bands: vec![
                    bands("0", Some("10"), "2.500"),
                    bands("10", Some("25.5"), "1.250"),
                    bands("25.5", None, "0.000"),
                ],
            },
            free_shipping_from: None,
        }],
    );
    let price = |subtotal: &str| {
        price_options(
            std::slice::from_ref(&tiered),
            money(subtotal, "KWD"),
            Grams::ZERO,
        )
        .unwrap()[0]
            .price
            .to_string()
    };
    assert_eq!(price("9.999"), "2.500 KWD");
    assert_eq!(price("10.000"), "1.250 KWD");
    assert_eq!(price("25.499"), "1.250 KWD");
    assert_eq!(price("25.500"), "0.000 KWD");
    assert_eq!(price("1000000"), "0.000 KWD");
}

#[test]
fn rejects_a_negative_or_too_precise_subtotal() {
    for subtotal in [eur("-0.01"), eur("1.001")] {
        assert!(matches!(
            quote_shipping(&[europe()], country("DE"), subtotal, Grams::ZERO),
            Err(QuoteError::InvalidSubtotal { .. })
        ));
        assert!(matches!(
            quote_shipping(&[europe()], country("JP"), subtotal, Grams::ZERO),
            Err(QuoteError::InvalidSubtotal { .. })
        ));
    }
}

#[test]
fn refuses_to_guess_when_two_zones_list_the_destination() {
    let zones = [europe(), zone(2, &["FR", "BE"], vec![])];
    assert_eq!(
        quote_shipping(&zones, country("FR"), eur("10.00"), Grams::ZERO),
        Err(QuoteError::CountryInSeveralZones {
            country: "FR".into(),
            zones: vec![zones[0].zone_id, zones[1].zone_id],
        })
    );
    assert!(quote_shipping(&zones, country("BE"), eur("10.00"), Grams::ZERO).is_ok());
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

/// Contiguous bands from zero: each band's width (at least one unit) and whether the last is
/// open-ended, with a value to price: any unit up to a little past the last end, or exactly a
/// boundary (where half-open bands are easiest to get wrong).
fn bands_and_value() -> impl Strategy<Value = (Vec<u64>, bool, u64)> {
    (prop::collection::vec(1u64..=5_000, 1..12), any::<bool>()).prop_flat_map(|(widths, open)| {
        let end: u64 = widths.iter().sum();
        let boundaries: Vec<u64> = widths
            .iter()
            .scan(0, |at, width| {
                let start = *at;
                *at += width;
                Some(start)
            })
            .chain([end])
            .collect();
        let value = prop_oneof![0..end + 100, prop::sample::select(boundaries)];
        (Just(widths), Just(open), value)
    })
}

/// `[from, to)` of each band, in units; the last `to` is `None` when open-ended.
fn bounds(widths: &[u64], open: bool) -> Vec<(u64, Option<u64>)> {
    let mut from = 0;
    let mut bounds = Vec::new();
    for (index, width) in widths.iter().enumerate() {
        let last = index + 1 == widths.len();
        let to = if last && open {
            None
        } else {
            Some(from + width)
        };
        bounds.push((from, to));
        from += width;
    }
    bounds
}

/// The price of band `index`: distinct per band, so the price names the band.
fn band_price(index: usize, currency: Currency) -> Money {
    in_minor(100 + index as u64, currency)
}

/// What the pricing should pick, kept as plainly as possible: every band holding the value.
fn holding(bounds: &[(u64, Option<u64>)], value: u64) -> Vec<usize> {
    bounds
        .iter()
        .enumerate()
        .filter(|(_, (from, to))| *from <= value && to.is_none_or(|to| value < to))
        .map(|(index, _)| index)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_subtotal_inside_the_bands_is_priced_by_exactly_one_band(
        currency in currency(),
        (widths, open, value) in bands_and_value(),
    ) {
        let bounds = bounds(&widths, open);
        let bands = bounds
            .iter()
            .enumerate()
            .map(|(index, (from, to))| SubtotalBand {
                from: in_minor(*from, currency),
                to: to.map(|to| in_minor(to, currency)),
                price: band_price(index, currency),
            })
            .collect();
        let tiered = option(1, "Tiered", vec![CurrencyPrice {
            rate: Rate::SubtotalBands { bands },
            free_shipping_from: None,
        }]);
        let quotes = price_options(&[tiered], in_minor(value, currency), Grams::new(value))
            .unwrap();
        let end: u64 = widths.iter().sum();
        let model = holding(&bounds, value);
        if open || value < end {
            prop_assert_eq!(model.len(), 1, "inside the bands, one band holds {}", value);
            prop_assert_eq!(quotes.len(), 1);
            prop_assert_eq!(quotes[0].price, band_price(model[0], currency));
            prop_assert_eq!(quotes[0].price.currency(), currency);
            prop_assert_eq!(quotes[0].price.amount().scale(), currency.minor_units());
        } else {
            prop_assert!(model.is_empty());
            prop_assert!(quotes.is_empty(), "beyond the last band: not offered");
        }
    }

    #[test]
    fn a_weight_inside_the_bands_is_priced_by_exactly_one_band(
        currency in currency(),
        (widths, open, grams) in bands_and_value(),
        subtotal in 0u64..1_000_000,
    ) {
        let bounds = bounds(&widths, open);
        let bands = bounds
            .iter()
            .enumerate()
            .map(|(index, (from, to))| WeightBand {
                from: Grams::new(*from),
                to: to.map(Grams::new),
                price: band_price(index, currency),
            })
            .collect();
        let parcel = option(1, "Parcel", vec![CurrencyPrice {
            rate: Rate::WeightBands { bands },
            free_shipping_from: None,
        }]);
        let quotes = price_options(&[parcel], in_minor(subtotal, currency), Grams::new(grams))
            .unwrap();
        let end: u64 = widths.iter().sum();
        let model = holding(&bounds, grams);
        if open || grams < end {
            prop_assert_eq!(model.len(), 1, "inside the bands, one band holds {} g", grams);
            prop_assert_eq!(quotes.len(), 1);
            prop_assert_eq!(quotes[0].price, band_price(model[0], currency));
        } else {
            prop_assert!(model.is_empty());
            prop_assert!(quotes.is_empty(), "beyond the last band: not offered");
        }
    }

    /// Construction accepts exactly the band lists that start at zero, are contiguous, have
    /// non-empty bands and at most the last open-ended: the property the pricing relies on.
    #[test]
    fn only_contiguous_half_open_bands_from_zero_are_accepted(
        raw in prop::collection::vec((0u64..6, prop::option::weighted(0.9, 0u64..6)), 0..5),
    ) {
        let bands: Vec<WeightBand> = raw
            .iter()
            .map(|(from, to)| WeightBand {
                from: Grams::new(*from),
                to: to.map(Grams::new),
                price: eur("1.00"),
            })
            .collect();
        let accepted = ShippingPrices::new(vec![CurrencyPrice {
            rate: Rate::WeightBands { bands },
            free_shipping_from: None,
        }])
        .is_ok();
        let contiguous = !raw.is_empty()
            && raw[0].0 == 0
            && raw.iter().all(|(from, to)| to.is_none_or(|to| to > *from))
            && raw.windows(2).all(|pair| pair[0].1 == Some(pair[1].0));
        prop_assert_eq!(accepted, contiguous, "{:?}", raw);
    }
}
