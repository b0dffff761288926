//! The invariant check, run after the load over every checkout the run started:
//!
//! 1. every completed checkout has an order, the order is paid (or later), and there are
//!    as many distinct orders as completed checkouts;
//! 2. each completed checkout's payment is captured for exactly the order total;
//! 3. no failed checkout left a payment other than voided or declined;
//! 4. per SKU touched, stock before (+ restock) − stock after == units in completed
//!    orders, and nothing is left reserved.
//!
//! It assumes nothing else changed the shop during the run.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::client::{ApiError, Checkout, Client, Order, Payment, StockItem};
use crate::shopper::{CheckoutRecord, Outcome, UnconfirmedCheckout};

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
    order_id: Option<String>,
    order: Option<Result<Order, ApiError>>,
    payment: Option<Result<Option<Payment>, ApiError>>,
}

/// For a completed checkout: its order and the order's payment.
async fn audit_completed(client: Client, label: String, order_id: Option<String>) -> Audit {
    let mut audit = Audit {
        label,
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

fn check(number: u8, name: &'static str, summary: String, problems: Vec<String>) -> CheckResult {
    CheckResult {
        number,
        name,
        passed: problems.is_empty(),
        summary,
        problems,
    }
}

pub async fn run(
    client: &Client,
    records: &[CheckoutRecord],
    unconfirmed: &[UnconfirmedCheckout],
    baseline: &Baseline,
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
    let jobs: Vec<(String, Option<String>)> = completed
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
            )
        })
        .collect();
    let audits: Vec<Audit> = map_concurrent(jobs.clone(), CONCURRENCY, |(label, order_id)| {
        audit_completed(client.clone(), label, order_id)
    })
    .await
    .into_iter()
    .zip(jobs)
    .map(|(audit, (label, order_id))| {
        audit.unwrap_or(Audit {
            label,
            order_id,
            order: None,
            payment: None,
        })
    })
    .collect();

    let mut checks = Vec::with_capacity(5);

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
    let mut balanced = 0_usize;
    for sku in &touched {
        let Some(&before) = baseline.on_hand.get(sku) else {
            problems.push(format!("{sku}: no stock level from before the run"));
            continue;
        };
        let after = match settled.stock.get(sku) {
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
