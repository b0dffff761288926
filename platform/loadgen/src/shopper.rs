//! One simulated shopper: browse, pick in-stock variants, fill a cart, give it a shipping
//! address and choose one of the shipping options offered, sometimes apply a promotion code,
//! check out, poll the checkout until it settles. Every request is timed; every failure is
//! counted and the shopper carries on.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{
    Address, ApiError, Checkout, CheckoutRequest, Client, ProductList, ShippingQuote,
};
use crate::money::Money;
use crate::prng::XorShift64;
use crate::stats::{Metric, Recorder};

pub const CURRENCY: &str = "EUR";
pub const PRODUCTS_PAGE: u32 = 100;
const POLL_EVERY: Duration = Duration::from_millis(5);
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// A pause after a failed browse or cart creation, so that a down server is not spun on.
const ERROR_PAUSE: Duration = Duration::from_millis(20);
/// A pause when nothing is in stock.
const EMPTY_SHELF_PAUSE: Duration = Duration::from_millis(100);
const CHECKOUT_POST_ATTEMPTS: u32 = 3;
/// The failure code of a checkout whose promotion code ran out of uses meanwhile: a normal
/// outcome, like `out_of_stock`.
pub const PROMOTION_REFUSED: &str = "promotion_refused";

/// Live counters for the progress line; the report uses the recorders.
#[derive(Debug, Default)]
pub struct Progress {
    pub started: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub timed_out: AtomicU64,
    pub errors: AtomicU64,
}

/// What every shopper shares.
#[derive(Debug)]
pub struct Shared {
    pub token: String,
    pub seed: u64,
    /// Requests started before this are warm-up and not measured.
    pub measure_from: Instant,
    /// No new cart or checkout is started after this.
    pub deadline: Instant,
    /// Stop after this many checkouts were started (over the whole run, warm-up included).
    pub checkout_limit: Option<u64>,
    pub checkouts_claimed: AtomicU64,
    /// Set by Ctrl-C or when the checkout limit is reached.
    pub stop: AtomicBool,
    pub progress: Progress,
    /// With `--rate`: when shoppers may start their next round.
    pub pacer: Option<Pacer>,
    /// Percent of completed checkouts followed by a refund of one unit.
    pub refund_percent: u8,
    /// How long one status request may long-poll; 0: ask every [`POLL_EVERY`] instead.
    pub checkout_wait_secs: u64,
    /// The promotion codes shoppers may apply (none: promotions are off).
    pub promotion_codes: Vec<String>,
    /// Percent of checkouts whose shopper first applies one of them, picked at random.
    pub promotion_percent: u8,
    /// Shoppers set their cart's shipping address and choose a shipping method; off, they
    /// send the address with the checkout instead (the flow before shipping existed).
    pub shipping: bool,
}

/// Spaces the shoppers' rounds (browse to checkout) evenly at a fixed rate, so that two runs
/// compare the cost of the same load rather than of whatever load each could sustain. A round
/// that could not start on time starts at once, and the schedule goes on from there: no
/// burst makes up for lost rounds.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: std::sync::Mutex<Instant>,
}

impl Pacer {
    /// `per_second` rounds a second, the first one now.
    pub fn new(per_second: f64) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(per_second.recip()),
            next: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// Waits for this shopper's next slot.
    async fn wait(&self) {
        let slot = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

impl Shared {
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// Claims a checkout slot; false (and stops everyone) once the limit is reached.
    fn claim_checkout(&self) -> bool {
        match self.checkout_limit {
            None => true,
            Some(limit) => {
                let claimed = self.checkouts_claimed.fetch_add(1, Ordering::SeqCst);
                if claimed >= limit {
                    self.stop.store(true, Ordering::SeqCst);
                    false
                } else {
                    true
                }
            }
        }
    }
}

/// How a checkout ended as far as the shopper saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Failed(String),
    /// Still not completed or failed 30 s after the POST.
    TimedOut,
}

/// A checkout the server accepted; the invariant check audits every one.
#[derive(Debug, Clone)]
pub struct CheckoutRecord {
    pub checkout_id: String,
    pub cart_id: String,
    pub skus: Vec<String>,
    pub outcome: Outcome,
    /// The last checkout body seen (the terminal one unless timed out).
    pub last_seen: Option<Checkout>,
    /// The shipping method the cart was given, `None` without one.
    pub shipping: Option<ChosenShipping>,
}

/// A shipping method a shopper chose, and what the cart then charged for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenShipping {
    pub option_id: String,
    pub name: String,
    /// The cart's `shipping_total` once the method was chosen.
    pub charged: Money,
}

/// A checkout POST that failed in a way that leaves its fate unknown (transport errors or
/// 5xx on every attempt): the server may or may not have started it.
#[derive(Debug, Clone)]
pub struct UnconfirmedCheckout {
    pub cart_id: String,
    pub skus: Vec<String>,
    pub error: String,
}

#[derive(Debug)]
pub struct ShopperResult {
    pub recorder: Recorder,
    pub checkouts: Vec<CheckoutRecord>,
    pub unconfirmed: Vec<UnconfirmedCheckout>,
}

struct Shopper {
    index: u64,
    shared: Arc<Shared>,
    /// The instance this shopper shops at (one of several base URLs, round robin).
    client: Client,
    rng: XorShift64,
    recorder: Recorder,
    checkouts: Vec<CheckoutRecord>,
    unconfirmed: Vec<UnconfirmedCheckout>,
    iteration: u64,
}

pub async fn run(index: u64, shared: Arc<Shared>, client: Client) -> ShopperResult {
    let mut shopper = Shopper {
        index,
        client,
        rng: XorShift64::for_shopper(shared.seed, index),
        recorder: Recorder::new(shared.measure_from),
        checkouts: Vec::new(),
        unconfirmed: Vec::new(),
        iteration: 0,
        shared,
    };
    while !shopper.shared.should_stop() {
        if let Some(pacer) = &shopper.shared.pacer {
            pacer.wait().await;
            if shopper.shared.should_stop() {
                break;
            }
        }
        shopper.iteration += 1;
        shopper.shop_once().await;
    }
    ShopperResult {
        recorder: shopper.recorder,
        checkouts: shopper.checkouts,
        unconfirmed: shopper.unconfirmed,
    }
}

/// SKUs worth putting in a cart: in stock, priced in the cart's currency, each once.
pub fn candidate_skus(products: &ProductList) -> Vec<String> {
    let mut seen = HashSet::new();
    products
        .data
        .iter()
        .flat_map(|product| product.variants.iter())
        .filter(|v| v.in_stock && v.available > 0 && !v.sku.is_empty())
        .filter(|v| {
            v.prices
                .iter()
                .any(|p| p.currency.eq_ignore_ascii_case(CURRENCY))
        })
        .filter(|v| seen.insert(v.sku.clone()))
        .map(|v| v.sku.clone())
        .collect()
}

impl Shopper {
    fn error(&mut self, started: Instant, endpoint: &str, error: &ApiError) {
        self.recorder
            .http_error(started, endpoint, &error.status_key(), error.code());
        self.shared.progress.errors.fetch_add(1, Ordering::Relaxed);
    }

    async fn shop_once(&mut self) {
        // Browse.
        let started = Instant::now();
        let products = self.client.list_products(PRODUCTS_PAGE).await;
        self.recorder.time(Metric::Browse, started);
        let products = match products {
            Ok(products) => products,
            Err(error) => {
                self.error(started, "browse", &error);
                tokio::time::sleep(ERROR_PAUSE).await;
                return;
            }
        };
        let candidates = candidate_skus(&products);
        if candidates.is_empty() {
            if self.recorder.measuring(started) {
                self.recorder.nothing_in_stock += 1;
            }
            tokio::time::sleep(EMPTY_SHELF_PAUSE).await;
            return;
        }
        let wanted = usize::try_from(self.rng.between(1, 3)).unwrap_or(1);
        let picks: Vec<String> = self
            .rng
            .distinct_indices(candidates.len(), wanted)
            .into_iter()
            .filter_map(|i| candidates.get(i).cloned())
            .collect();
        if self.shared.should_stop() {
            return;
        }

        // Cart.
        let started = Instant::now();
        let cart = self.client.create_cart(CURRENCY).await;
        self.recorder.time(Metric::CreateCart, started);
        let cart_id = match cart {
            Ok(id) => id,
            Err(error) => {
                self.error(started, "create_cart", &error);
                tokio::time::sleep(ERROR_PAUSE).await;
                return;
            }
        };
        let mut in_cart = Vec::with_capacity(picks.len());
        for sku in picks {
            let started = Instant::now();
            let added = self.client.add_item(&cart_id, &sku, 1).await;
            self.recorder.time(Metric::AddItem, started);
            match added {
                Ok(()) => in_cart.push(sku),
                Err(error) => self.error(started, "add_item", &error),
            }
        }
        if in_cart.is_empty() || self.shared.should_stop() {
            return; // the cart is abandoned
        }
        let shipping = if self.shared.shipping {
            match self.choose_shipping(&cart_id).await {
                Some(chosen) => chosen,
                None => return, // the cart is abandoned
            }
        } else {
            None
        };
        if self.shared.should_stop() || !self.shared.claim_checkout() {
            return; // the cart is abandoned
        }
        if let Some(code) = self.pick_code() {
            self.apply_code(&cart_id, &code).await;
        }

        self.checkout(cart_id, in_cart, shipping).await;
    }

    /// Where this shopper ships.
    fn address(&self) -> Address {
        Address {
            name: format!("Load Shopper {}", self.index),
            line1: "Teststrasse 1".to_owned(),
            city: "Berlin".to_owned(),
            postal_code: "10115".to_owned(),
            country: crate::shipping::COUNTRY.to_owned(),
        }
    }

    /// Sets the cart's address, lists the options offered there and chooses one at random:
    /// `Some(None)` when none is offered (the cart ships without a method), `None` when a
    /// request failed (counted; the shopper abandons the cart).
    async fn choose_shipping(&mut self, cart_id: &str) -> Option<Option<ChosenShipping>> {
        let started = Instant::now();
        let set = self
            .client
            .set_shipping_address(cart_id, &self.address())
            .await;
        self.recorder.time(Metric::ShippingAddress, started);
        if let Err(error) = set {
            self.error(started, "shipping_address", &error);
            return None;
        }

        let started = Instant::now();
        let offered = self.client.shipping_options(cart_id).await;
        self.recorder.time(Metric::ShippingOptions, started);
        let offered = match offered {
            Ok(offered) => offered.data,
            Err(error) => {
                self.error(started, "shipping_options", &error);
                return None;
            }
        };
        let Some(pick) = self.pick_shipping(&offered) else {
            if self.recorder.measuring(started) {
                self.recorder.shipping_unoffered += 1;
            }
            return Some(None);
        };

        let started = Instant::now();
        let chosen = self
            .client
            .choose_shipping_method(cart_id, &pick.option_id)
            .await;
        self.recorder.time(Metric::ShippingMethod, started);
        match chosen {
            Ok(cart) => {
                if self.recorder.measuring(started) {
                    *self
                        .recorder
                        .shipping_chosen
                        .entry(pick.name.clone())
                        .or_default() += 1;
                }
                Some(Some(ChosenShipping {
                    option_id: pick.option_id,
                    name: pick.name,
                    charged: cart.shipping_total,
                }))
            }
            Err(error) => {
                self.error(started, "shipping_method", &error);
                None
            }
        }
    }

    /// One of the options `offered`, drawn at random; `None` (and nothing drawn) when none
    /// is. The draw is over the options ordered by name, so that the same seed picks the
    /// same option whatever order or ids the server gives them.
    fn pick_shipping(&mut self, offered: &[ShippingQuote]) -> Option<ShippingQuote> {
        if offered.is_empty() {
            return None;
        }
        let mut options: Vec<&ShippingQuote> = offered.iter().collect();
        options.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| a.option_id.cmp(&b.option_id))
        });
        let picked = self.rng.index(options.len());
        options.get(picked).map(|option| (*option).clone())
    }

    /// A code to apply to this checkout's cart, if this one gets one. Nothing is drawn when
    /// promotions are off, so that such runs keep the choices they made before codes existed.
    fn pick_code(&mut self) -> Option<String> {
        let codes = &self.shared.promotion_codes;
        if codes.is_empty() || self.rng.below(100) >= u64::from(self.shared.promotion_percent) {
            return None;
        }
        let picked = self.rng.index(codes.len());
        codes.get(picked).cloned()
    }

    /// Applies `code`; a refusal (422, e.g. the code is used up) means checking out without
    /// one, as a shopper would, and is counted apart from errors.
    async fn apply_code(&mut self, cart_id: &str, code: &str) {
        let started = Instant::now();
        let applied = self.client.apply_promotion(cart_id, code).await;
        self.recorder.time(Metric::ApplyPromotion, started);
        let measured = self.recorder.measuring(started);
        match applied {
            Ok(_) => {
                if measured {
                    self.recorder.promotions_applied += 1;
                }
            }
            Err(ApiError::Status { status: 422, code }) => {
                if measured {
                    let why = if code.is_empty() {
                        "unknown".to_owned()
                    } else {
                        code
                    };
                    *self.recorder.promotions_refused.entry(why).or_default() += 1;
                }
            }
            Err(error) => self.error(started, "apply_promotion", &error),
        }
    }

    /// With shipping on, the cart has its address and the checkout ships there: the request
    /// leaves it out rather than repeat it. Off, the request carries it.
    fn checkout_request(&self) -> CheckoutRequest {
        CheckoutRequest {
            email: format!("loadgen-{}-{}@example.com", self.index, self.iteration),
            shipping_address: (!self.shared.shipping).then(|| self.address()),
            payment_method_token: self.shared.token.clone(),
        }
    }

    /// Checks the cart out. With shipping on, the cart has its address and the checkout
    /// ships there (the request leaves it out); off, the request carries it.
    async fn checkout(
        &mut self,
        cart_id: String,
        skus: Vec<String>,
        shipping: Option<ChosenShipping>,
    ) {
        let request = self.checkout_request();
        let key = uuid::Uuid::new_v4().to_string();
        let first_sent = Instant::now();
        let measured = self.recorder.measuring(first_sent);
        self.shared.progress.started.fetch_add(1, Ordering::Relaxed);
        if measured {
            self.recorder.checkouts_started += 1;
        }

        // POST, retried with the same key while the outcome is unknown.
        let mut accepted = None;
        let mut last_error = None;
        for attempt in 0..CHECKOUT_POST_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
            let started = Instant::now();
            let result = self.client.start_checkout(&cart_id, &key, &request).await;
            self.recorder.time(Metric::CheckoutPost, started);
            match result {
                Ok(checkout) => {
                    accepted = Some(checkout);
                    break;
                }
                Err(error) => {
                    self.error(started, "checkout_post", &error);
                    let retry = error.is_retryable();
                    if let Some(wait) = error.retry_after() {
                        tokio::time::sleep(wait).await;
                    }
                    last_error = Some(error);
                    if !retry {
                        break;
                    }
                }
            }
        }
        let Some(mut checkout) = accepted else {
            // A request refused for its rate did nothing; only a lost answer leaves the
            // outcome unknown.
            let unknown = last_error.filter(|e| e.is_retryable() && e.retry_after().is_none());
            if let Some(error) = unknown {
                self.unconfirmed.push(UnconfirmedCheckout {
                    cart_id,
                    skus,
                    error: error.to_string(),
                });
            }
            return;
        };

        // Poll until it settles.
        let checkout_id = checkout.id.clone();
        while !checkout.is_settled_with_details() && first_sent.elapsed() < CHECKOUT_TIMEOUT {
            let wait = self.shared.checkout_wait_secs;
            if wait == 0 {
                tokio::time::sleep(POLL_EVERY).await;
            }
            let started = Instant::now();
            let polled = self.client.get_checkout(&checkout_id, wait).await;
            self.recorder.time(Metric::CheckoutPoll, started);
            match polled {
                Ok(seen) => checkout = seen,
                Err(error) => self.error(started, "checkout_poll", &error),
            }
        }

        let outcome = match checkout.status.as_str() {
            "completed" => {
                self.recorder.time(Metric::CheckoutToCompleted, first_sent);
                self.recorder.completions.push(Instant::now());
                self.shared
                    .progress
                    .completed
                    .fetch_add(1, Ordering::Relaxed);
                if measured {
                    self.recorder.completed += 1;
                }
                Outcome::Completed
            }
            "failed" => {
                let code = checkout.failure_code();
                self.shared.progress.failed.fetch_add(1, Ordering::Relaxed);
                if measured {
                    *self.recorder.failed.entry(code.clone()).or_default() += 1;
                }
                Outcome::Failed(code)
            }
            _ => {
                self.shared
                    .progress
                    .timed_out
                    .fetch_add(1, Ordering::Relaxed);
                if measured {
                    self.recorder.timed_out += 1;
                }
                Outcome::TimedOut
            }
        };
        // Drawn only when refunds are asked for, so that runs without them keep their choices.
        let refund = self.shared.refund_percent > 0
            && outcome == Outcome::Completed
            && self.rng.below(100) < u64::from(self.shared.refund_percent);
        if refund {
            if let (Some(order_id), Some(sku)) = (checkout.order_id.clone(), skus.first()) {
                self.refund_one(&order_id, sku).await;
            }
        }
        self.checkouts.push(CheckoutRecord {
            checkout_id,
            cart_id,
            skus,
            outcome,
            last_seen: Some(checkout),
            shipping,
        });
    }

    /// Asks for one unit of `sku` back, retried under the same key while the outcome is
    /// unknown. The audit reads what came of it from the order.
    async fn refund_one(&mut self, order_id: &str, sku: &str) {
        let key = uuid::Uuid::new_v4().to_string();
        for attempt in 0..CHECKOUT_POST_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
            }
            let started = Instant::now();
            let result = self.client.request_refund(order_id, &key, sku, 1).await;
            self.recorder.time(Metric::RefundPost, started);
            match result {
                Ok(()) => return,
                Err(error) => {
                    self.error(started, "refund_post", &error);
                    if !error.is_retryable() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Product, Variant};

    fn variant(sku: &str, currency: &str, available: u64) -> Variant {
        Variant {
            sku: sku.to_owned(),
            prices: vec![Money {
                amount: "1.00".to_owned(),
                currency: currency.to_owned(),
            }],
            available,
            in_stock: available > 0,
        }
    }

    fn shopper(codes: &[&str], percent: u8) -> Shopper {
        let client = Client::new(
            crate::client::parse_base_url("http://127.0.0.1:1").unwrap(),
            1,
            None,
        )
        .unwrap();
        let now = Instant::now();
        let shared = Arc::new(Shared {
            token: "tok_visa".to_owned(),
            seed: 1,
            measure_from: now,
            deadline: now,
            checkout_limit: None,
            checkouts_claimed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            progress: Progress::default(),
            pacer: None,
            refund_percent: 0,
            checkout_wait_secs: 0,
            promotion_codes: codes.iter().map(|c| (*c).to_owned()).collect(),
            promotion_percent: percent,
            shipping: true,
        });
        Shopper {
            index: 0,
            rng: XorShift64::for_shopper(1, 0),
            recorder: Recorder::new(now),
            checkouts: Vec::new(),
            unconfirmed: Vec::new(),
            iteration: 0,
            shared,
            client,
        }
    }

    #[test]
    fn without_codes_no_choice_is_drawn_so_runs_keep_their_choices() {
        let mut shopper = shopper(&[], 100);
        assert_eq!(shopper.pick_code(), None);
        assert_eq!(
            shopper.rng.next_u64(),
            XorShift64::for_shopper(1, 0).next_u64()
        );
    }

    #[test]
    fn codes_are_picked_for_the_share_of_checkouts_asked_for() {
        let mut always = shopper(&["p10", "e5"], 100);
        let picked: HashSet<String> = (0..50).filter_map(|_| always.pick_code()).collect();
        assert_eq!(picked, HashSet::from(["p10".to_owned(), "e5".to_owned()]));
        let mut never = shopper(&["p10", "e5"], 0);
        assert!((0..50).all(|_| never.pick_code().is_none()));
        let mut some = shopper(&["p10"], 30);
        let applied = (0..1000).filter(|_| some.pick_code().is_some()).count();
        assert!((200..400).contains(&applied), "{applied} of 1000");
    }

    fn offered(names: &[&str]) -> Vec<ShippingQuote> {
        names
            .iter()
            .map(|name| ShippingQuote {
                option_id: format!("id-{name}"),
                name: (*name).to_owned(),
                price: Money {
                    amount: "4.90".to_owned(),
                    currency: "EUR".to_owned(),
                },
                free_shipping: false,
            })
            .collect()
    }

    fn picks(shopper: &mut Shopper, options: &[ShippingQuote], n: usize) -> Vec<String> {
        (0..n)
            .map(|_| shopper.pick_shipping(options).unwrap().name)
            .collect()
    }

    #[test]
    fn a_shipping_method_is_drawn_from_the_options_offered_reproducibly() {
        let options = offered(&["Standard", "Express", "Economy"]);
        let first = picks(&mut shopper(&[], 0), &options, 60);
        assert_eq!(
            first,
            picks(&mut shopper(&[], 0), &options, 60),
            "the same seed draws the same methods"
        );
        let chosen: HashSet<&str> = first.iter().map(String::as_str).collect();
        assert_eq!(chosen, HashSet::from(["Standard", "Express", "Economy"]));
        // The draw does not depend on the order the server lists them in.
        let mut reversed = options.clone();
        reversed.reverse();
        assert_eq!(first, picks(&mut shopper(&[], 0), &reversed, 60));
    }

    #[test]
    fn with_no_option_offered_none_is_chosen_and_nothing_drawn() {
        let mut shopper = shopper(&[], 0);
        assert_eq!(shopper.pick_shipping(&[]), None);
        assert_eq!(
            shopper.rng.next_u64(),
            XorShift64::for_shopper(1, 0).next_u64()
        );
    }

    #[test]
    fn the_checkout_repeats_no_address_when_the_cart_has_one() {
        let with_shipping = shopper(&[], 0);
        let body = serde_json::to_value(with_shipping.checkout_request()).unwrap();
        assert!(body.get("shipping_address").is_none(), "{body}");
        let mut without = shopper(&[], 0);
        Arc::get_mut(&mut without.shared).unwrap().shipping = false;
        let body = serde_json::to_value(without.checkout_request()).unwrap();
        assert_eq!(
            body["shipping_address"]["country"],
            crate::shipping::COUNTRY
        );
        assert_eq!(body["shipping_address"]["postal_code"], "10115");
    }

    #[test]
    fn candidates_are_in_stock_priced_and_distinct() {
        let products = ProductList {
            data: vec![
                Product {
                    id: "p1".to_owned(),
                    title: "one".to_owned(),
                    variants: vec![
                        variant("A", "EUR", 3),
                        variant("B", "EUR", 0),
                        variant("C", "USD", 5),
                    ],
                },
                Product {
                    id: "p2".to_owned(),
                    title: "two".to_owned(),
                    variants: vec![variant("A", "EUR", 3), variant("D", "eur", 1)],
                },
            ],
            has_more: false,
        };
        assert_eq!(candidate_skus(&products), vec!["A", "D"]);
    }
}
