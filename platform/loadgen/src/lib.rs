//! `loadgen`: drives the commerce HTTP API with simulated shoppers, reports latency and
//! throughput, then audits every checkout it started against the shop's invariants.
//!
//! The `loadgen` binary is a thin command line over [`run`]; tests that need load while they
//! do something else (restart the server, follow the event feed) call [`run`] directly.

mod client;
pub mod get;
mod invariants;
mod money;
mod prng;
mod shipping;
mod shopper;
mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;

use crate::client::{Client, Created, NewPromotion, Offer};
use crate::invariants::{Baseline, CodeBaseline, InvariantReport, SHOWN_PROBLEMS};
use crate::money::Money;
use crate::shopper::{CheckoutRecord, Progress, Shared, UnconfirmedCheckout, PRODUCTS_PAGE};
use crate::stats::{
    format_micros_as_secs, format_rate_per_sec, micros, LatencySummary, Metric, Recorder,
};

/// Load generator for the commerce HTTP API.
///
/// Each shopper loops: browse products, create a cart, add 1-3 in-stock items, set the
/// cart's shipping address and choose one of the shipping options offered there at random,
/// sometimes apply a promotion code the run created (`--promotion-percent`), check out,
/// follow the checkout (long-polled, or asked every 5 ms with `--checkout-wait-secs 0`) until it
/// completes or fails (30 s timeout), and with
/// `--refund-percent` sometimes return a unit for a refund. The run lasts warm-up +
/// duration; only the duration is measured. Afterwards every checkout the run started is
/// audited (orders, captures, voided payments, stock arithmetic net of returned units, refunds
/// against the payments' ledger, order arithmetic and captured sums, promotion code uses
/// against their redemptions and limits, shipping charged against the methods chosen); the
/// audit assumes nothing else changes the shop during the run.
///
/// `loadgen get --url URL` instead asks one URL on N keep-alive connections as fast as it
/// answers and reports requests per second (`loadgen get --help`).
#[derive(Debug, Clone, Parser)]
#[command(name = "loadgen", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Another mode than the shoppers (the default).
    #[command(subcommand)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub args: Args,
    #[command(flatten)]
    pub promotions: PromotionArgs,
    #[command(flatten)]
    pub shipping: ShippingArgs,
}

/// Modes other than the shoppers.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Mode {
    /// Ask one URL (GET) on N keep-alive connections, each sending its next request as soon
    /// as the last is answered, and report requests per second, latency and errors: the
    /// request ceiling of a server, without shoppers or audit.
    Get(get::GetArgs),
}

/// The run's options, promotion codes apart (see [`Cli`]).
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Base URL of the API. Several instances sharing one database: repeat the option or
    /// separate the URLs with commas; shoppers are spread over them round robin, and the
    /// set-up and the audit use the first.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080",
        env = "LOADGEN_BASE_URL",
        value_delimiter = ',',
        required = false
    )]
    pub base_url: Vec<String>,

    /// API key for the staff calls the run makes (restocking, refunds, creating promotion
    /// codes, the audit's reads of payments, stock and codes), from `commerce api-keys create
    /// --scope '*'`, or a key holding inventory:write, payments:read, refunds:write and the
    /// promotions scopes. Shoppers' own calls never send it.
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

/// Whether and how shoppers use promotion codes.
#[derive(Debug, Clone, clap::Args)]
pub struct PromotionArgs {
    /// Create no promotion codes and apply none: the flow of the BENCHMARKS.md figures
    /// measured before codes existed, and the one for servers without them (the bench scripts
    /// set LOADGEN_NO_PROMOTIONS, which older builds of this generator ignore).
    #[arg(
        long,
        env = "LOADGEN_NO_PROMOTIONS",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_promotions: bool,

    /// Percent of checkouts (0-100) whose shopper first applies one of the run's promotion
    /// codes, picked at random; a code refused (used up) means checking out without one.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub promotion_percent: u8,

    /// Names of the run's codes: PREFIX + "P10" (10 % off, limited to --promotion-limit
    /// uses) and PREFIX + "E5" (5.00 EUR off, no limit). By default the prefix is unique to
    /// the run; a fixed one re-uses the codes of earlier runs, and the audit then counts the
    /// uses made during this run only.
    #[arg(long, value_name = "PREFIX", value_parser = code_prefix)]
    pub promotion_prefix: Option<String>,

    /// Uses allowed of the percent code: small enough by default to run out in a typical
    /// run, so that refusals (when applied, or at checkout) are exercised.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub promotion_limit: u64,
}

/// Whether shoppers choose a shipping method.
#[derive(Debug, Clone, clap::Args)]
pub struct ShippingArgs {
    /// Set up no shipping and choose none: shoppers send their address with the checkout,
    /// the flow of the BENCHMARKS.md figures measured before shipping existed and the one for
    /// servers without it (the bench scripts set LOADGEN_NO_SHIPPING, which older builds of
    /// this generator ignore). Otherwise, before the run, the shipping zone serving DE is
    /// found or created (with the API key) and given the run's options (Standard, Express,
    /// Economy) where it lacks them, and every shopper sets the cart's address and chooses
    /// one of the options offered.
    #[arg(
        long,
        env = "LOADGEN_NO_SHIPPING",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub no_shipping: bool,
}

impl ShippingArgs {
    /// No shipping: what [`run`] uses, so that its callers keep their flow.
    pub fn off() -> Self {
        Self { no_shipping: true }
    }
}

impl PromotionArgs {
    /// No codes: what [`run`] uses, so that its callers keep their flow and can run against
    /// servers without promotion codes.
    pub fn off() -> Self {
        Self {
            no_promotions: true,
            promotion_percent: 0,
            promotion_prefix: None,
            promotion_limit: 1,
        }
    }
}

fn code_prefix(text: &str) -> Result<String, String> {
    if !text.is_empty() && text.len() <= 24 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err("must be 1 to 24 ASCII letters or digits".to_owned())
    }
}

/// The codes a run offers, as staff create them: one percent code with a usage limit and one
/// fixed-amount code without.
fn promotions_to_create(prefix: &str, limit: u64) -> Vec<NewPromotion> {
    vec![
        NewPromotion {
            code: format!("{prefix}P10"),
            offer: Offer::PercentOff {
                percent_off: "10".to_owned(),
            },
            usage_limit: Some(limit),
        },
        NewPromotion {
            code: format!("{prefix}E5"),
            offer: Offer::AmountOff {
                amount_off: vec![Money {
                    amount: "5.00".to_owned(),
                    currency: shopper::CURRENCY.to_owned(),
                }],
            },
            usage_limit: None,
        },
    ]
}

/// Creates the run's codes (a 409 finds one there already) and reads how often each was
/// redeemed before the run.
async fn create_promotions(
    client: &Client,
    promotions: &[NewPromotion],
) -> Result<Vec<CodeBaseline>, String> {
    let mut codes = Vec::with_capacity(promotions.len());
    for promotion in promotions {
        let code = &promotion.code;
        let created = client.create_promotion(promotion).await.map_err(|e| {
            format!("cannot create promotion code {code}: {e} (--no-promotions runs without codes)")
        })?;
        let read = client
            .get_promotion(code)
            .await
            .map_err(|e| format!("cannot read promotion code {code}: {e}"))?
            .ok_or_else(|| format!("promotion code {code} not found after creating it"))?;
        if created == Created::AlreadyExisted {
            eprintln!(
                "loadgen: promotion code {code} exists already ({} uses so far, limit {}); \
                 the audit counts this run's uses only",
                read.times_redeemed,
                read.usage_limit
                    .map_or_else(|| "none".to_owned(), |l| l.to_string())
            );
        }
        codes.push(CodeBaseline {
            code: code.clone(),
            redeemed_before: read.times_redeemed,
        });
    }
    Ok(codes)
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
    apply_promotion: LatencySummary,
    shipping_address: LatencySummary,
    shipping_options: LatencySummary,
    shipping_method: LatencySummary,
}

/// Shipping methods chosen in the measured window.
#[derive(Debug, Serialize)]
struct ShippingCounts {
    /// By option name.
    chosen: BTreeMap<String, u64>,
    /// Carts offered no option (checked out without one).
    unoffered: u64,
}

/// Promotion codes in the measured window.
#[derive(Debug, Serialize)]
struct PromotionCounts {
    applied: u64,
    refused_at_apply: BTreeMap<String, u64>,
    refused_at_checkout: u64,
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
    /// `null` with --no-promotions.
    promotions: Option<PromotionCounts>,
    /// `null` with --no-shipping.
    shipping: Option<ShippingCounts>,
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

/// Runs shoppers as `args` says, without promotion codes or shipping methods, prints the
/// statistics and the audit, and answers whether every invariant held (`Err` when the run
/// could not start).
pub async fn run(args: Args) -> Result<bool, String> {
    run_with(args, PromotionArgs::off(), ShippingArgs::off()).await
}

/// [`run`], with promotion codes and shipping as `promotions` and `shipping` say (the
/// command line's flow).
pub async fn run_with(
    args: Args,
    promotions: PromotionArgs,
    shipping: ShippingArgs,
) -> Result<bool, String> {
    let bases = args
        .base_url
        .iter()
        .map(|url| client::parse_base_url(url.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    let shoppers = usize::try_from(args.shoppers).map_err(|e| e.to_string())?;
    let Some(first) = bases.first().cloned() else {
        return Err("--base-url: give at least one URL".to_owned());
    };
    let client = Client::new(first, shoppers, args.api_key.clone())?;
    // One view of the client per instance, sharing its connections and guest tokens, so the
    // audit (on the first) can read what shoppers did on any.
    let clients: Vec<Client> = bases.into_iter().map(|base| client.at(base)).collect();
    let base_urls = args.base_url.join(",");
    let started_at = chrono::Utc::now();

    // The catalogue the shoppers will see, and the stock before the run.
    let products = client
        .list_products(PRODUCTS_PAGE)
        .await
        .map_err(|e| format!("cannot list products at {}: {e}", args.base_url[0]))?;
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
    let codes = if promotions.no_promotions {
        Vec::new()
    } else {
        let prefix = promotions.promotion_prefix.clone().unwrap_or_else(|| {
            let run = uuid::Uuid::new_v4().simple().to_string();
            format!("LOAD{}", run[..8].to_ascii_uppercase())
        });
        let codes = create_promotions(
            &client,
            &promotions_to_create(&prefix, promotions.promotion_limit),
        )
        .await?;
        eprintln!(
            "loadgen: promotion codes {} applied to {} % of checkouts",
            codes
                .iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            promotions.promotion_percent
        );
        codes
    };
    let rates = if shipping.no_shipping {
        None
    } else {
        let rates = shipping::set_up(&client).await?;
        eprintln!(
            "loadgen: shipping to {} through zone {:?}: {}",
            shipping::COUNTRY,
            rates.zone_name,
            rates
                .options
                .values()
                .map(|rate| rate.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Some(rates)
    };

    // The run.
    let now = Instant::now();
    let measure_from = now + Duration::from_secs(args.warmup_secs);
    let deadline = measure_from + Duration::from_secs(args.duration_secs);
    let shared = Arc::new(Shared {
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
        // Shoppers type codes in lower case; the server matches them regardless of case.
        promotion_codes: codes.iter().map(|c| c.code.to_lowercase()).collect(),
        promotion_percent: promotions.promotion_percent,
        shipping: rates.is_some(),
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
        base_urls
    );
    let interrupt = tokio::spawn(stop_on_ctrl_c(Arc::clone(&shared)));
    let progress = tokio::spawn(report_progress(Arc::clone(&shared), now));

    let mut handles = Vec::with_capacity(shoppers);
    for index in 0..args.shoppers {
        // Round robin over the instances.
        let at = clients[usize::try_from(index).unwrap_or(0) % clients.len()].clone();
        handles.push(tokio::spawn(shopper::run(index, Arc::clone(&shared), at)));
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
        (!codes.is_empty(), rates.is_some()),
    );

    println!();
    println!(
        "invariants over {} checkouts started by this run (settling up to 10 s first):",
        records.len()
    );
    let report = invariants::run(
        &client,
        &records,
        &unconfirmed,
        &baseline,
        &codes,
        rates.as_ref(),
    )
    .await;
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
        promotions: (!codes.is_empty()).then(|| PromotionCounts {
            applied: recorder.promotions_applied,
            refused_at_apply: recorder.promotions_refused.clone(),
            refused_at_checkout: refused_at_checkout(&recorder),
        }),
        shipping: rates.is_some().then(|| ShippingCounts {
            chosen: recorder.shipping_chosen.clone(),
            unoffered: recorder.shipping_unoffered,
        }),
        latency_ms: Latencies {
            browse: latency(Metric::Browse),
            create_cart: latency(Metric::CreateCart),
            add_item: latency(Metric::AddItem),
            checkout_post: latency(Metric::CheckoutPost),
            checkout_poll: latency(Metric::CheckoutPoll),
            checkout_to_completed: latency(Metric::CheckoutToCompleted),
            refund_post: latency(Metric::RefundPost),
            apply_promotion: latency(Metric::ApplyPromotion),
            shipping_address: latency(Metric::ShippingAddress),
            shipping_options: latency(Metric::ShippingOptions),
            shipping_method: latency(Metric::ShippingMethod),
        },
        invariants: pass_fail(report.passed()),
        checks: report
            .checks
            .iter()
            .map(|c| (c.number.to_string(), pass_fail(c.passed)))
            .collect(),
        audited_checkouts: report.audited,
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        base_url: base_urls,
    };
    match serde_json::to_string(&json) {
        Ok(line) => println!("{line}"),
        Err(error) => eprintln!("loadgen: cannot encode the JSON summary: {error}"),
    }
    Ok(report.passed())
}

/// Checkouts that failed because their code ran out meanwhile (also among the failures).
fn refused_at_checkout(recorder: &Recorder) -> u64 {
    recorder
        .failed
        .get(shopper::PROMOTION_REFUSED)
        .copied()
        .unwrap_or(0)
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
    (promotions_on, shipping_on): (bool, bool),
) {
    println!(
        "loadgen {}: {} shoppers, warm-up {} s (excluded), measured {} s, token {}",
        args.base_url.join(","),
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
    if promotions_on {
        println!(
            "promotion codes: applied {}  refused at apply {} ({})  refused at checkout {}",
            recorder.promotions_applied,
            recorder.promotions_refused.values().sum::<u64>(),
            join_counts(&recorder.promotions_refused),
            refused_at_checkout(recorder)
        );
    }
    if shipping_on {
        println!(
            "shipping methods chosen: {}  no option offered {}",
            join_counts(&recorder.shipping_chosen),
            recorder.shipping_unoffered
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotions_are_on_by_default_for_thirty_percent_of_checkouts() {
        let cli = Cli::try_parse_from(["loadgen"]).unwrap();
        assert!(!cli.promotions.no_promotions);
        assert_eq!(cli.promotions.promotion_percent, 30);
        assert_eq!(cli.promotions.promotion_prefix, None);
        let off = Cli::try_parse_from(["loadgen", "--no-promotions"]).unwrap();
        assert!(off.promotions.no_promotions);
        // The bench scripts turn them off through the environment (only this test reads it).
        for (value, off) in [
            ("1", true),
            ("true", true),
            ("yes", true),
            ("false", false),
            ("0", false),
        ] {
            std::env::set_var("LOADGEN_NO_PROMOTIONS", value);
            let cli = Cli::try_parse_from(["loadgen"]).unwrap();
            assert_eq!(cli.promotions.no_promotions, off, "{value}");
        }
        std::env::remove_var("LOADGEN_NO_PROMOTIONS");
    }

    #[test]
    fn several_base_urls_are_taken_repeated_or_comma_separated() {
        let one = Cli::try_parse_from(["loadgen", "--base-url", "http://a:1"]).unwrap();
        assert_eq!(one.args.base_url, ["http://a:1"]);
        let repeated = Cli::try_parse_from([
            "loadgen",
            "--base-url",
            "http://a:1",
            "--base-url",
            "http://b:2",
        ])
        .unwrap();
        assert_eq!(repeated.args.base_url, ["http://a:1", "http://b:2"]);
        let listed =
            Cli::try_parse_from(["loadgen", "--base-url", "http://a:1,http://b:2"]).unwrap();
        assert_eq!(listed.args.base_url, ["http://a:1", "http://b:2"]);
    }

    #[test]
    fn shipping_is_on_by_default_and_off_by_flag_or_environment() {
        assert!(
            !Cli::try_parse_from(["loadgen"])
                .unwrap()
                .shipping
                .no_shipping
        );
        let off = Cli::try_parse_from(["loadgen", "--no-shipping"]).unwrap();
        assert!(off.shipping.no_shipping);
        // The bench scripts turn it off through the environment (only this test reads it).
        for (value, off) in [("1", true), ("true", true), ("false", false), ("0", false)] {
            std::env::set_var("LOADGEN_NO_SHIPPING", value);
            let cli = Cli::try_parse_from(["loadgen"]).unwrap();
            assert_eq!(cli.shipping.no_shipping, off, "{value}");
        }
        std::env::remove_var("LOADGEN_NO_SHIPPING");
        assert!(ShippingArgs::off().no_shipping);
    }

    #[test]
    fn shoppers_are_the_default_mode_and_get_takes_its_own_options() {
        let cli = Cli::try_parse_from(["loadgen", "--shoppers", "4"]).unwrap();
        assert!(cli.mode.is_none());
        assert_eq!(cli.args.shoppers, 4);
        let cli = Cli::try_parse_from([
            "loadgen",
            "get",
            "--url",
            "http://127.0.0.1:8095/v1/products/p1",
            "--connections",
            "8",
        ])
        .unwrap();
        let Some(Mode::Get(get)) = cli.mode else {
            panic!("not the get mode: {:?}", cli.mode);
        };
        assert_eq!(get.url, "http://127.0.0.1:8095/v1/products/p1");
        assert_eq!(get.connections, 8);
        assert_eq!((get.duration_secs, get.warmup_secs), (10, 1));
        // The shoppers' options are not the get mode's, and it needs a URL.
        assert!(Cli::try_parse_from(["loadgen", "--shoppers", "4", "get", "--url", "x"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "get"]).is_err());
        assert!(
            Cli::try_parse_from(["loadgen", "get", "--url", "x", "--connections", "0"]).is_err()
        );
    }

    #[test]
    fn a_fixed_prefix_names_the_codes_and_must_be_alphanumeric() {
        let cli = Cli::try_parse_from([
            "loadgen",
            "--promotion-prefix",
            "load",
            "--promotion-limit",
            "7",
        ])
        .unwrap();
        let prefix = cli.promotions.promotion_prefix.unwrap();
        let planned = promotions_to_create(&prefix, cli.promotions.promotion_limit);
        let names: Vec<(&str, Option<u64>)> = planned
            .iter()
            .map(|p| (p.code.as_str(), p.usage_limit))
            .collect();
        assert_eq!(names, [("LOADP10", Some(7)), ("LOADE5", None)]);
        for bad in ["", "LOAD-1", "x".repeat(25).as_str()] {
            assert!(
                Cli::try_parse_from(["loadgen", "--promotion-prefix", bad]).is_err(),
                "{bad:?}"
            );
        }
        assert!(Cli::try_parse_from(["loadgen", "--promotion-percent", "101"]).is_err());
    }
}
