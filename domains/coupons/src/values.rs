//! Value types of the coupons context. Each constructor checks its rules, so a value built
//! from input is valid. `Deserialize` reads recorded history and checks nothing (ADR 0014):
//! input from outside is built with the constructors, never deserialized into these types.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Money, Sku};

use crate::errors::{PromotionError, Refusal};

/// Shortest promotion code, in characters.
pub const MIN_CODE_CHARS: usize = 3;
/// Longest promotion code, in characters.
pub const MAX_CODE_CHARS: usize = 32;
/// Most SKUs a promotion may be limited to.
pub const MAX_SKUS: usize = 500;

/// The code a shopper types: 3 to 32 characters of `A-Z 0-9 - _`, surrounding whitespace
/// ignored, stored upper case, so `summer-10` and `SUMMER-10` are the same code (codes are
/// case-insensitive, as Shopify's and Stripe's are). It is also the promotion's aggregate id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromotionCode(String);

impl PromotionCode {
    pub fn parse(raw: &str) -> Result<PromotionCode, PromotionError> {
        let invalid = |reason| PromotionError::InvalidCode {
            code: raw.to_owned(),
            reason,
        };
        let trimmed = raw.trim();
        let length = trimmed.chars().count();
        if !(MIN_CODE_CHARS..=MAX_CODE_CHARS).contains(&length) {
            return Err(invalid("use 3 to 32 characters"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_');
        if !trimmed.chars().all(allowed) {
            return Err(invalid("use only letters A-Z, digits, '-' and '_'"));
        }
        Ok(PromotionCode(trimmed.to_ascii_uppercase()))
    }

    /// A code as an event recorded it, taken as it is.
    pub fn recorded(code: String) -> PromotionCode {
        PromotionCode(code)
    }

    /// The normalized (upper case) form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PromotionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A percentage off, above 0 and at most 100, to a hundredth of a percent (a basis point).
/// Stored as basis points (`1250` is 12.5 %), so no decimal ever has to be read back from
/// text to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Percentage(u32);

impl Percentage {
    const FULL: u32 = 10_000;

    /// `percent` as a percentage: `Decimal` 12.5 is 12.5 %.
    pub fn new(percent: Decimal) -> Result<Percentage, PromotionError> {
        let invalid = |reason: &str| PromotionError::InvalidPercentage {
            reason: format!("{percent}: {reason}"),
        };
        if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
            return Err(invalid("must be above 0 and at most 100"));
        }
        let basis_points = percent * Decimal::ONE_HUNDRED;
        if !basis_points.fract().is_zero() {
            return Err(invalid("at most two decimal places"));
        }
        // A whole number from 1 to 10 000 after the checks above.
        let basis_points = basis_points
            .to_u32()
            .ok_or_else(|| invalid("out of range"))?;
        Percentage::from_basis_points(basis_points)
    }

    /// `basis_points` hundredths of a percent, 1 to 10 000.
    pub fn from_basis_points(basis_points: u32) -> Result<Percentage, PromotionError> {
        if basis_points == 0 || basis_points > Percentage::FULL {
            return Err(PromotionError::InvalidPercentage {
                reason: format!("{basis_points} basis points: must be 1 to 10000"),
            });
        }
        Ok(Percentage(basis_points))
    }

    pub fn basis_points(&self) -> u32 {
        self.0
    }

    /// The percentage as a number: 12.5 for 12.5 %.
    pub fn as_percent(&self) -> Decimal {
        Decimal::new(i64::from(self.0), 2).normalize()
    }

    /// This share of `amount`, rounded half up (away from zero) to the currency's minor unit,
    /// the rounding [`Money::round_to_minor_units`] does everywhere else: 12.5 % of 0.20 EUR
    /// is 0.025, so 0.03; 50 % of 1 JPY is 0.5, so 1. Never more than `amount`, since the
    /// percentage is at most 100.
    pub fn of(&self, amount: Money) -> Money {
        // Exact: dividing by 10 000 only moves the decimal point.
        let share = amount.amount() * Decimal::from(self.0) / Decimal::from(Percentage::FULL);
        Money::new(share, amount.currency()).round_to_minor_units()
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} %", self.as_percent())
    }
}

/// One positive amount per currency, at least one: what a fixed discount takes off, or the
/// minimum subtotal to use a code, in each currency the promotion can be used in. Stored as a
/// list of money, ordered by currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CurrencyAmounts(Vec<Money>);

impl CurrencyAmounts {
    /// Each amount above zero, at most [`Money::MAX_PRICE`], in whole minor units of its
    /// currency, and one per currency.
    pub fn new(amounts: Vec<Money>) -> Result<CurrencyAmounts, PromotionError> {
        let invalid = |reason: String| PromotionError::InvalidAmounts { reason };
        if amounts.is_empty() {
            return Err(invalid("give at least one amount".to_owned()));
        }
        let mut checked = Vec::with_capacity(amounts.len());
        for amount in amounts {
            let price = Money::price(amount.amount(), amount.currency())
                .map_err(|e| invalid(format!("{amount}: {e}")))?;
            if price.is_zero() {
                return Err(invalid(format!("{amount}: must be above zero")));
            }
            checked.push(price);
        }
        checked.sort_by_key(Money::currency);
        if let Some(pair) = checked
            .windows(2)
            .find(|pair| pair[0].currency() == pair[1].currency())
        {
            return Err(invalid(format!(
                "{} is given more than once",
                pair[0].currency()
            )));
        }
        Ok(CurrencyAmounts(checked))
    }

    /// The amount in `currency`, if one is given.
    pub fn get(&self, currency: Currency) -> Option<Money> {
        self.0
            .iter()
            .find(|amount| amount.currency() == currency)
            .copied()
    }

    /// Every amount, ordered by currency.
    pub fn amounts(&self) -> &[Money] {
        &self.0
    }
}

/// The SKUs a promotion is limited to: 1 to [`MAX_SKUS`] of them. Stored as a list of
/// normalized SKUs, read back as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct SkuSet(BTreeSet<Sku>);

impl SkuSet {
    pub fn new(skus: impl IntoIterator<Item = Sku>) -> Result<SkuSet, PromotionError> {
        let skus: BTreeSet<Sku> = skus.into_iter().collect();
        if skus.is_empty() {
            return Err(PromotionError::InvalidSkus {
                reason: "name at least one SKU".to_owned(),
            });
        }
        if skus.len() > MAX_SKUS {
            return Err(PromotionError::InvalidSkus {
                reason: format!("at most {MAX_SKUS} SKUs"),
            });
        }
        Ok(SkuSet(skus))
    }

    pub fn contains(&self, sku: &Sku) -> bool {
        self.0.contains(sku)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Sku> {
        self.0.iter()
    }
}

impl From<Vec<String>> for SkuSet {
    fn from(recorded: Vec<String>) -> Self {
        SkuSet(recorded.into_iter().map(Sku::recorded).collect())
    }
}

impl From<SkuSet> for Vec<String> {
    fn from(skus: SkuSet) -> Self {
        skus.0.into_iter().map(String::from).collect()
    }
}

/// A usage limit: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Limit(u32);

impl Limit {
    pub fn new(limit: u32) -> Result<Limit, PromotionError> {
        if limit == 0 {
            return Err(PromotionError::InvalidLimit);
        }
        Ok(Limit(limit))
    }

    pub fn get(&self) -> u32 {
        self.0
    }
}

/// When a code can be used: from `starts_at` (inclusive) until `ends_at` (exclusive); either
/// end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Schedule {
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

impl Schedule {
    /// Refuses an end at or before the start.
    pub fn new(
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
    ) -> Result<Schedule, PromotionError> {
        if let (Some(starts_at), Some(ends_at)) = (starts_at, ends_at) {
            if ends_at <= starts_at {
                return Err(PromotionError::InvalidSchedule);
            }
        }
        Ok(Schedule { starts_at, ends_at })
    }

    /// Usable at any time.
    pub fn always() -> Schedule {
        Schedule::default()
    }

    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.starts_at
    }

    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at
    }

    /// Whether the code can be used at `at`, and if not, why.
    pub fn check(&self, at: DateTime<Utc>) -> Result<(), Refusal> {
        match (self.starts_at, self.ends_at) {
            (Some(starts_at), _) if at < starts_at => Err(Refusal::NotStarted { starts_at }),
            (_, Some(ends_at)) if at >= ends_at => Err(Refusal::Expired { ends_at }),
            _ => Ok(()),
        }
    }
}

/// Whether staff keep a promotion on offer. Whether it can be used right now also depends on
/// its schedule and its limits; see [`Availability`](crate::views::Availability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionStatus {
    Active,
    /// Final: no new redemption; those in flight may still be confirmed or released.
    Deactivated,
}

impl fmt::Display for PromotionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PromotionStatus::Active => "active",
            PromotionStatus::Deactivated => "deactivated",
        })
    }
}

/// Where one checkout's use of a code stands. Reserved and Confirmed count against the
/// limits; Confirmed and Released are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionState {
    /// Held for a checkout that has not placed its order yet.
    Reserved,
    /// The checkout placed its order: the use is spent for good.
    Confirmed,
    /// The checkout failed and gave the use back.
    Released,
}

impl RedemptionState {
    /// Whether the use counts against the limits.
    pub fn is_active(self) -> bool {
        matches!(self, RedemptionState::Reserved | RedemptionState::Confirmed)
    }
}

impl fmt::Display for RedemptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedemptionState::Reserved => "reserved",
            RedemptionState::Confirmed => "confirmed",
            RedemptionState::Released => "released",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn money(amount: &str, currency: &str) -> Money {
        Money::parse(amount, currency).unwrap()
    }

    fn dec(text: &str) -> Decimal {
        Decimal::from_str_exact(text).unwrap()
    }

    #[test]
    fn codes_are_trimmed_and_upper_cased() {
        assert_eq!(
            PromotionCode::parse("  summer-10_x ").unwrap().as_str(),
            "SUMMER-10_X"
        );
    }

    #[test]
    fn codes_refuse_odd_characters_and_lengths() {
        for raw in ["", "AB", "has space", "ÉTÉ10", "A.B.C", &"A".repeat(33)] {
            assert!(
                matches!(
                    PromotionCode::parse(raw),
                    Err(PromotionError::InvalidCode { .. })
                ),
                "{raw:?}"
            );
        }
        assert!(PromotionCode::parse("ABC").is_ok());
        assert!(PromotionCode::parse(&"A".repeat(32)).is_ok());
    }

    #[test]
    fn a_percentage_is_above_zero_at_most_a_hundred_in_basis_points() {
        assert_eq!(Percentage::new(dec("12.5")).unwrap().basis_points(), 1250);
        assert_eq!(Percentage::new(dec("100")).unwrap().basis_points(), 10_000);
        assert_eq!(Percentage::new(dec("0.01")).unwrap().basis_points(), 1);
        assert_eq!(Percentage::new(dec("33.330")).unwrap().basis_points(), 3333);
        for refused in ["0", "-5", "100.01", "12.345"] {
            assert!(
                matches!(
                    Percentage::new(dec(refused)),
                    Err(PromotionError::InvalidPercentage { .. })
                ),
                "{refused}"
            );
        }
        assert!(Percentage::from_basis_points(0).is_err());
        assert!(Percentage::from_basis_points(10_001).is_err());
        assert_eq!(Percentage::new(dec("12.5")).unwrap().to_string(), "12.5 %");
    }

    #[test]
    fn a_percentage_of_an_amount_rounds_half_up_to_the_minor_unit() {
        let pct = |text| Percentage::new(dec(text)).unwrap();
        // Two minor units: 0.025 is a tie, rounded up (half-even would give 0.02).
        assert_eq!(pct("12.5").of(money("0.20", "EUR")), money("0.03", "EUR"));
        assert_eq!(pct("10").of(money("19.99", "EUR")), money("2.00", "EUR"));
        assert_eq!(pct("10").of(money("19.94", "EUR")), money("1.99", "EUR"));
        // No minor unit: 0.5 yen is a tie, rounded up; 150.45 yen rounds down.
        assert_eq!(pct("50").of(money("1", "JPY")), money("1", "JPY"));
        assert_eq!(pct("15").of(money("1003", "JPY")), money("150", "JPY"));
        // Three minor units: 0.0005 dinar is a tie, rounded up.
        assert_eq!(pct("12.5").of(money("0.004", "KWD")), money("0.001", "KWD"));
        assert_eq!(pct("100").of(money("7.125", "KWD")), money("7.125", "KWD"));
        // The result always has the currency's minor units.
        assert_eq!(
            pct("10").of(money("20", "EUR")).amount().to_string(),
            "2.00"
        );
    }

    #[test]
    fn currency_amounts_are_positive_whole_minor_units_one_per_currency() {
        let amounts = CurrencyAmounts::new(vec![money("5", "USD"), money("5.00", "EUR")]).unwrap();
        assert_eq!(amounts.get(Currency::EUR), Some(money("5.00", "EUR")));
        assert_eq!(amounts.get(Currency::JPY), None);
        assert_eq!(
            amounts
                .amounts()
                .iter()
                .map(|m| m.currency())
                .collect::<Vec<_>>(),
            [Currency::EUR, Currency::USD]
        );
        for refused in [
            vec![],
            vec![money("0", "EUR")],
            vec![money("-1", "EUR")],
            vec![money("1.005", "EUR")],
            vec![money("1.5", "JPY")],
            vec![money("1", "EUR"), money("2", "EUR")],
        ] {
            assert!(
                matches!(
                    CurrencyAmounts::new(refused.clone()),
                    Err(PromotionError::InvalidAmounts { .. })
                ),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_sku_set_names_one_to_five_hundred_skus() {
        assert!(SkuSet::new([]).is_err());
        let many = (0..=MAX_SKUS).map(|n| Sku::parse(&format!("SKU-{n}")).unwrap());
        assert!(SkuSet::new(many).is_err());
        let set = SkuSet::new([Sku::parse("tee-s").unwrap()]).unwrap();
        assert!(set.contains(&Sku::parse("TEE-S").unwrap()));
        assert_eq!(
            serde_json::to_value(&set).unwrap(),
            serde_json::json!(["TEE-S"])
        );
    }

    #[test]
    fn a_recorded_sku_set_is_read_back_as_it_was_stored() {
        // Tightening the SKU rules must never make history unreadable.
        let set: SkuSet = serde_json::from_value(serde_json::json!(["OLD SKU"])).unwrap();
        assert!(set.contains(&Sku::recorded("OLD SKU".to_owned())));
    }

    #[test]
    fn a_limit_is_at_least_one() {
        assert_eq!(Limit::new(0), Err(PromotionError::InvalidLimit));
        assert_eq!(Limit::new(1).unwrap().get(), 1);
    }

    #[test]
    fn a_schedule_starts_inclusive_and_ends_exclusive() {
        let at = |hour| Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap();
        assert_eq!(
            Schedule::new(Some(at(10)), Some(at(10))),
            Err(PromotionError::InvalidSchedule)
        );
        let schedule = Schedule::new(Some(at(10)), Some(at(12))).unwrap();
        assert_eq!(
            schedule.check(at(9)),
            Err(Refusal::NotStarted { starts_at: at(10) })
        );
        assert_eq!(schedule.check(at(10)), Ok(()));
        assert_eq!(schedule.check(at(11)), Ok(()));
        assert_eq!(
            schedule.check(at(12)),
            Err(Refusal::Expired { ends_at: at(12) })
        );
        assert_eq!(Schedule::always().check(at(0)), Ok(()));
    }
}
