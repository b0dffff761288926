//! Latency samples, outcome counters and their summaries, all in integer arithmetic:
//! latencies are whole microseconds, rates and milliseconds are printed from integer
//! quotients with a decimal point put in by formatting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What is timed. `CheckoutToCompleted` runs from sending the checkout POST to observing
/// `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Browse,
    CreateCart,
    AddItem,
    /// `POST /v1/carts/{id}/promotions`, refused or not.
    ApplyPromotion,
    /// `PUT /v1/carts/{id}/shipping-address`.
    ShippingAddress,
    /// `GET /v1/carts/{id}/shipping-options`.
    ShippingOptions,
    /// `PUT /v1/carts/{id}/shipping-method`.
    ShippingMethod,
    CheckoutPost,
    CheckoutPoll,
    CheckoutToCompleted,
    RefundPost,
}

impl Metric {
    pub const ALL: [Metric; 11] = [
        Metric::Browse,
        Metric::CreateCart,
        Metric::AddItem,
        Metric::ShippingAddress,
        Metric::ShippingOptions,
        Metric::ShippingMethod,
        Metric::ApplyPromotion,
        Metric::CheckoutPost,
        Metric::CheckoutPoll,
        Metric::CheckoutToCompleted,
        Metric::RefundPost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Browse => "browse",
            Metric::CreateCart => "create_cart",
            Metric::AddItem => "add_item",
            Metric::ApplyPromotion => "apply_promotion",
            Metric::ShippingAddress => "shipping_address",
            Metric::ShippingOptions => "shipping_options",
            Metric::ShippingMethod => "shipping_method",
            Metric::CheckoutPost => "checkout_post",
            Metric::CheckoutPoll => "checkout_poll",
            Metric::CheckoutToCompleted => "checkout_to_completed",
            Metric::RefundPost => "refund_post",
        }
    }

    fn slot(self) -> usize {
        match self {
            Metric::Browse => 0,
            Metric::CreateCart => 1,
            Metric::AddItem => 2,
            Metric::CheckoutPost => 3,
            Metric::CheckoutPoll => 4,
            Metric::CheckoutToCompleted => 5,
            Metric::RefundPost => 6,
            Metric::ApplyPromotion => 7,
            Metric::ShippingAddress => 8,
            Metric::ShippingOptions => 9,
            Metric::ShippingMethod => 10,
        }
    }
}

/// The nearest-rank percentile of an ascending slice: the value at rank ⌈p/100 · n⌉
/// (1-based, at least 1). `None` for an empty slice; `pct` above 100 counts as 100.
pub fn percentile(sorted: &[u64], pct: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = u64::try_from(sorted.len()).unwrap_or(u64::MAX);
    let pct = pct.min(100);
    let rank = (u128::from(pct) * u128::from(n)).div_ceil(100).max(1);
    let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
    sorted.get(index.min(sorted.len() - 1)).copied()
}

/// Microseconds as milliseconds with three decimals: 1234 -> "1.234".
pub fn format_micros_as_millis(micros: u64) -> String {
    format!("{}.{:03}", micros / 1000, micros % 1000)
}

/// Microseconds as seconds with three decimals (truncated): 60_012_345 -> "60.012".
pub fn format_micros_as_secs(micros: u64) -> String {
    let millis = micros / 1000;
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// Events per second with one decimal, rounded half up: (1034, 10 s) -> "103.4".
/// "0.0" when no time has passed.
pub fn format_rate_per_sec(events: u64, elapsed_micros: u64) -> String {
    if elapsed_micros == 0 {
        return "0.0".to_owned();
    }
    // tenths of an event per second = events * 10 * 1_000_000 / elapsed_micros
    let numerator = u128::from(events) * 10_000_000;
    let denominator = u128::from(elapsed_micros);
    let tenths = (numerator * 2 + denominator) / (denominator * 2);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// A duration in whole microseconds, saturating.
pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Summary of one metric's samples.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: String,
    pub p95_ms: String,
    pub p99_ms: String,
    pub max_ms: String,
}

impl LatencySummary {
    /// Sorts `samples` in place.
    pub fn from_samples(samples: &mut [u64]) -> Self {
        samples.sort_unstable();
        let show = |pct| {
            percentile(samples, pct)
                .map(format_micros_as_millis)
                .unwrap_or_else(|| "-".to_owned())
        };
        Self {
            count: u64::try_from(samples.len()).unwrap_or(u64::MAX),
            p50_ms: show(50),
            p95_ms: show(95),
            p99_ms: show(99),
            max_ms: show(100),
        }
    }
}

/// What one shopper measured. Requests started before `measure_from` (the warm-up) are
/// not recorded; each shopper owns its recorder and they are merged at the end, so the
/// hot path takes no lock.
#[derive(Debug, Clone)]
pub struct Recorder {
    measure_from: Instant,
    samples: [Vec<u64>; 11],
    /// Checkouts started in the measured window.
    pub checkouts_started: u64,
    pub completed: u64,
    /// Failed checkouts by failure code.
    pub failed: BTreeMap<String, u64>,
    pub timed_out: u64,
    /// Non-2xx responses and transport failures by status ("503", "transport", ...).
    pub http_errors: BTreeMap<String, u64>,
    /// The same errors by "endpoint status code", for diagnosis.
    pub http_error_details: BTreeMap<String, u64>,
    /// Browses that offered nothing in stock to buy.
    pub nothing_in_stock: u64,
    /// Promotion codes the server accepted on a cart.
    pub promotions_applied: u64,
    /// Promotion codes refused when applied (a 422), by problem code; the shopper then
    /// checks out without one.
    pub promotions_refused: BTreeMap<String, u64>,
    /// Shipping methods chosen, by option name.
    pub shipping_chosen: BTreeMap<String, u64>,
    /// Carts for whose address no shipping option was offered (checked out without one).
    pub shipping_unoffered: u64,
    /// When each completion was observed, warm-up included (throughput picks its window).
    pub completions: Vec<Instant>,
}

impl Recorder {
    pub fn new(measure_from: Instant) -> Self {
        Self {
            measure_from,
            samples: Default::default(),
            checkouts_started: 0,
            completed: 0,
            failed: BTreeMap::new(),
            timed_out: 0,
            http_errors: BTreeMap::new(),
            http_error_details: BTreeMap::new(),
            nothing_in_stock: 0,
            promotions_applied: 0,
            promotions_refused: BTreeMap::new(),
            shipping_chosen: BTreeMap::new(),
            shipping_unoffered: 0,
            completions: Vec::new(),
        }
    }

    pub fn measuring(&self, started: Instant) -> bool {
        started >= self.measure_from
    }

    /// Records `started.elapsed()` for `metric` if `started` is in the measured window.
    pub fn time(&mut self, metric: Metric, started: Instant) {
        if self.measuring(started) {
            self.samples[metric.slot()].push(micros(started.elapsed()));
        }
    }

    pub fn http_error(&mut self, started: Instant, endpoint: &str, status: &str, code: &str) {
        if self.measuring(started) {
            *self.http_errors.entry(status.to_owned()).or_default() += 1;
            let detail = if code.is_empty() {
                format!("{endpoint} {status}")
            } else {
                format!("{endpoint} {status} {code}")
            };
            *self.http_error_details.entry(detail).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        for (mine, theirs) in self.samples.iter_mut().zip(other.samples) {
            mine.extend(theirs);
        }
        self.checkouts_started += other.checkouts_started;
        self.completed += other.completed;
        self.timed_out += other.timed_out;
        self.nothing_in_stock += other.nothing_in_stock;
        self.promotions_applied += other.promotions_applied;
        for (key, count) in other.promotions_refused {
            *self.promotions_refused.entry(key).or_default() += count;
        }
        for (key, count) in other.shipping_chosen {
            *self.shipping_chosen.entry(key).or_default() += count;
        }
        self.shipping_unoffered += other.shipping_unoffered;
        self.completions.extend(other.completions);
        for (key, count) in other.failed {
            *self.failed.entry(key).or_default() += count;
        }
        for (key, count) in other.http_errors {
            *self.http_errors.entry(key).or_default() += count;
        }
        for (key, count) in other.http_error_details {
            *self.http_error_details.entry(key).or_default() += count;
        }
    }

    /// Summaries of every metric, in `Metric::ALL` order. Sorts the samples.
    pub fn summaries(&mut self) -> Vec<(Metric, LatencySummary)> {
        Metric::ALL
            .iter()
            .map(|&metric| {
                (
                    metric,
                    LatencySummary::from_samples(&mut self.samples[metric.slot()]),
                )
            })
            .collect()
    }

    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Completions observed in `from..=to`.
    pub fn completions_between(&self, from: Instant, to: Instant) -> u64 {
        let count = self
            .completions
            .iter()
            .filter(|&&at| at >= from && at <= to)
            .count();
        u64::try_from(count).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_its_own_slot_and_name() {
        let recorder = Recorder::new(Instant::now());
        let slots: std::collections::BTreeSet<usize> =
            Metric::ALL.iter().map(|m| m.slot()).collect();
        let names: std::collections::BTreeSet<&str> =
            Metric::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(slots.len(), Metric::ALL.len());
        assert_eq!(names.len(), Metric::ALL.len());
        assert!(slots.iter().all(|&slot| slot < recorder.samples.len()));
    }

    #[test]
    fn percentile_of_empty_is_none() {
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn percentile_of_single_sample_is_that_sample() {
        for pct in [0, 1, 50, 99, 100, 250] {
            assert_eq!(percentile(&[7], pct), Some(7));
        }
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        // The classic example: 15, 20, 35, 40, 50.
        let data = [15, 20, 35, 40, 50];
        assert_eq!(percentile(&data, 5), Some(15));
        assert_eq!(percentile(&data, 30), Some(20));
        assert_eq!(percentile(&data, 40), Some(20));
        assert_eq!(percentile(&data, 50), Some(35));
        assert_eq!(percentile(&data, 100), Some(50));
    }

    #[test]
    fn percentile_on_one_to_hundred() {
        let data: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&data, 0), Some(1));
        assert_eq!(percentile(&data, 1), Some(1));
        assert_eq!(percentile(&data, 50), Some(50));
        assert_eq!(percentile(&data, 95), Some(95));
        assert_eq!(percentile(&data, 99), Some(99));
        assert_eq!(percentile(&data, 100), Some(100));
    }

    #[test]
    fn percentile_rounds_rank_up() {
        // n = 10: p95 -> rank ceil(9.5) = 10; p50 -> rank 5; p99 -> rank 10; p11 -> rank 2.
        let data: Vec<u64> = (1..=10).map(|v| v * 10).collect();
        assert_eq!(percentile(&data, 50), Some(50));
        assert_eq!(percentile(&data, 95), Some(100));
        assert_eq!(percentile(&data, 99), Some(100));
        assert_eq!(percentile(&data, 11), Some(20));
        assert_eq!(percentile(&data, 10), Some(10));
    }

    #[test]
    fn percentile_handles_large_values() {
        let data = [1, u64::MAX - 1, u64::MAX];
        assert_eq!(percentile(&data, 100), Some(u64::MAX));
        assert_eq!(percentile(&data, 66), Some(u64::MAX - 1));
        assert_eq!(percentile(&data, 67), Some(u64::MAX));
    }

    #[test]
    fn formats_milliseconds_and_seconds() {
        assert_eq!(format_micros_as_millis(0), "0.000");
        assert_eq!(format_micros_as_millis(7), "0.007");
        assert_eq!(format_micros_as_millis(1234), "1.234");
        assert_eq!(format_micros_as_millis(30_000_001), "30000.001");
        assert_eq!(format_micros_as_secs(60_012_999), "60.012");
        assert_eq!(format_micros_as_secs(999), "0.000");
    }

    #[test]
    fn formats_rates_with_one_rounded_decimal() {
        assert_eq!(format_rate_per_sec(1034, 10_000_000), "103.4");
        assert_eq!(format_rate_per_sec(0, 10_000_000), "0.0");
        assert_eq!(format_rate_per_sec(5, 0), "0.0");
        assert_eq!(format_rate_per_sec(1, 3_000_000), "0.3");
        assert_eq!(format_rate_per_sec(2, 3_000_000), "0.7"); // 0.666.. rounds up
        assert_eq!(format_rate_per_sec(1, 4_000_000), "0.3"); // 0.25 rounds half up
        assert_eq!(format_rate_per_sec(100, 1_000_000), "100.0");
        assert_eq!(
            format_rate_per_sec(u64::MAX, 1),
            "18446744073709551615000000.0"
        );
    }

    #[test]
    fn summary_reports_count_percentiles_and_max() {
        let mut samples: Vec<u64> = (1..=1000).rev().map(|v| v * 1000).collect();
        let summary = LatencySummary::from_samples(&mut samples);
        assert_eq!(summary.count, 1000);
        assert_eq!(summary.p50_ms, "500.000");
        assert_eq!(summary.p95_ms, "950.000");
        assert_eq!(summary.p99_ms, "990.000");
        assert_eq!(summary.max_ms, "1000.000");
        let empty = LatencySummary::from_samples(&mut []);
        assert_eq!(empty.count, 0);
        assert_eq!(empty.p50_ms, "-");
    }

    #[test]
    fn recorder_skips_warmup_and_merges() {
        let start = Instant::now();
        let later = start + Duration::from_secs(3600);
        let mut warm = Recorder::new(later);
        warm.time(Metric::Browse, start);
        warm.http_error(start, "browse", "503", "unavailable");
        assert!(warm.http_errors.is_empty());

        let mut a = Recorder::new(start);
        a.time(Metric::Browse, start);
        a.http_error(start, "browse", "503", "unavailable");
        *a.failed.entry("out_of_stock".to_owned()).or_default() += 1;
        let mut b = Recorder::new(start);
        b.time(Metric::Browse, start);
        b.time(Metric::AddItem, start);
        b.http_error(start, "add_item", "503", "");
        *b.failed.entry("out_of_stock".to_owned()).or_default() += 2;
        a.merge(b);
        a.merge(warm);
        let summaries = a.summaries();
        assert_eq!(summaries[0].1.count, 2);
        assert_eq!(summaries[2].1.count, 1);
        assert_eq!(a.http_errors.get("503"), Some(&2));
        assert_eq!(a.http_error_details.get("browse 503 unavailable"), Some(&1));
        assert_eq!(a.http_error_details.get("add_item 503"), Some(&1));
        assert_eq!(a.failed_total(), 3);
    }

    #[test]
    fn merging_adds_up_promotion_codes_applied_and_refused() {
        let start = Instant::now();
        let mut a = Recorder::new(start);
        a.promotions_applied = 2;
        *a.promotions_refused
            .entry("promotion_used_up".to_owned())
            .or_default() += 1;
        let mut b = Recorder::new(start);
        b.promotions_applied = 3;
        *b.promotions_refused
            .entry("promotion_used_up".to_owned())
            .or_default() += 4;
        a.merge(b);
        assert_eq!(a.promotions_applied, 5);
        assert_eq!(a.promotions_refused.get("promotion_used_up"), Some(&5));
    }

    #[test]
    fn counts_completions_inside_the_window() {
        let start = Instant::now();
        let mut recorder = Recorder::new(start);
        for secs in [0, 1, 2, 3, 10] {
            recorder.completions.push(start + Duration::from_secs(secs));
        }
        let from = start + Duration::from_secs(1);
        let to = start + Duration::from_secs(3);
        assert_eq!(recorder.completions_between(from, to), 3);
        assert_eq!(recorder.completions_between(to, from), 0);
    }
}
