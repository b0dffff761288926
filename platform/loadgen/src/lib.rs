//! `loadgen`: drives the commerce HTTP API with simulated shoppers, reports latency and
//! throughput, then audits every checkout it started against the shop's invariants.
//!
//! The `loadgen` binary is a thin command line over [`run`]; tests that need load while they
//! do something else (restart the server, follow the event feed) call [`run`] directly.

mod client;
mod invariants;
mod money;
mod prng;
mod shopper;
mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;

use crate::client::Client;
use crate::invariants::{Baseline, InvariantReport, SHOWN_PROBLEMS};
use crate::shopper::{CheckoutRecord, Progress, Shared, UnconfirmedCheckout, PRODUCTS_PAGE};
use crate::stats::{
    format_micros_as_secs, format_rate_per_sec, micros, LatencySummary, Metric, Recorder,
};

/// Load generator for the commerce HTTP API.
///
/// Each shopper loops: browse products, create a cart, add 1-3 in-stock items, check out,
/// follow the checkout (long-polled, or asked every 5 ms with `--checkout-wait-secs 0`) until it
/// completes or fails (30 s timeout), and with
/// `--refund-percent` sometimes return a unit for a refund. The run lasts warm-up +
/// duration; only the duration is measured. Afterwards every checkout the run started is
/// audited (orders, captures, voided payments, stock arithmetic net of returned units, refunds
/// against the payments' ledger); the audit assumes nothing else changes the shop during the
/// run.
#[derive(Debug, Clone, Parser)]
#[command(name = "loadgen", version)]
pub struct Args {
    /// Base URL of the API.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080",
        env = "LOADGEN_BASE_URL"
    )]
    pub base_url: String,

    /// API key for the staff calls the run makes (restocking, refunds, the audit's reads of
    /// payments and stock), from `commerce api-keys create --scope '*'`, or a key holding
    /// inventory:write, payments:read and refunds:write. Shoppers' own calls never send it.
    #[arg(long, env = "COMMERCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Concurrent simulated shoppers.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub shoppers: u64,

    /// Measured run time in seconds, after the warm-up.
    #[arg(long, default_value_t = 60)]
    pub duration_secs: u64,

    /// Stop once this many checkouts were started (warm-up included), if sooner.
    #[arg(long)]
    pub checkouts: Option<u64>,

    /// Warm-up seconds before measuring; its requests are excluded from the statistics
    /// (but its checkouts are audited).
    #[arg(long, default_value_t = 5)]
    pub warmup_secs: u64,

    /// Payment method token sent with every checkout.
    #[arg(long, default_value = "tok_visa")]
    pub token: String,

    /// Before starting, receive this many units of every SKU of the listed products.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub restock: Option<u32>,

    /// Seed of the shoppers' pseudo-random choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Start shopping rounds (each ends in one checkout) at this fixed rate per second,
    /// spread over the shoppers, instead of as fast as they can. Comparing two servers at
    /// the same rate compares the cost of the same load; the shoppers must be enough to keep
    /// up, or rounds start late.
    #[arg(long, value_parser = positive_rate)]
    pub rate: Option<f64>,

    /// Percent of completed checkouts (0-100) whose shopper then returns one unit of the
    /// first line for a refund, restocked. The audit then also checks that the payments'
    /// refunds agree with the orders' and that the stock counts the returned units.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub refund_percent: u8,

    /// Seconds each request for the checkout's status may wait for it to settle (the API's
    /// long-poll, `GET /v1/checkouts/{id}?wait=`). 0 asks again every 5 ms instead, the flow
    /// this generator used before long-polling existed (BENCHMARKS.md figures up to
    /// 2026-12-02 were measured so).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=30))]
    pub checkout_wait_secs: u64,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if rate.is_finite() && rate > 0.0 && rate <= 100_000.0 {
        Ok(rate)
    } else {
        Err("must be a number of rounds per second above 0 and at most 100000".to_owned())
    }
}

#[derive(Debug, Serialize)]
struct Latencies {
    browse: LatencySummary,
    create_cart: LatencySummary,
    add_item: LatencySummary,
    checkout_post: LatencySummary,
    checkout_poll: LatencySummary,
    checkout_to_completed: LatencySummary,
    refund_post: LatencySummary,
}

/// The final JSON line. Decimals are strings; counts are integers.
#[derive(Debug, Serialize)]
struct JsonSummary {
    throughput_per_s: String,
    measured_secs: String,
    completions_in_window: u64,
    shoppers: u64,
    /// Rounds started per second, when paced (`--rate`).
    rate_per_s: Option<String>,
    warmup_secs: u64,
    token: String,
    checkouts_started: u64,
    completed: u64,
    failed: u64,
    failed_by_code: BTreeMap<String, u64>,
    timed_out: u64,
    http_errors: BTreeMap<String, u64>,
    nothing_in_stock: u64,
    latency_ms: Latencies,
    invariants: &'static str,
    checks: BTreeMap<String, &'static str>,
    audited_checkouts: usize,
    started_at: String,
    base_url: String,
}

fn pass_fail(passed: bool) -> &'static str {
    if passed {
        "PASS"
    } else {
        "FAIL"
    }
}

fn join_counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(key, count)| format!("{key}={count}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs shoppers as `args` says, prints the statistics and the audit, and answers whether
/// every invariant held (`Err` when the run could not start).
pub async fn run(args: Args) -> Result<bool, String> {
    let base = client::parse_base_url(&args.base_url)?;
    let shoppers = usize::try_from(args.shoppers).map_err(|e| e.to_string())?;
    let client = Client::new(base, shoppers, args.api_key.clone())?;
    let started_at = chrono::Utc::now();

    // The catalogue the shoppers will see, and the stock before the run.
    let products = client
        .list_products(PRODUCTS_PAGE)
        .await
        .map_err(|e| format!("cannot list products at {}: {e}", args.base_url))?;
    let mut skus: Vec<String> = products
        .data
        .iter()
        .flat_map(|p| p.variants.iter().map(|v| v.sku.clone()))
        .filter(|sku| !sku.is_empty())
        .collect();
    skus.sort();
    skus.dedup();
    if skus.is_empty() {
        return Err("the catalogue lists no products with variants".to_owned());
    }
    if products.has_more {
        eprintln!("loadgen: note: only the first {PRODUCTS_PAGE} products are used");
    }
    eprintln!(
        "loadgen: {} products, {} SKUs; taking stock baseline",
        products.data.len(),
        skus.len()
    );
    let mut baseline = invariants::take_baseline(&client, &skus).await;
    if let Some(units) = args.restock {
        restock(&client, &skus, units, &mut baseline).await;
    }

    // The run.
    let now = Instant::now();
    let measure_from = now + Duration::from_secs(args.warmup_secs);
    let deadline = measure_from + Duration::from_secs(args.duration_secs);
    let shared = Arc::new(Shared {
        client: client.clone(),
        token: args.token.clone(),
        seed: args.seed,
        measure_from,
        deadline,
        checkout_limit: args.checkouts,
        checkouts_claimed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        progress: Progress::default(),
        pacer: args.rate.map(shopper::Pacer::new),
        refund_percent: args.refund_percent,
        checkout_wait_secs: args.checkout_wait_secs,
    });
    eprintln!(
        "loadgen: {} shoppers{}, warm-up {} s, measuring {} s{} against {}",
        args.shoppers,
        args.rate
            .map(|rate| format!(" at {rate} rounds/s"))
            .unwrap_or_default(),
        args.warmup_secs,
        args.duration_secs,
        args.checkouts
            .map(|n| format!(" (or until {n} checkouts started)"))
            .unwrap_or_default(),
        args.base_url
    );
    let interrupt = tokio::spawn(stop_on_ctrl_c(Arc::clone(&shared)));
    let progress = tokio::spawn(report_progress(Arc::clone(&shared), now));

    let mut handles = Vec::with_capacity(shoppers);
    for index in 0..args.shoppers {
        handles.push(tokio::spawn(shopper::run(index, Arc::clone(&shared))));
    }
    let mut recorder = Recorder::new(measure_from);
    let mut records: Vec<CheckoutRecord> = Vec::new();
    let mut unconfirmed: Vec<UnconfirmedCheckout> = Vec::new();
    let mut crashed = 0_u64;
    for handle in handles {
        match handle.await {
            Ok(result) => {
                recorder.merge(result.recorder);
                records.extend(result.checkouts);
                unconfirmed.extend(result.unconfirmed);
            }
            Err(_) => crashed += 1,
        }
    }
    let ended = Instant::now();
    progress.abort();
    // The measured window ends at the deadline, or earlier when the run was cut short
    // (--checkouts, Ctrl-C); checkouts still in flight at the deadline finish outside it.
    let window_end = ended.min(deadline).max(measure_from);
    let measured_micros = micros(window_end.saturating_duration_since(measure_from));
    let completions_in_window = recorder.completions_between(measure_from, window_end);
    if crashed > 0 {
        eprintln!("loadgen: warning: {crashed} shopper tasks crashed; their samples are lost");
    }

    // Report.
    let summaries = recorder.summaries();
    let throughput = format_rate_per_sec(completions_in_window, measured_micros);
    print_stats(
        &args,
        &summaries,
        &recorder,
        (&throughput, completions_in_window),
        measured_micros,
        records.len(),
    );

    println!();
    println!(
        "invariants over {} checkouts started by this run (settling up to 10 s first):",
        records.len()
    );
    let report = invariants::run(&client, &records, &unconfirmed, &baseline, &[]).await;
    interrupt.abort();
    print_invariants(&report);

    let latency = |metric: Metric| {
        summaries
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    };
    let json = JsonSummary {
        throughput_per_s: throughput,
        measured_secs: format_micros_as_secs(measured_micros),
        completions_in_window,
        shoppers: args.shoppers,
        rate_per_s: args.rate.map(|rate| rate.to_string()),
        warmup_secs: args.warmup_secs,
        token: args.token.clone(),
        checkouts_started: recorder.checkouts_started,
        completed: recorder.completed,
        failed: recorder.failed_total(),
        failed_by_code: recorder.failed.clone(),
        timed_out: recorder.timed_out,
        http_errors: recorder.http_errors.clone(),
        nothing_in_stock: recorder.nothing_in_stock,
        latency_ms: Latencies {
            browse: latency(Metric::Browse),
            create_cart: latency(Metric::CreateCart),
            add_item: latency(Metric::AddItem),
            checkout_post: latency(Metric::CheckoutPost),
            checkout_poll: latency(Metric::CheckoutPoll),
            checkout_to_completed: latency(Metric::CheckoutToCompleted),
            refund_post: latency(Metric::RefundPost),
        },
        invariants: pass_fail(report.passed()),
        checks: report
            .checks
            .iter()
            .map(|c| (c.number.to_string(), pass_fail(c.passed)))
            .collect(),
        audited_checkouts: report.audited,
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        base_url: args.base_url.clone(),
    };
    match serde_json::to_string(&json) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("loadgen: cannot encode the JSON summary: {error}"),
    }
    Ok(report.passed())
}

async fn restock(client: &Client, skus: &[String], units: u32, baseline: &mut Baseline) {
    let mut failures = 0_u64;
    for sku in skus {
        match client.receive_stock(sku, units).await {
            Ok(_) => {
                baseline.restocked.insert(sku.clone(), u64::from(units));
            }
            Err(error) => {
                failures += 1;
                eprintln!("loadgen: restock of {sku} failed: {error}");
                if error.is_retryable() {
                    // It may have been applied after all; the stock check cannot know.
                    baseline.on_hand.remove(sku);
                    baseline.unknown.insert(sku.clone());
                }
            }
        }
    }
    eprintln!(
        "loadgen: restocked {} SKUs with {units} units each ({failures} failed)",
        baseline.restocked.len()
    );
}

/// First Ctrl-C: stop starting new work and go on to the report and the audit.
/// Second Ctrl-C: exit at once.
async fn stop_on_ctrl_c(shared: Arc<Shared>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    eprintln!("loadgen: interrupted; finishing in-flight checkouts (Ctrl-C again to abort)");
    shared.stop.store(true, Ordering::SeqCst);
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

/// A progress line on stderr every 5 s.
async fn report_progress(shared: Arc<Shared>, start: Instant) {
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let p = &shared.progress;
        let phase = if Instant::now() < shared.measure_from {
            "warm-up"
        } else {
            "measuring"
        };
        eprintln!(
            "loadgen: t={}s {phase}: checkouts started={} completed={} failed={} timed_out={} errors={}",
            start.elapsed().as_secs(),
            p.started.load(Ordering::Relaxed),
            p.completed.load(Ordering::Relaxed),
            p.failed.load(Ordering::Relaxed),
            p.timed_out.load(Ordering::Relaxed),
            p.errors.load(Ordering::Relaxed),
        );
    }
}

fn print_stats(
    args: &Args,
    summaries: &[(Metric, LatencySummary)],
    recorder: &Recorder,
    (throughput, completions_in_window): (&str, u64),
    measured_micros: u64,
    all_checkouts: usize,
) {
    println!(
        "loadgen {}: {} shoppers, warm-up {} s (excluded), measured {} s, token {}",
        args.base_url,
        args.shoppers,
        args.warmup_secs,
        format_micros_as_secs(measured_micros),
        args.token
    );
    println!();
    println!(
        "{:<22} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "latency (ms)", "count", "p50", "p95", "p99", "max"
    );
    for (metric, s) in summaries {
        println!(
            "{:<22} {:>8} {:>10} {:>10} {:>10} {:>10}",
            metric.name(),
            s.count,
            s.p50_ms,
            s.p95_ms,
            s.p99_ms,
            s.max_ms
        );
    }
    println!();
    println!(
        "checkouts: started {}  completed {}  failed {} ({})  timed_out {}",
        recorder.checkouts_started,
        recorder.completed,
        recorder.failed_total(),
        join_counts(&recorder.failed),
        recorder.timed_out
    );
    println!(
        "throughput: {throughput} completed checkouts/s ({completions_in_window} completions \
         observed in the {} s window)",
        format_micros_as_secs(measured_micros)
    );
    println!("http errors: {}", join_counts(&recorder.http_errors));
    for (detail, count) in &recorder.http_error_details {
        println!("  {detail}: {count}");
    }
    if recorder.nothing_in_stock > 0 {
        println!(
            "browses with nothing in stock: {}",
            recorder.nothing_in_stock
        );
    }
    let warmup = u64::try_from(all_checkouts)
        .unwrap_or(u64::MAX)
        .saturating_sub(recorder.checkouts_started);
    if warmup > 0 {
        println!("({warmup} more checkouts started during warm-up: audited, not counted above)");
    }
}

fn print_invariants(report: &InvariantReport) {
    for check in &report.checks {
        println!(
            "  {} {}. {}: {}",
            pass_fail(check.passed),
            check.number,
            check.name,
            check.summary
        );
        for problem in check.problems.iter().take(SHOWN_PROBLEMS) {
            println!("      - {problem}");
        }
        if check.problems.len() > SHOWN_PROBLEMS {
            println!(
                "      ... and {} more",
                check.problems.len() - SHOWN_PROBLEMS
            );
        }
    }
    if report.still_pending > 0 {
        println!(
            "  note: {} checkouts neither completed nor failed after settling",
            report.still_pending
        );
    }
    if report.settled_late > 0 {
        println!(
            "  note: {} checkouts timed out during the run but settled before the audit",
            report.settled_late
        );
    }
    if !report.unconfirmed.is_empty() {
        println!(
            "  note: {} checkout POSTs never got an answer; their outcome is unknown",
            report.unconfirmed.len()
        );
        for example in report.unconfirmed.iter().take(SHOWN_PROBLEMS) {
            println!("      - {example}");
        }
    }
    println!(
        "  audited {} checkouts: {} completed, {} failed -> {}",
        report.audited,
        report.completed,
        report.failed,
        pass_fail(report.passed())
    );
}
