//! The tax table as a calculator: which rate applies, what it refuses, the port used as an
//! external service would be, and properties of whole baskets in JPY, EUR and KWD.

use std::fmt;

use async_trait::async_trait;
use proptest::prelude::*;
use rust_decimal::Decimal;
use shared_kernel::{CountryCode, Currency, Money, Quantity, Sku};

use super::TaxTable;
use crate::errors::{TaxConfigError, TaxError};
use crate::ports::{TaxBreakdown, TaxCalculator, TaxLine, TaxRequest};
use crate::rounding::tax_on;
use crate::values::{PriceBasis, TaxClass, TaxRate};

use PriceBasis::{TaxExclusive as Exclusive, TaxInclusive as Inclusive};

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn eur(amount: &str) -> Money {
    money(amount, "EUR")
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse(code).unwrap()
}

fn rate(percent: &str) -> TaxRate {
    TaxRate::percent(Decimal::from_str_exact(percent).unwrap()).unwrap()
}

fn class(raw: &str) -> TaxClass {
    TaxClass::parse(raw).unwrap()
}

fn line(sku: &str, tax_class: Option<&str>, amount: Money) -> TaxLine {
    TaxLine {
        sku: Sku::parse(sku).unwrap(),
        tax_class: tax_class.map(class),
        amount,
        quantity: Quantity::new(1).unwrap(),
    }
}

/// Germany 19 % (books 7 %), Austria 20 %, Japan 10 %, Kuwait 0 %; EUR and JPY prices include
/// tax, USD and KWD prices do not.
fn table() -> TaxTable {
    TaxTable::new(
        [
            (country("DE"), rate("19")),
            (country("AT"), rate("20")),
            (country("JP"), rate("10")),
            (country("KW"), rate("0")),
        ],
        [(country("DE"), class("books"), rate("7"))],
        [
            (Currency::EUR, Inclusive),
            (Currency::JPY, Inclusive),
            (Currency::USD, Exclusive),
            (Currency::KWD, Exclusive),
        ],
    )
    .unwrap()
}

fn request(
    destination: &str,
    basis: PriceBasis,
    lines: Vec<TaxLine>,
    shipping: Money,
) -> TaxRequest {
    TaxRequest::new(country(destination), basis, lines, shipping).unwrap()
}

fn taxes(breakdown: &TaxBreakdown) -> (Vec<String>, String, String) {
    (
        breakdown
            .lines()
            .iter()
            .map(|line| format!("{} {}", line.sku, line.taxed.tax()))
            .collect(),
        breakdown.shipping().tax().to_string(),
        breakdown.total_tax().to_string(),
    )
}

#[test]
fn each_line_is_taxed_at_its_classs_rate_and_shipping_at_the_standard_rate() {
    let breakdown = table()
        .tax(&request(
            "DE",
            Inclusive,
            vec![
                line("TEE", None, eur("11.90")),
                line("NOVEL", Some("books"), eur("10.70")),
                line("MUG", Some("homeware"), eur("5.95")),
            ],
            eur("4.90"),
        ))
        .unwrap();
    assert_eq!(
        taxes(&breakdown),
        (
            vec![
                "TEE 1.90 EUR".to_owned(),
                "NOVEL 0.70 EUR".to_owned(),
                "MUG 0.95 EUR".to_owned()
            ],
            "0.78 EUR".to_owned(),
            "4.33 EUR".to_owned()
        )
    );
    assert_eq!(breakdown.lines()[1].taxed.rate(), rate("7"));
    assert_eq!(breakdown.lines()[1].taxed.net(), eur("10.00"));
    assert_eq!(breakdown.shipping().rate(), rate("19"));
}

#[test]
fn a_class_rate_applies_only_in_its_country() {
    let table = table();
    assert_eq!(
        table.rate_for(country("AT"), Some(&class("books"))),
        Some(rate("20"))
    );
    assert_eq!(
        table.rate_for(country("DE"), Some(&class("books"))),
        Some(rate("7"))
    );
    assert_eq!(table.rate_for(country("FR"), None), None);
}

#[test]
fn exclusive_prices_get_tax_on_top_and_a_zero_rate_gives_none() {
    let kuwait = table()
        .tax(&request(
            "KW",
            Exclusive,
            vec![line("TEE", None, money("7.250", "KWD"))],
            money("1.500", "KWD"),
        ))
        .unwrap();
    assert_eq!(kuwait.total_tax(), money("0.000", "KWD"));
    assert_eq!(kuwait.lines()[0].taxed.gross(), money("7.250", "KWD"));
    let us_prices_to_austria = table()
        .tax(&request(
            "AT",
            Exclusive,
            vec![line("TEE", None, money("19.99", "USD"))],
            money("0", "USD"),
        ))
        .unwrap();
    assert_eq!(
        taxes(&us_prices_to_austria),
        (
            vec!["TEE 4.00 USD".to_owned()],
            "0.00 USD".to_owned(),
            "4.00 USD".to_owned()
        )
    );
}

#[test]
fn refuses_a_destination_without_a_rate() {
    let result = table().tax(&request("FR", Inclusive, vec![], eur("4.90")));
    assert!(matches!(result, Err(TaxError::NoRate { country: c }) if c == country("FR")));
}

#[test]
fn refuses_a_currency_it_has_no_price_basis_for_or_a_basis_that_contradicts_it() {
    let result = table().tax(&request("DE", Inclusive, vec![], money("4.90", "GBP")));
    assert!(matches!(
        result,
        Err(TaxError::CurrencyNotConfigured {
            currency: Currency::GBP
        })
    ));
    let result = table().tax(&request("DE", Exclusive, vec![], eur("4.90")));
    assert!(matches!(
        result,
        Err(TaxError::PriceBasisMismatch {
            currency: Currency::EUR,
            configured: Inclusive,
            requested: Exclusive
        })
    ));
    assert_eq!(table().price_basis(Currency::JPY), Some(Inclusive));
}

#[test]
fn a_request_holds_whole_non_negative_amounts_in_one_currency() {
    let ask = |lines, shipping| TaxRequest::new(country("DE"), Inclusive, lines, shipping);
    for (lines, shipping) in [
        (vec![line("TEE", None, money("1.00", "USD"))], eur("0")),
        (vec![line("TEE", None, eur("-1.00"))], eur("0")),
        (vec![line("TEE", None, eur("1.001"))], eur("0")),
        (vec![], eur("-4.90")),
    ] {
        let result = ask(lines, shipping);
        assert!(
            matches!(result, Err(TaxError::InvalidRequest { .. })),
            "{result:?}"
        );
    }
    let request = ask(vec![line("TEE", None, eur("0"))], eur("4.9")).unwrap();
    assert_eq!(request.currency(), Currency::EUR);
}

#[test]
fn configuration_is_refused_when_it_is_ambiguous_or_incomplete() {
    let de = || (country("DE"), rate("19"));
    assert_eq!(
        TaxTable::new([de(), de()], [], []),
        Err(TaxConfigError::DuplicateCountry {
            country: country("DE")
        })
    );
    assert_eq!(
        TaxTable::new([de()], [(country("AT"), class("books"), rate("10"))], []),
        Err(TaxConfigError::ClassRateWithoutStandardRate {
            country: country("AT"),
            class: "books".into()
        })
    );
    let books = || (country("DE"), class("books"), rate("7"));
    assert_eq!(
        TaxTable::new([de()], [books(), books()], []),
        Err(TaxConfigError::DuplicateClassRate {
            country: country("DE"),
            class: "books".into()
        })
    );
    assert_eq!(
        TaxTable::new(
            [de()],
            [],
            [(Currency::EUR, Inclusive), (Currency::EUR, Exclusive)]
        ),
        Err(TaxConfigError::DuplicateCurrency {
            currency: Currency::EUR
        })
    );
}

// --- the port ---

#[tokio::test]
async fn the_table_answers_through_the_port_as_it_does_directly() {
    let calculator: Box<dyn TaxCalculator> = Box::new(table());
    let request = request(
        "JP",
        Inclusive,
        vec![line("TEA", None, money("1100", "JPY"))],
        money("550", "JPY"),
    );
    let answer = calculator.calculate(&request).await.unwrap();
    assert_eq!(answer, table().tax(&request).unwrap());
    assert_eq!(answer.total_tax(), money("150", "JPY"));
}

#[derive(Debug)]
struct Timeout;

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out after 2 s")
    }
}

impl std::error::Error for Timeout {}

/// An external service as an adapter would wrap it: down, or answering for one line too few.
enum ExternalService {
    Down,
    MissingALine,
}

#[async_trait]
impl TaxCalculator for ExternalService {
    async fn calculate(&self, request: &TaxRequest) -> Result<TaxBreakdown, TaxError> {
        match self {
            ExternalService::Down => Err(TaxError::Unavailable(Box::new(Timeout))),
            ExternalService::MissingALine => {
                let shipping = tax_on(request.shipping(), rate("19"), request.prices())?;
                TaxBreakdown::new(request, vec![], shipping)
            }
        }
    }
}

#[tokio::test]
async fn an_external_service_keeps_its_failure_as_the_source_and_cannot_answer_short() {
    let request = request(
        "DE",
        Inclusive,
        vec![line("TEE", None, eur("11.90"))],
        eur("0"),
    );
    let down = ExternalService::Down.calculate(&request).await.unwrap_err();
    assert_eq!(down.code(), "tax_service_unavailable");
    assert_eq!(
        std::error::Error::source(&down).unwrap().to_string(),
        "timed out after 2 s"
    );
    let short = ExternalService::MissingALine
        .calculate(&request)
        .await
        .unwrap_err();
    assert!(matches!(short, TaxError::InvalidAnswer { .. }), "{short}");
}

#[test]
fn an_answer_must_tax_the_amounts_the_request_gave() {
    let request = request(
        "DE",
        Inclusive,
        vec![line("TEE", None, eur("11.90"))],
        eur("0"),
    );
    let shipping = tax_on(eur("0"), rate("19"), Inclusive).unwrap();
    for wrong in [
        tax_on(eur("11.80"), rate("19"), Inclusive).unwrap(),
        tax_on(eur("11.90"), rate("19"), Exclusive).unwrap(),
    ] {
        assert!(matches!(
            TaxBreakdown::new(&request, vec![wrong], shipping),
            Err(TaxError::InvalidAnswer { .. })
        ));
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

fn any_rate() -> impl Strategy<Value = TaxRate> {
    (0i64..=1_000_000).prop_map(|millionths| TaxRate::percent(Decimal::new(millionths, 4)).unwrap())
}

/// A table for DE with random standard and "reduced" rates, the currency in a random basis,
/// and a basket of 1 to 12 lines (some "reduced", some of a class without a rate) and a
/// shipping charge.
fn table_and_request() -> impl Strategy<Value = (TaxTable, TaxRequest)> {
    (
        currency(),
        prop_oneof![Just(Inclusive), Just(Exclusive)],
        any_rate(),
        any_rate(),
        prop::collection::vec((0u64..=100_000_000, 0u8..3), 1..12),
        0u64..=100_000,
    )
        .prop_map(|(currency, basis, standard, reduced, lines, shipping)| {
            let table = TaxTable::new(
                [(country("DE"), standard)],
                [(country("DE"), class("reduced"), reduced)],
                [(currency, basis)],
            )
            .unwrap();
            let lines = lines
                .iter()
                .enumerate()
                .map(|(index, (minor, kind))| {
                    let tax_class = [None, Some("reduced"), Some("unknown")][usize::from(*kind)];
                    line(
                        &format!("SKU-{index}"),
                        tax_class,
                        in_minor(*minor, currency),
                    )
                })
                .collect();
            let request =
                TaxRequest::new(country("DE"), basis, lines, in_minor(shipping, currency)).unwrap();
            (table, request)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn line_taxes_and_shipping_tax_sum_exactly_to_the_total(
        (table, request) in table_and_request()
    ) {
        let breakdown = table.tax(&request).unwrap();
        prop_assert_eq!(breakdown.lines().len(), request.lines().len());
        prop_assert!(!breakdown.lines().is_empty());
        let mut sum = breakdown.shipping().tax();
        for (taxed, asked) in breakdown.lines().iter().zip(request.lines()) {
            prop_assert_eq!(&taxed.sku, &asked.sku);
            prop_assert_eq!(taxed.taxed.given(), asked.amount);
            let expected_rate = table.rate_for(request.destination(), asked.tax_class.as_ref());
            prop_assert_eq!(Some(taxed.taxed.rate()), expected_rate);
            sum = sum.checked_add(&taxed.taxed.tax()).unwrap();
        }
        prop_assert_eq!(sum, breakdown.total_tax());
        prop_assert_eq!(breakdown.total_tax().currency(), request.currency());
        prop_assert_eq!(
            breakdown.total_tax().amount().scale(),
            request.currency().minor_units()
        );
    }
}

#[test]
fn a_table_reads_from_its_two_settings() {
    let table = TaxTable::from_settings(
        " GB=20, DE=19 ,DE/Reduced=7,US=0,, ",
        "EUR=inclusive,USD=Exclusive",
    )
    .unwrap();
    assert_eq!(table.rate_for(country("GB"), None), Some(rate("20")));
    assert_eq!(
        table.rate_for(country("DE"), Some(&class("reduced"))),
        Some(rate("7"))
    );
    assert_eq!(table.rate_for(country("US"), None), Some(rate("0")));
    assert_eq!(table.rate_for(country("FR"), None), None);
    assert_eq!(table.price_basis(Currency::EUR), Some(Inclusive));
    assert_eq!(table.price_basis(Currency::USD), Some(Exclusive));
    assert_eq!(table.price_bases().count(), 2);
    assert_eq!(
        TaxTable::from_settings("", "")
            .unwrap()
            .price_bases()
            .count(),
        0
    );
}

#[test]
fn a_malformed_setting_is_refused_naming_the_entry() {
    for (rates, prices) in [
        ("GB", ""),
        ("GB=twenty", ""),
        ("GB=120", ""),
        ("XX1=20", ""),
        ("GB=20,GB=21", ""),
        ("DE/reduced=7", ""),
        ("DE=19,DE/food & drink=7", ""),
        ("", "EUR=gross"),
        ("", "EURO=inclusive"),
        ("", "EUR=inclusive,EUR=exclusive"),
        ("=20", ""),
    ] {
        assert!(
            TaxTable::from_settings(rates, prices).is_err(),
            "{rates:?} {prices:?}"
        );
    }
    let error = TaxTable::from_settings("GB=twenty", "").unwrap_err();
    assert!(error.to_string().contains("GB=twenty"), "{error}");
}
