//! The invariant check, run after the load over every checkout the run started:
//!
//! 1. every completed checkout has an order, the order is paid (or later), and there are
//!    as many distinct orders as completed checkouts;
//! 2. each completed checkout's payment is captured for exactly the order total;
//! 3. no failed checkout left a payment other than voided or declined;
//! 4. per SKU touched, stock before (+ restock) − stock after == units in completed
//!    orders, and nothing is left reserved;
//! 5. refunds: what the orders say went back is what their payments gave back;
//! 6. each order adds up (subtotal − discount + shipping == total, the lines' discounts make
//!    the order's), and over all orders the totals equal the captured amounts;
//! 7. per promotion code the run used: uses in completed orders == the rise of its
//!    `times_redeemed` during the run, nothing left reserved, never more than its limit;
//! 8. each order's shipping is a non-negative amount in the order's currency and, when its
//!    shopper chose a method, what the cart charged for it and what the option's price (as
//!    read from the zone before the run) gives for the order's subtotal; without a method,
//!    while shoppers choose them, nothing.
//!
//! Checks 6 to 8 are pure functions of what was read, so that their arithmetic is tested
//! on made-up orders. All money is summed as exact decimals.
//!
//! It assumes nothing else changed the shop during the run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::client::{ApiError, Checkout, Client, Order, Payment, Promotion, StockItem};
use crate::money::{Decimal, Money, Totals};
use crate::shipping::{self, Rates};
use crate::shopper::{CheckoutRecord, ChosenShipping, Outcome, UnconfirmedCheckout};

const CONCURRENCY: usize = 32;
const SETTLE_FOR: Duration = Duration::from_secs(10);
const SETTLE_POLL: Duration = Duration::from_millis(250);
const PAID_OR_LATER: [&str; 3] = ["paid", "fulfilled", "completed"];
const SETTLED_PAYMENT_FOR_FAILURE: [&str; 2] = ["voided", "declined"];
/// Problems listed per check; the rest are counted.
pub const SHOWN_PROBLEMS: usize = 10;

/// Stock levels taken before the run.
#[derive(Debug, Default, Clone)]
pub struct Baseline {
    /// On hand per SKU before the run (0 for untracked SKUs).
    pub on_hand: HashMap<String, u64>,
    /// SKUs whose level could not be read.
    pub unknown: BTreeSet<String>,
    /// Units received per SKU by --restock, after the baseline was taken.
    pub restocked: HashMap<String, u64>,
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub number: u8,
    pub name: &'static str,
    pub passed: bool,
    pub summary: String,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct InvariantReport {
    pub checks: Vec<CheckResult>,
    /// Checkouts audited (all started by this run, warm-up included).
    pub audited: usize,
    pub completed: usize,
    pub failed: usize,
    /// Neither completed nor failed even after settling.
    pub still_pending: usize,
    /// Checkouts that timed out during the run but settled afterwards.
    pub settled_late: usize,
    /// Checkout POSTs whose fate is unknown, as "cart <id>: <error>".
    pub unconfirmed: Vec<String>,
}

impl InvariantReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// Runs `f` over `items` with at most `limit` in flight; results in input order, `None`
/// where a task panicked.
async fn map_concurrent<I, O, F, Fut>(items: Vec<I>, limit: usize, f: F) -> Vec<Option<O>>
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: Future<Output = O> + Send + 'static,
{
    let mut results: Vec<Option<O>> = items.iter().map(|_| None).collect();
    let mut set = JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        while set.len() >= limit.max(1) {
            if let Some(Ok((i, out))) = set.join_next().await {
                results[i] = Some(out);
            }
        }
        let future = f(item);
        set.spawn(async move { (index, future.await) });
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((i, out)) = joined {
            results[i] = Some(out);
        }
    }
    results
}

/// Reads the stock of every SKU; a missing entry means it could not be read.
pub async fn read_stock(client: &Client, skus: &[String]) -> HashMap<String, Option<StockItem>> {
    let results = map_concurrent(skus.to_vec(), CONCURRENCY, |sku| {
        let client = client.clone();
        async move {
            let stock = client.get_stock(&sku).await;
            (sku, stock)
        }
    })
    .await;
    results
        .into_iter()
        .flatten()
        .filter_map(|(sku, stock)| stock.ok().map(|s| (sku, s)))
        .collect()
}

/// Takes the baseline: stock of every SKU before the run.
pub async fn take_baseline(client: &Client, skus: &[String]) -> Baseline {
    let levels = read_stock(client, skus).await;
    let mut baseline = Baseline::default();
    for sku in skus {
        match levels.get(sku) {
            Some(level) => {
                let on_hand = level.as_ref().map(|s| s.on_hand).unwrap_or(0);
                baseline.on_hand.insert(sku.clone(), on_hand);
            }
            None => {
                baseline.unknown.insert(sku.clone());
            }
        }
    }
    baseline
}

/// A promotion code the run lets shoppers use, with its confirmed uses before the run
/// (non-zero when a fixed code is re-used against the same store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBaseline {
    pub code: String,
    pub redeemed_before: u64,
}

/// A code as read after the run, beside its baseline.
#[derive(Debug, Clone)]
pub struct CodeAfter {
    pub baseline: CodeBaseline,
    /// The code after settling, or why it could not be read.
    pub after: Result<Promotion, String>,
}

/// Reads every code, again while any holds a reservation (up to [`SETTLE_FOR`]), so that
/// uses held by checkouts that just ended have been confirmed or given back.
async fn read_codes_settled(client: &Client, codes: &[CodeBaseline]) -> Vec<CodeAfter> {
    let until = Instant::now() + SETTLE_FOR;
    loop {
        let mut read = Vec::with_capacity(codes.len());
        for baseline in codes {
            let after = match client.get_promotion(&baseline.code).await {
                Ok(Some(promotion)) => Ok(promotion),
                Ok(None) => Err("not found".to_owned()),
                Err(error) => Err(error.to_string()),
            };
            read.push(CodeAfter {
                baseline: baseline.clone(),
                after,
            });
        }
        let held = read
            .iter()
            .any(|c| c.after.as_ref().map_or(true, |p| p.reserved > 0));
        if !held || Instant::now() >= until {
            return read;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

struct Settled {
    /// Final view per checkout id (missing if never read).
    views: HashMap<String, Checkout>,
    stock: HashMap<String, Option<StockItem>>,
}

/// Waits up to 10 s for pending checkouts to settle and reservations to drain.
async fn settle(client: &Client, records: &[CheckoutRecord], skus: &[String]) -> Settled {
    let mut views: HashMap<String, Checkout> = records
        .iter()
        .filter_map(|r| {
            r.last_seen
                .clone()
                .map(|view| (r.checkout_id.clone(), view))
        })
        .collect();
    let until = Instant::now() + SETTLE_FOR;
    loop {
        let pending: Vec<String> = records
            .iter()
            .map(|r| r.checkout_id.clone())
            .filter(|id| !views.get(id).is_some_and(Checkout::is_terminal))
            .collect();
        let polled = map_concurrent(pending.clone(), CONCURRENCY, |id| {
            let client = client.clone();
            async move {
                let view = client.get_checkout(&id, 0).await;
                (id, view)
            }
        })
        .await;
        for (id, view) in polled.into_iter().flatten() {
            if let Ok(view) = view {
                views.insert(id, view);
            }
        }
        let stock = read_stock(client, skus).await;
        let all_terminal = records
            .iter()
            .all(|r| views.get(&r.checkout_id).is_some_and(Checkout::is_terminal));
        let drained = skus.iter().all(|sku| match stock.get(sku) {
            Some(Some(item)) => item.reserved == 0,
            Some(None) => true,
            None => false,
        });
        if (all_terminal && drained) || Instant::now() >= until {
            return Settled { views, stock };
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}

struct Audit {
    /// "checkout <id> (cart <id>)", for messages.
    label: String,
    /// The method the checkout's shopper chose.
    shipping: Option<ChosenShipping>,
    order_id: Option<String>,
    order: Option<Result<Order, ApiError>>,
    payment: Option<Result<Option<Payment>, ApiError>>,
}

/// For a completed checkout: its order and the order's payment.
async fn audit_completed(
    client: Client,
    (label, order_id, shipping): (String, Option<String>, Option<ChosenShipping>),
) -> Audit {
    let mut audit = Audit {
        label,
        shipping,
        order_id: order_id.clone(),
        order: None,
        payment: None,
    };
    let Some(order_id) = order_id else {
        return audit;
    };
    // Refunds under way are waited for (at most SETTLE_FOR), so that the order, its payment
    // and the stock are compared once each refund has ended.
    let until = Instant::now() + SETTLE_FOR;
    let mut order = client.get_order(&order_id).await;
    while let Ok(read) = &order {
        if !read.refunds.iter().any(|r| r.status == "requested") || Instant::now() >= until {
            break;
        }
        tokio::time::sleep(SETTLE_POLL).await;
        order = client.get_order(&order_id).await;
    }
    if let Ok(order) = &order {
        if let Some(payment_id) = &order.payment_id {
            audit.payment = Some(client.get_payment(payment_id).await);
        }
    }
    audit.order = Some(order);
    audit
}

/// Check 4 for each SKU touched: units gone from stock (`baseline` + restock - now) are the
/// units completed orders hold less those their refunds returned, and none is reserved.
/// Answers how many SKUs balance, and what is wrong with the others.
fn balance_stock(
    touched: &[String],
    baseline: &Baseline,
    stock: &HashMap<String, Option<StockItem>>,
    sold: &HashMap<String, u64>,
    returned: &HashMap<String, u64>,
) -> (usize, Vec<String>) {
    let mut balanced = 0_usize;
    let mut problems = Vec::new();
    for sku in touched {
        let Some(&before) = baseline.on_hand.get(sku) else {
            problems.push(format!("{sku}: no stock level from before the run"));
            continue;
        };
        let after = match stock.get(sku) {
            Some(Some(item)) => item,
            Some(None) => {
                problems.push(format!("{sku}: not tracked after the run"));
                continue;
            }
            None => {
                problems.push(format!("{sku}: stock level unreadable after the run"));
                continue;
            }
        };
        let restocked = baseline.restocked.get(sku).copied().unwrap_or(0);
        let units_sold = sold.get(sku).copied().unwrap_or(0);
        let units_back = returned.get(sku).copied().unwrap_or(0);
        let consumed = i128::from(before) + i128::from(restocked) - i128::from(after.on_hand);
        let kept = i128::from(units_sold) - i128::from(units_back);
        let mut wrong = Vec::new();
        if consumed != kept {
            wrong.push(format!(
                "on_hand {before} + restock {restocked} - on_hand_after {} = {consumed}, \
                 but completed orders hold {units_sold} of which {units_back} came back",
                after.on_hand
            ));
        }
        if after.reserved != 0 {
            wrong.push(format!("{} units still reserved", after.reserved));
        }
        if wrong.is_empty() {
            balanced += 1;
        } else {
            problems.push(format!("{sku}: {}", wrong.join("; ")));
        }
    }
    (balanced, problems)
}

fn check(number: u8, name: &'static str, summary: String, problems: Vec<String>) -> CheckResult {
    CheckResult {
        number,
        name,
        passed: problems.is_empty(),
        summary,
        problems,
    }
}

/// What check 6 reads of one completed checkout: its order and, when it was read, the
/// payment's captured amount.
#[derive(Debug, Clone, Copy)]
pub struct PaidOrder<'a> {
    pub order: &'a Order,
    pub captured: Option<&'a Money>,
}

/// `money` as a decimal in `currency`, or why not.
fn amount_in(money: &Money, currency: &str, what: &str) -> Result<Decimal, String> {
    if !money.currency.eq_ignore_ascii_case(currency) {
        return Err(format!(
            "{what} {money} is not in the total's currency {currency}"
        ));
    }
    money
        .decimal()
        .ok_or_else(|| format!("{what} {money} is not a decimal"))
}

/// The order's own arithmetic: subtotal − discount + shipping == total and the lines'
/// discounts sum to the order's. A missing discount (servers without promotions, lines
/// without one) counts as zero; a wrong one then shows in the sums.
fn order_adds_up(order: &Order) -> Result<(), String> {
    let currency = order.total.currency.as_str();
    let total = amount_in(&order.total, currency, "total")?;
    let subtotal = order
        .subtotal
        .as_ref()
        .ok_or("no subtotal")
        .map_err(str::to_owned)
        .and_then(|m| amount_in(m, currency, "subtotal"))?;
    let shipping = order
        .shipping_total
        .as_ref()
        .ok_or("no shipping_total")
        .map_err(str::to_owned)
        .and_then(|m| amount_in(m, currency, "shipping_total"))?;
    let discount = match &order.discount_total {
        Some(m) => amount_in(m, currency, "discount_total")?,
        None => Decimal::ZERO,
    };
    let tax = match &order.tax_total {
        Some(m) => amount_in(m, currency, "tax_total")?,
        None => Decimal::ZERO,
    };
    let tax_on_top = if order.taxes_included {
        Decimal::ZERO
    } else {
        tax
    };
    let mut problems = Vec::new();
    let computed = subtotal
        .checked_sub(discount)
        .and_then(|v| v.checked_add(shipping))
        .and_then(|v| v.checked_add(tax_on_top))
        .ok_or("its amounts overflow")?;
    if computed != total {
        problems.push(format!(
            "subtotal {subtotal} - discount {discount} + shipping {shipping} + tax on top \
             {tax_on_top} = {computed}, but total {total}"
        ));
    }
    let mut line_taxes = match &order.shipping_tax {
        Some(m) => amount_in(m, currency, "shipping_tax")?,
        None => Decimal::ZERO,
    };
    for line in &order.lines {
        if let Some(m) = &line.tax {
            line_taxes = line_taxes
                .checked_add(amount_in(m, currency, &format!("line {} tax", line.sku))?)
                .ok_or("its taxes overflow")?;
        }
    }
    if line_taxes != tax {
        problems.push(format!(
            "line and shipping taxes sum to {line_taxes}, but tax_total {tax}"
        ));
    }
    let mut lines = Decimal::ZERO;
    for line in &order.lines {
        if let Some(m) = &line.discount {
            let line_discount = amount_in(m, currency, &format!("line {} discount", line.sku))?;
            lines = lines
                .checked_add(line_discount)
                .ok_or("its line discounts overflow")?;
        }
    }
    if lines != discount {
        problems.push(format!(
            "line discounts sum to {lines}, but discount_total {discount}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Check 6 over the orders of completed checkouts (unreadable ones are check 1's).
pub fn order_totals_check(orders: &[PaidOrder<'_>]) -> CheckResult {
    let mut problems = Vec::new();
    let (mut subtotal, mut discount, mut shipping, mut tax, mut total, mut captured) = (
        Totals::default(),
        Totals::default(),
        Totals::default(),
        Totals::default(),
        Totals::default(),
        Totals::default(),
    );
    let mut added_up = 0_usize;
    let mut uncaptured = 0_usize;
    for paid in orders {
        let order = paid.order;
        match order_adds_up(order) {
            Ok(()) => added_up += 1,
            Err(problem) => problems.push(format!("order {}: {problem}", order.id)),
        }
        let zero = Money {
            amount: "0".to_owned(),
            currency: order.total.currency.clone(),
        };
        let sums = [
            (&mut subtotal, order.subtotal.as_ref().unwrap_or(&zero)),
            (
                &mut discount,
                order.discount_total.as_ref().unwrap_or(&zero),
            ),
            (
                &mut shipping,
                order.shipping_total.as_ref().unwrap_or(&zero),
            ),
            (&mut tax, order.tax_total.as_ref().unwrap_or(&zero)),
            (&mut total, &order.total),
        ];
        for (sum, money) in sums {
            if let Err(problem) = sum.add(money) {
                problems.push(format!("order {}: {problem}", order.id));
            }
        }
        match paid.captured {
            Some(money) => {
                if let Err(problem) = captured.add(money) {
                    problems.push(format!("order {}: captured {problem}", order.id));
                }
            }
            None => uncaptured += 1,
        }
    }
    if total != captured {
        let mut problem = format!("orders total {total}, but payments captured {captured}");
        if uncaptured > 0 {
            problem.push_str(&format!(" ({uncaptured} payments unread)"));
        }
        problems.push(problem);
    }
    check(
        6,
        "orders add up and their totals equal the captured amounts",
        format!(
            "{added_up} of {} orders add up; subtotal {subtotal} - discount {discount} \
             + shipping {shipping} + tax on top = total {total} (tax {tax}); captured {captured}",
            orders.len()
        ),
        problems,
    )
}

/// Check 7: per code, the uses completed orders carry against its count on the server.
/// `unread_orders` completed checkouts whose order could not be read leave the uses
/// incomplete.
pub fn promotion_codes_check(
    codes: &[CodeAfter],
    orders: &[&Order],
    unread_orders: usize,
) -> CheckResult {
    let mut problems = Vec::new();
    let mut uses: BTreeMap<String, u64> = BTreeMap::new();
    for order in orders {
        let Some(code) = order.promotion_code.as_deref().filter(|c| !c.is_empty()) else {
            continue;
        };
        match codes
            .iter()
            .find(|c| c.baseline.code.eq_ignore_ascii_case(code))
        {
            Some(known) => *uses.entry(known.baseline.code.clone()).or_default() += 1,
            None => problems.push(format!(
                "order {} carries code {code:?}, which the run never offered",
                order.id
            )),
        }
    }
    if unread_orders > 0 {
        problems.push(format!(
            "{unread_orders} completed orders unreadable: uses per code are incomplete"
        ));
    }
    let mut summaries = Vec::with_capacity(codes.len());
    for code in codes {
        let name = &code.baseline.code;
        let used = uses.get(name).copied().unwrap_or(0);
        let promotion = match &code.after {
            Ok(promotion) => promotion,
            Err(error) => {
                problems.push(format!("{name}: unreadable after the run: {error}"));
                continue;
            }
        };
        let redeemed =
            i128::from(promotion.times_redeemed) - i128::from(code.baseline.redeemed_before);
        let mut wrong = Vec::new();
        if i128::from(used) != redeemed {
            wrong.push(format!(
                "{used} completed orders carry it, but times_redeemed rose by {redeemed} \
                 ({} -> {})",
                code.baseline.redeemed_before, promotion.times_redeemed
            ));
        }
        if promotion.reserved != 0 {
            wrong.push(format!("{} uses still reserved", promotion.reserved));
        }
        if let Some(limit) = promotion.usage_limit {
            if promotion.times_redeemed > limit {
                wrong.push(format!(
                    "redeemed {} times, over its limit of {limit}",
                    promotion.times_redeemed
                ));
            }
        }
        if !wrong.is_empty() {
            problems.push(format!("{name}: {}", wrong.join("; ")));
        }
        let limit = promotion
            .usage_limit
            .map_or_else(|| "no limit".to_owned(), |l| format!("limit {l}"));
        summaries.push(format!(
            "{name}: {used} uses in this run's orders, {} redeemed in all ({limit})",
            promotion.times_redeemed
        ));
    }
    let summary = if codes.is_empty() {
        "no promotion codes offered".to_owned()
    } else {
        summaries.join(", ")
    };
    check(
        7,
        "promotion code uses match their redemptions and limits",
        summary,
        problems,
    )
}

/// What check 8 reads of one completed checkout: its order and the method its shopper chose.
#[derive(Debug, Clone, Copy)]
pub struct ShippedOrder<'a> {
    pub order: &'a Order,
    pub chosen: Option<&'a ChosenShipping>,
}

/// One order's shipping against what its method should charge; `Ok` with the option's name
/// (or "none") when it agrees.
fn shipping_agrees(
    shipped: &ShippedOrder<'_>,
    rates: Option<&Rates>,
) -> Result<(String, Decimal), String> {
    let order = shipped.order;
    let currency = order.total.currency.as_str();
    let charged = order
        .shipping_total
        .as_ref()
        .ok_or("no shipping_total")
        .map_err(str::to_owned)?;
    let amount = amount_in(charged, currency, "shipping_total")?;
    if amount
        .compare(Decimal::ZERO)
        .is_some_and(std::cmp::Ordering::is_lt)
    {
        return Err(format!("shipping_total {charged} is negative"));
    }
    let Some(rates) = rates else {
        return Ok(("unchecked".to_owned(), amount)); // shipping off: any rule may apply
    };
    let Some(chosen) = shipped.chosen else {
        return if amount == Decimal::ZERO {
            Ok(("none".to_owned(), amount))
        } else {
            Err(format!("no shipping method chosen, but shipping {charged}"))
        };
    };
    let mut problems = Vec::new();
    if !chosen.charged.same_as(charged) {
        problems.push(format!(
            "the cart charged {} for {:?}, but the order {charged}",
            chosen.charged, chosen.name
        ));
    }
    match rates.options.get(&chosen.option_id) {
        None => problems.push(format!(
            "option {} ({:?}) was not in zone {} before the run",
            chosen.option_id, chosen.name, rates.zone_id
        )),
        Some(rate) => {
            let subtotal = order
                .subtotal
                .as_ref()
                .ok_or("no subtotal")
                .map_err(str::to_owned)
                .and_then(|m| amount_in(m, currency, "subtotal"))?;
            match rate.price.as_ref().map(|p| shipping::quote(p, subtotal)) {
                None => problems.push(format!("option {:?} has no price in {currency}", rate.name)),
                // A shape this generator cannot price: the cart's charge is all there is.
                Some(None) => {}
                Some(Some(quoted)) if quoted != amount => problems.push(format!(
                    "option {:?} quotes {quoted} on subtotal {subtotal}, but the order \
                     charged {amount}",
                    rate.name
                )),
                Some(Some(_)) => {}
            }
        }
    }
    if problems.is_empty() {
        Ok((chosen.name.clone(), amount))
    } else {
        Err(problems.join("; "))
    }
}

/// Check 8 over the orders of completed checkouts. `rates` is the zone read before the run,
/// `None` when shoppers chose no shipping (then only sign and currency are checked).
pub fn shipping_check(orders: &[ShippedOrder<'_>], rates: Option<&Rates>) -> CheckResult {
    let mut problems = Vec::new();
    let mut by_method: BTreeMap<String, u64> = BTreeMap::new();
    let mut charged = Totals::default();
    for shipped in orders {
        match shipping_agrees(shipped, rates) {
            Ok((method, amount)) => {
                *by_method.entry(method).or_default() += 1;
                let money = Money {
                    amount: amount.to_string(),
                    currency: shipped.order.total.currency.clone(),
                };
                if let Err(problem) = charged.add(&money) {
                    problems.push(format!("order {}: {problem}", shipped.order.id));
                }
            }
            Err(problem) => problems.push(format!("order {}: {problem}", shipped.order.id)),
        }
    }
    let agreeing: u64 = by_method.values().sum();
    let methods = by_method
        .iter()
        .map(|(method, count)| format!("{method}={count}"))
        .collect::<Vec<_>>()
        .join(" ");
    let summary = match rates {
        Some(rates) => format!(
            "{agreeing} of {} orders charged what their method quotes in zone {:?} \
             ({methods}); shipping {charged}",
            orders.len(),
            rates.zone_name
        ),
        None => format!(
            "shipping off: {agreeing} of {} orders charge a non-negative shipping in their \
             currency; shipping {charged}",
            orders.len()
        ),
    };
    check(
        8,
        "each order charges what its shipping method quotes",
        summary,
        problems,
    )
}

pub async fn run(
    client: &Client,
    records: &[CheckoutRecord],
    unconfirmed: &[UnconfirmedCheckout],
    baseline: &Baseline,
    codes: &[CodeBaseline],
    rates: Option<&Rates>,
) -> InvariantReport {
    let touched: Vec<String> = records
        .iter()
        .flat_map(|r| r.skus.iter())
        .chain(unconfirmed.iter().flat_map(|u| u.skus.iter()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let settled = settle(client, records, &touched).await;

    let status_of = |r: &CheckoutRecord| {
        settled
            .views
            .get(&r.checkout_id)
            .map(|v| v.status.clone())
            .unwrap_or_default()
    };
    let completed: Vec<&CheckoutRecord> = records
        .iter()
        .filter(|r| status_of(r) == "completed")
        .collect();
    let failed: Vec<&CheckoutRecord> = records
        .iter()
        .filter(|r| status_of(r) == "failed")
        .collect();
    let still_pending = records.len() - completed.len() - failed.len();
    let settled_late = records
        .iter()
        .filter(|r| r.outcome == Outcome::TimedOut)
        .filter(|r| matches!(status_of(r).as_str(), "completed" | "failed"))
        .count();

    // Orders and payments of completed checkouts.
    let jobs: Vec<(String, Option<String>, Option<ChosenShipping>)> = completed
        .iter()
        .map(|r| {
            let order_id = settled
                .views
                .get(&r.checkout_id)
                .and_then(|v| v.order_id.clone())
                .filter(|id| !id.is_empty());
            (
                format!("checkout {} (cart {})", r.checkout_id, r.cart_id),
                order_id,
                r.shipping.clone(),
            )
        })
        .collect();
    let audits: Vec<Audit> = map_concurrent(jobs.clone(), CONCURRENCY, |job| {
        audit_completed(client.clone(), job)
    })
    .await
    .into_iter()
    .zip(jobs)
    .map(|(audit, (label, order_id, shipping))| {
        audit.unwrap_or(Audit {
            label,
            shipping,
            order_id,
            order: None,
            payment: None,
        })
    })
    .collect();

    let mut checks = Vec::with_capacity(8);

    // 1. Orders.
    let mut problems = Vec::new();
    let mut distinct_orders = BTreeSet::new();
    for audit in &audits {
        let Some(order_id) = &audit.order_id else {
            problems.push(format!("{} completed without an order_id", audit.label));
            continue;
        };
        distinct_orders.insert(order_id.clone());
        match &audit.order {
            Some(Ok(order)) if PAID_OR_LATER.contains(&order.status.as_str()) => {}
            Some(Ok(order)) => problems.push(format!(
                "order {order_id} of {} has status {:?}, expected paid or later",
                audit.label, order.status
            )),
            Some(Err(error)) => problems.push(format!(
                "order {order_id} of {} unreadable: {error}",
                audit.label
            )),
            None => problems.push(format!("order {order_id} of {} was not read", audit.label)),
        }
    }
    let with_order = audits.iter().filter(|a| a.order_id.is_some()).count();
    if distinct_orders.len() != with_order {
        problems.push(format!(
            "{} completed checkouts with an order_id name only {} distinct orders",
            with_order,
            distinct_orders.len()
        ));
    }
    checks.push(check(
        1,
        "every completed checkout has one distinct paid order",
        format!(
            "{} completed checkouts, {} distinct orders",
            completed.len(),
            distinct_orders.len()
        ),
        problems,
    ));

    // 2. Captures.
    let mut problems = Vec::new();
    let mut verified = 0_usize;
    for audit in &audits {
        let Some(Ok(order)) = &audit.order else {
            continue; // already reported by check 1
        };
        let Some(payment_id) = &order.payment_id else {
            problems.push(format!("order {} has no payment_id", order.id));
            continue;
        };
        match &audit.payment {
            Some(Ok(Some(payment))) => {
                let mut wrong = Vec::new();
                if payment.status != "captured" {
                    wrong.push(format!("status {:?}", payment.status));
                }
                if !payment.captured.same_as(&order.total) {
                    wrong.push(format!(
                        "captured {} but order total {}",
                        payment.captured, order.total
                    ));
                }
                if wrong.is_empty() {
                    verified += 1;
                } else {
                    problems.push(format!(
                        "payment {payment_id} of order {}: {}",
                        order.id,
                        wrong.join(", ")
                    ));
                }
            }
            Some(Ok(None)) => problems.push(format!(
                "payment {payment_id} of order {} does not exist",
                order.id
            )),
            Some(Err(error)) => problems.push(format!(
                "payment {payment_id} of order {} unreadable: {error}",
                order.id
            )),
            None => problems.push(format!(
                "payment {payment_id} of order {} was not read",
                order.id
            )),
        }
    }
    let orders_read = audits
        .iter()
        .filter(|a| matches!(a.order, Some(Ok(_))))
        .count();
    if orders_read < completed.len() {
        problems.push(format!(
            "{} of {} completed checkouts have no readable order to compare",
            completed.len() - orders_read,
            completed.len()
        ));
    }
    checks.push(check(
        2,
        "captured amount equals order total",
        format!(
            "{verified} of {} payments captured in full",
            completed.len()
        ),
        problems,
    ));

    // 3. No payment left standing for a failed checkout.
    let payment_ids: Vec<(String, String)> = failed
        .iter()
        .filter_map(|r| {
            let payment_id = settled
                .views
                .get(&r.checkout_id)?
                .payment_id
                .clone()
                .filter(|id| !id.is_empty())?;
            Some((r.checkout_id.clone(), payment_id))
        })
        .collect();
    let payments = map_concurrent(payment_ids.clone(), CONCURRENCY, |(_, payment_id)| {
        let client = client.clone();
        async move { client.get_payment(&payment_id).await }
    })
    .await;
    let mut problems = Vec::new();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let without_payment = failed.len() - payment_ids.len();
    for ((checkout_id, payment_id), payment) in payment_ids.iter().zip(payments) {
        match payment {
            Some(Ok(None)) => *by_status.entry("absent".to_owned()).or_default() += 1,
            Some(Ok(Some(payment))) => {
                *by_status.entry(payment.status.clone()).or_default() += 1;
                if !SETTLED_PAYMENT_FOR_FAILURE.contains(&payment.status.as_str()) {
                    problems.push(format!(
                        "failed checkout {checkout_id}: payment {payment_id} is {:?}",
                        payment.status
                    ));
                }
            }
            Some(Err(error)) => {
                *by_status.entry("unreadable".to_owned()).or_default() += 1;
                problems.push(format!(
                    "failed checkout {checkout_id}: payment {payment_id} unreadable: {error}"
                ));
            }
            None => {
                *by_status.entry("unreadable".to_owned()).or_default() += 1;
                problems.push(format!(
                    "failed checkout {checkout_id}: payment {payment_id} was not read"
                ));
            }
        }
    }
    let statuses = by_status
        .iter()
        .map(|(status, count)| format!("{status}={count}"))
        .chain((without_payment > 0).then(|| format!("none={without_payment}")))
        .collect::<Vec<_>>()
        .join(" ");
    checks.push(check(
        3,
        "no payment left authorized for a failed checkout",
        if failed.is_empty() {
            "0 failed checkouts".to_owned()
        } else {
            format!("{} failed checkouts, payments: {statuses}", failed.len())
        },
        problems,
    ));

    // 4. Stock arithmetic.
    let mut sold: HashMap<String, u64> = HashMap::new();
    let mut returned: HashMap<String, u64> = HashMap::new();
    for audit in &audits {
        if let Some(Ok(order)) = &audit.order {
            for line in &order.lines {
                *sold.entry(line.sku.clone()).or_default() += line.quantity;
            }
            for refund in order
                .refunds
                .iter()
                .filter(|r| r.status == "refunded" && r.restock)
            {
                for line in &refund.lines {
                    *returned.entry(line.sku.clone()).or_default() += line.quantity;
                }
            }
        }
    }
    let mut problems = Vec::new();
    if orders_read < completed.len() {
        problems.push(format!(
            "{} completed orders unreadable: units sold are incomplete",
            completed.len() - orders_read
        ));
    }
    // The stock read when the checkouts settled may predate the end of the refunds the
    // audits waited for (a restock lands a moment after its refund is recorded): read it
    // again until it balances, for as long as checkouts are given to settle.
    let mut stock = settled.stock;
    let until = Instant::now() + SETTLE_FOR;
    let (balanced, stock_problems) = loop {
        let (balanced, stock_problems) =
            balance_stock(&touched, baseline, &stock, &sold, &returned);
        if stock_problems.is_empty() || Instant::now() >= until {
            break (balanced, stock_problems);
        }
        tokio::time::sleep(SETTLE_POLL).await;
        stock = read_stock(client, &touched).await;
    };
    problems.extend(stock_problems);
    let mut summary = format!(
        "{balanced} of {} SKUs touched balance with nothing reserved",
        touched.len()
    );
    if !unconfirmed.is_empty() {
        summary.push_str(&format!(
            " ({} checkout POSTs with unknown outcome may skew this)",
            unconfirmed.len()
        ));
    }
    checks.push(check(4, "stock arithmetic balances", summary, problems));

    // 5. Refunds: what the orders say went back is what their payments gave back.
    let mut problems = Vec::new();
    let mut refunds = 0_usize;
    let mut refunded_orders = 0_usize;
    for audit in &audits {
        let Some(Ok(order)) = &audit.order else {
            continue; // already reported by check 1
        };
        if order.refunds.is_empty() {
            continue;
        }
        refunded_orders += 1;
        refunds += order.refunds.len();
        let unsettled = order
            .refunds
            .iter()
            .filter(|r| r.status == "requested")
            .count();
        if unsettled > 0 {
            problems.push(format!(
                "order {}: {unsettled} refunds still under way after {} s",
                order.id,
                SETTLE_FOR.as_secs()
            ));
            continue;
        }
        let Some(Ok(Some(payment))) = &audit.payment else {
            continue; // already reported by check 2
        };
        if !payment.refunded.same_as(&order.refunded_total) {
            problems.push(format!(
                "order {}: refunded {} but its payment refunded {}",
                order.id, order.refunded_total, payment.refunded
            ));
        }
        if !payment.captured.covers(&payment.refunded) {
            problems.push(format!(
                "payment {}: refunded {} of {} captured",
                payment.id, payment.refunded, payment.captured
            ));
        }
    }
    checks.push(check(
        5,
        "captured - refunded agrees with the payments ledger",
        format!("{refunds} refunds on {refunded_orders} orders"),
        problems,
    ));

    // 6. Order arithmetic and captured sums.
    let paid: Vec<PaidOrder<'_>> = audits
        .iter()
        .filter_map(|audit| match &audit.order {
            Some(Ok(order)) => Some(PaidOrder {
                order,
                captured: match &audit.payment {
                    Some(Ok(Some(payment))) => Some(&payment.captured),
                    _ => None,
                },
            }),
            _ => None,
        })
        .collect();
    checks.push(order_totals_check(&paid));

    // 7. Promotion codes.
    let codes_after = read_codes_settled(client, codes).await;
    let orders: Vec<&Order> = paid.iter().map(|p| p.order).collect();
    let mut codes_check = promotion_codes_check(
        &codes_after,
        &orders,
        completed.len().saturating_sub(orders_read),
    );
    if !codes.is_empty() && !unconfirmed.is_empty() {
        codes_check.summary.push_str(&format!(
            " ({} checkout POSTs with unknown outcome may skew this)",
            unconfirmed.len()
        ));
    }
    checks.push(codes_check);

    // 8. Shipping charged.
    let shipped: Vec<ShippedOrder<'_>> = audits
        .iter()
        .filter_map(|audit| match &audit.order {
            Some(Ok(order)) => Some(ShippedOrder {
                order,
                chosen: audit.shipping.as_ref(),
            }),
            _ => None,
        })
        .collect();
    checks.push(shipping_check(&shipped, rates));

    InvariantReport {
        checks,
        audited: records.len(),
        completed: completed.len(),
        failed: failed.len(),
        still_pending,
        settled_late,
        unconfirmed: unconfirmed
            .iter()
            .map(|u| format!("cart {}: {}", u.cart_id, u.error))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::OrderLine;

    fn eur(amount: &str) -> Money {
        Money {
            amount: amount.to_owned(),
            currency: "EUR".to_owned(),
        }
    }

    /// An order of two lines whose discounts are given, with a code when there is a discount.
    fn order(
        id: &str,
        (subtotal, discount, shipping, total): (&str, &str, &str, &str),
        line_discounts: [&str; 2],
    ) -> Order {
        Order {
            id: id.to_owned(),
            status: "paid".to_owned(),
            subtotal: Some(eur(subtotal)),
            discount_total: Some(eur(discount)),
            shipping_total: Some(eur(shipping)),
            total: eur(total),
            promotion_code: (discount != "0.00").then(|| "LOAD10".to_owned()),
            lines: line_discounts
                .iter()
                .map(|d| OrderLine {
                    sku: "A".to_owned(),
                    quantity: 1,
                    discount: Some(eur(d)),
                    tax: None,
                })
                .collect(),
            ..Order::default()
        }
    }

    /// An order from a server without promotions: no discount fields at all.
    fn order_without_discounts(id: &str) -> Order {
        Order {
            id: id.to_owned(),
            status: "paid".to_owned(),
            subtotal: Some(eur("15.00")),
            shipping_total: Some(eur("4.90")),
            total: eur("19.90"),
            lines: vec![OrderLine {
                sku: "B".to_owned(),
                quantity: 1,
                discount: None,
                tax: None,
            }],
            ..Order::default()
        }
    }

    /// 15.00 with 2.85 of tax on the line and 0.93 on 4.90 of shipping, on top or included.
    fn taxed_order(id: &str, included: bool, line_tax: &str) -> Order {
        let mut order = order_without_discounts(id);
        order.lines[0].tax = Some(eur(line_tax));
        order.shipping_tax = Some(eur("0.93"));
        order.tax_total = Some(eur("3.78"));
        order.taxes_included = included;
        if !included {
            order.total = eur("23.68");
        }
        order
    }

    #[test]
    fn an_order_adds_up_with_its_tax_on_top_or_included_and_its_parts_sum_to_it() {
        assert_eq!(order_adds_up(&taxed_order("on-top", false, "2.85")), Ok(()));
        assert_eq!(order_adds_up(&taxed_order("inside", true, "2.85")), Ok(()));
        let mut forgot_tax = taxed_order("forgot", false, "2.85");
        forgot_tax.total = eur("19.90");
        assert!(order_adds_up(&forgot_tax)
            .unwrap_err()
            .contains("tax on top 3.78"));
        let parts_off = order_adds_up(&taxed_order("parts", true, "2.84")).unwrap_err();
        assert!(parts_off.contains("sum to 3.77"), "{parts_off}");
    }

    fn totals_of(orders: &[(Order, Money)]) -> CheckResult {
        let paid: Vec<PaidOrder<'_>> = orders
            .iter()
            .map(|(order, captured)| PaidOrder {
                order,
                captured: Some(captured),
            })
            .collect();
        order_totals_check(&paid)
    }

    #[test]
    fn orders_that_add_up_and_are_captured_in_full_pass_with_their_sums() {
        let result = totals_of(&[
            (
                order("o1", ("20.00", "2.00", "4.90", "22.90"), ["1.50", "0.50"]),
                eur("22.90"),
            ),
            (order_without_discounts("o2"), eur("19.9")),
        ]);
        assert!(result.passed, "{:?}", result.problems);
        assert_eq!(
            result.summary,
            "2 of 2 orders add up; subtotal 35.00 EUR - discount 2.00 EUR + shipping 9.80 EUR \
             + tax on top = total 42.80 EUR (tax 0.00 EUR); captured 42.80 EUR"
        );
    }

    #[test]
    fn a_total_a_cent_off_its_parts_is_caught() {
        let result = totals_of(&[(
            order("o1", ("20.00", "2.00", "4.90", "22.91"), ["1.50", "0.50"]),
            eur("22.91"),
        )]);
        assert!(!result.passed);
        assert_eq!(
            result.problems,
            ["order o1: subtotal 20.00 - discount 2.00 + shipping 4.90 + tax on top 0.00 = 22.90, but total 22.91"]
        );
    }

    #[test]
    fn line_discounts_a_cent_short_of_the_order_discount_are_caught() {
        let result = totals_of(&[(
            order("o1", ("20.00", "2.00", "4.90", "22.90"), ["1.50", "0.49"]),
            eur("22.90"),
        )]);
        assert_eq!(
            result.problems,
            ["order o1: line discounts sum to 1.99, but discount_total 2.00"]
        );
    }

    #[test]
    fn captures_summing_a_cent_short_of_the_totals_are_caught() {
        let result = totals_of(&[
            (
                order("o1", ("20.00", "2.00", "4.90", "22.90"), ["1.50", "0.50"]),
                eur("22.89"),
            ),
            (order_without_discounts("o2"), eur("19.90")),
        ]);
        assert_eq!(
            result.problems,
            ["orders total 42.80 EUR, but payments captured 42.79 EUR"]
        );
    }

    #[test]
    fn an_order_without_a_subtotal_is_reported() {
        let mut incomplete = order_without_discounts("o2");
        incomplete.subtotal = None;
        let result = totals_of(&[(incomplete, eur("19.90"))]);
        assert_eq!(result.problems, ["order o2: no subtotal"]);
    }

    /// The run's zone as read before it: o1 Standard (4.90, free from 50.00), o2 Express
    /// (9.90), o3 Economy (banded), o4 without a EUR price.
    fn rates() -> Rates {
        let mut zone = crate::client::ShippingZone {
            id: "z1".to_owned(),
            name: "Loadgen Germany".to_owned(),
            countries: vec!["DE".to_owned()],
            options: crate::shipping::options_to_create(),
        };
        zone.options.push(crate::client::ShippingOption {
            id: String::new(),
            name: "Dollars".to_owned(),
            prices: Vec::new(),
        });
        for (n, option) in zone.options.iter_mut().enumerate() {
            option.id = format!("o{}", n + 1);
        }
        Rates::of(&zone, "EUR")
    }

    fn chose(option_id: &str, name: &str, charged: &str) -> ChosenShipping {
        ChosenShipping {
            option_id: option_id.to_owned(),
            name: name.to_owned(),
            charged: eur(charged),
        }
    }

    /// An order of `subtotal` shipping for `shipping`, without a discount.
    fn shipping_for(id: &str, subtotal: &str, shipping: &str) -> Order {
        let total = Decimal::parse(subtotal)
            .unwrap()
            .checked_add(Decimal::parse(shipping).unwrap())
            .unwrap();
        order(
            id,
            (subtotal, "0.00", shipping, &total.to_string()),
            ["0", "0"],
        )
    }

    fn shipping_of(
        orders: &[(Order, Option<ChosenShipping>)],
        rates: Option<&Rates>,
    ) -> CheckResult {
        let shipped: Vec<ShippedOrder<'_>> = orders
            .iter()
            .map(|(order, chosen)| ShippedOrder {
                order,
                chosen: chosen.as_ref(),
            })
            .collect();
        shipping_check(&shipped, rates)
    }

    #[test]
    fn orders_charging_what_their_method_quotes_pass_with_the_methods_counted() {
        let rates = rates();
        let result = shipping_of(
            &[
                (
                    shipping_for("o1", "20.00", "4.90"),
                    Some(chose("o1", "Standard", "4.90")),
                ),
                (
                    shipping_for("o2", "50.00", "0.00"),
                    Some(chose("o1", "Standard", "0")),
                ),
                (
                    shipping_for("o3", "20.00", "9.90"),
                    Some(chose("o2", "Express", "9.9")),
                ),
                (
                    shipping_for("o4", "19.99", "3.90"),
                    Some(chose("o3", "Economy", "3.90")),
                ),
                (
                    shipping_for("o5", "60.00", "1.90"),
                    Some(chose("o3", "Economy", "1.90")),
                ),
                (shipping_for("o6", "10.00", "0.00"), None),
            ],
            Some(&rates),
        );
        assert!(result.passed, "{:?}", result.problems);
        assert_eq!(
            result.summary,
            "6 of 6 orders charged what their method quotes in zone \"Loadgen Germany\" \
             (Economy=2 Express=1 Standard=2 none=1); shipping 20.60 EUR"
        );
    }

    #[test]
    fn an_order_charging_other_than_its_method_quotes_is_caught() {
        let rates = rates();
        let result = shipping_of(
            &[
                // Standard below its threshold, charged free by both cart and order.
                (
                    shipping_for("o1", "49.99", "0.00"),
                    Some(chose("o1", "Standard", "0.00")),
                ),
                // The cart's charge and the order's disagree.
                (
                    shipping_for("o2", "20.00", "9.91"),
                    Some(chose("o2", "Express", "9.90")),
                ),
                // Banded: 2.90 from 20.00.
                (
                    shipping_for("o3", "20.00", "3.90"),
                    Some(chose("o3", "Economy", "3.90")),
                ),
            ],
            Some(&rates),
        );
        assert_eq!(
            result.problems,
            [
                "order o1: option \"Standard\" quotes 4.90 on subtotal 49.99, but the order charged 0.00",
                "order o2: the cart charged 9.90 EUR for \"Express\", but the order 9.91 EUR; \
                 option \"Express\" quotes 9.90 on subtotal 20.00, but the order charged 9.91",
                "order o3: option \"Economy\" quotes 2.90 on subtotal 20.00, but the order charged 3.90",
            ]
        );
    }

    #[test]
    fn shipping_without_a_method_an_unknown_option_or_a_bad_amount_is_caught() {
        let rates = rates();
        let mut in_dollars = shipping_for("o4", "20.00", "4.90");
        in_dollars.shipping_total = Some(Money {
            amount: "4.90".to_owned(),
            currency: "USD".to_owned(),
        });
        let mut negative = shipping_for("o5", "20.00", "0.00");
        negative.shipping_total = Some(eur("-1.00"));
        let orders = [
            (shipping_for("o1", "20.00", "4.90"), None),
            (
                shipping_for("o2", "20.00", "4.90"),
                Some(chose("o9", "Other", "4.90")),
            ),
            (
                shipping_for("o3", "20.00", "0.00"),
                Some(chose("o4", "Dollars", "0.00")),
            ),
            (in_dollars, Some(chose("o1", "Standard", "4.90"))),
            (negative.clone(), None),
        ];
        let result = shipping_of(&orders, Some(&rates));
        assert_eq!(
            result.problems,
            [
                "order o1: no shipping method chosen, but shipping 4.90 EUR",
                "order o2: option o9 (\"Other\") was not in zone z1 before the run",
                "order o3: option \"Dollars\" has no price in EUR",
                "order o4: shipping_total 4.90 USD is not in the total's currency EUR",
                "order o5: shipping_total -1.00 EUR is negative",
            ]
        );
        // With shipping off, only the sign and the currency are judged.
        let off = shipping_of(&orders, None);
        assert_eq!(
            off.problems,
            [
                "order o4: shipping_total 4.90 USD is not in the total's currency EUR",
                "order o5: shipping_total -1.00 EUR is negative",
            ]
        );
        assert!(
            off.summary.starts_with("shipping off: 3 of 5 orders"),
            "{}",
            off.summary
        );
    }

    fn code(name: &str, before: u64, after: Promotion) -> CodeAfter {
        CodeAfter {
            baseline: CodeBaseline {
                code: name.to_owned(),
                redeemed_before: before,
            },
            after: Ok(after),
        }
    }

    fn promotion(limit: Option<u64>, redeemed: u64, reserved: u64) -> Promotion {
        Promotion {
            code: String::new(),
            usage_limit: limit,
            times_redeemed: redeemed,
            reserved,
            status: "active".to_owned(),
        }
    }

    fn carrying(id: &str, code: Option<&str>) -> Order {
        Order {
            id: id.to_owned(),
            promotion_code: code.map(str::to_owned),
            ..Order::default()
        }
    }

    #[test]
    fn uses_in_orders_equal_the_rise_of_times_redeemed_since_before_the_run() {
        let orders = [
            carrying("o1", Some("load10")),
            carrying("o2", Some("LOAD10")),
            carrying("o3", None),
            carrying("o4", Some("LOAD5")),
        ];
        let orders: Vec<&Order> = orders.iter().collect();
        let codes = [
            code("LOAD10", 5, promotion(Some(10), 7, 0)),
            code("LOAD5", 0, promotion(None, 1, 0)),
        ];
        let result = promotion_codes_check(&codes, &orders, 0);
        assert!(result.passed, "{:?}", result.problems);
        assert_eq!(
            result.summary,
            "LOAD10: 2 uses in this run's orders, 7 redeemed in all (limit 10), \
             LOAD5: 1 uses in this run's orders, 1 redeemed in all (no limit)"
        );
    }

    #[test]
    fn a_code_redeemed_over_its_limit_is_reported() {
        let orders = [
            carrying("o1", Some("LOAD10")),
            carrying("o2", Some("LOAD10")),
        ];
        let orders: Vec<&Order> = orders.iter().collect();
        let codes = [code("LOAD10", 9, promotion(Some(10), 11, 0))];
        let result = promotion_codes_check(&codes, &orders, 0);
        assert_eq!(
            result.problems,
            ["LOAD10: redeemed 11 times, over its limit of 10"]
        );
    }

    #[test]
    fn redemptions_without_orders_to_show_for_them_are_reported() {
        let orders = [carrying("o1", Some("LOAD10"))];
        let orders: Vec<&Order> = orders.iter().collect();
        let codes = [code("LOAD10", 0, promotion(Some(10), 2, 0))];
        let result = promotion_codes_check(&codes, &orders, 0);
        assert_eq!(
            result.problems,
            ["LOAD10: 1 completed orders carry it, but times_redeemed rose by 2 (0 -> 2)"]
        );
    }

    #[test]
    fn a_use_left_reserved_after_settling_is_reported() {
        let codes = [code("LOAD10", 0, promotion(Some(10), 0, 1))];
        let result = promotion_codes_check(&codes, &[], 0);
        assert_eq!(result.problems, ["LOAD10: 1 uses still reserved"]);
    }

    #[test]
    fn an_order_carrying_a_code_the_run_never_offered_is_reported() {
        let orders = [carrying("o1", Some("OTHER"))];
        let orders: Vec<&Order> = orders.iter().collect();
        let result = promotion_codes_check(&[], &orders, 0);
        assert_eq!(
            result.problems,
            ["order o1 carries code \"OTHER\", which the run never offered"]
        );
    }

    #[tokio::test]
    async fn map_concurrent_keeps_order_and_bounds() {
        let items: Vec<u64> = (0..100).collect();
        let results = map_concurrent(items, 7, |i| async move {
            tokio::time::sleep(Duration::from_micros(100 - i)).await;
            i * 2
        })
        .await;
        let doubled: Vec<u64> = results.into_iter().map(Option::unwrap).collect();
        assert_eq!(doubled, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    }
}
