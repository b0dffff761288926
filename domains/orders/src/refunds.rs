//! The order's refundable balance: what was paid, what refunds have taken or set aside, and
//! which units and how much of each line are left to give back (ADR 0018).
//!
//! A refund is first *requested* on the order: the order checks it against what is left and
//! sets its amount and units aside in one event, so two refunds can never both take the same
//! money or the same units (their appends conflict on the order's stream, and the second is
//! decided again against the first). The refund process then gives the money back and
//! *records* the refund, or *releases* what it set aside if the money could not be returned.
//!
//! Invariants, for every order:
//! - the requested and refunded amounts together never exceed what was paid;
//! - per line, refunded and requested units never exceed the units bought, and the money
//!   given back for the line never exceeds its total;
//! - every refund's line amounts and shipping amount sum exactly to its amount;
//! - the shipping parts of the requested and refunded refunds never exceed the order's
//!   shipping total.
//!
//! A refund's shipping part is its own component of the allocation: a refund of lines gives
//! none back unless asked ([`ShippingRefund`]), an amount is spread over the lines and what is
//! left of shipping alike, and a cancellation gives back whatever is left of both.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{
    allocate, deterministic_uuid, Currency, Money, OrderId, Quantity, RefundId, Sku,
};

use crate::errors::OrderError;
use crate::events::RefundLineData;
use crate::values::{OrderLine, MAX_REASON_CHARS};

/// Most refunds one order may have, released ones included: each is a few events in the
/// order's stream, and an order is loaded whole.
pub const MAX_REFUNDS: usize = 100;

/// Who asked for a refund. New origins may be added; none is ever removed or renamed, since
/// events record them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOrigin {
    /// Staff, through the admin API.
    Admin,
    /// A shopper's return, once its goods were received.
    Return,
    /// Cancelling a paid order.
    Cancellation,
}

impl fmt::Display for RefundOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefundOrigin::Admin => "admin",
            RefundOrigin::Return => "return",
            RefundOrigin::Cancellation => "cancellation",
        })
    }
}

/// What a refund gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundItems {
    /// Units of the order's lines, at the price paid for them (capped by what is left of the
    /// line's total after earlier refunds).
    Lines(Vec<RefundLineRequest>),
    /// An amount, allocated across the lines (and shipping) in proportion to what is left of
    /// each, to the minor unit.
    Amount(Money),
}

/// How much of the order's shipping a refund of lines gives back (Shopify's refund
/// `shipping`). With no lines it is a refund of shipping only. An amount refund takes none:
/// the amount is already spread over the lines and shipping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShippingRefund {
    /// No shipping: what a refund of lines has always given back.
    #[default]
    None,
    /// Whatever of the shipping no other refund holds (possibly nothing, beside lines).
    Full,
    /// This much of the shipping: in the order's currency, greater than zero, in whole minor
    /// units, and at most what no other refund holds.
    Amount(Money),
}

impl ShippingRefund {
    /// Whether a refund whose shipping part is `recorded` is what this asks for, when `left`
    /// is what the order's other refunds leave of the shipping.
    fn matches(&self, recorded: Money, left: Money) -> bool {
        match self {
            ShippingRefund::None => recorded.is_zero(),
            ShippingRefund::Full => recorded == left,
            ShippingRefund::Amount(amount) => *amount == recorded,
        }
    }
}

/// Units of one line to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLineRequest {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Where a refund of the order stands, as the order knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderRefundState {
    /// Its amount and units are set aside; the money has not been given back yet.
    Requested,
    /// The money went back to the shopper.
    Refunded,
    /// It could not be given back; what it set aside is refundable again.
    Released,
}

/// How much of what was paid has been given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinancialStatus {
    Paid,
    PartiallyRefunded,
    Refunded,
}

/// Why a refund was asked for or released: trimmed, not empty, at most [`MAX_REASON_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefundReason(String);

impl RefundReason {
    pub fn parse(raw: &str) -> Result<RefundReason, OrderError> {
        let reason = raw.trim();
        if reason.is_empty() {
            return Err(OrderError::InvalidReason {
                reason: "must not be empty".to_owned(),
            });
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(OrderError::InvalidReason {
                reason: format!("must be at most {MAX_REASON_CHARS} characters"),
            });
        }
        Ok(RefundReason(reason.to_owned()))
    }

    pub(crate) fn recorded(reason: String) -> RefundReason {
        RefundReason(reason)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One line's part of a refund: units given back (zero for a refund of money only) and the
/// money for the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundedLine {
    sku: Sku,
    quantity: u32,
    amount: Money,
}

impl RefundedLine {
    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    /// Units given back; zero when the refund is of money only.
    pub fn quantity(&self) -> u32 {
        self.quantity
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    pub(crate) fn recorded(line: RefundLineData) -> RefundedLine {
        RefundedLine {
            sku: Sku::recorded(line.sku),
            quantity: line.quantity,
            amount: line.amount,
        }
    }
}

/// A refund as the order records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRefund {
    refund_id: RefundId,
    amount: Money,
    lines: Vec<RefundedLine>,
    shipping: Money,
    restock: bool,
    reason: RefundReason,
    origin: RefundOrigin,
    state: OrderRefundState,
    /// Why it was released, once it was.
    released_because: Option<String>,
}

impl OrderRefund {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn recorded(
        refund_id: RefundId,
        amount: Money,
        lines: Vec<RefundLineData>,
        shipping: Money,
        restock: bool,
        reason: String,
        origin: RefundOrigin,
    ) -> OrderRefund {
        OrderRefund {
            refund_id,
            amount,
            lines: lines.into_iter().map(RefundedLine::recorded).collect(),
            shipping,
            restock,
            reason: RefundReason::recorded(reason),
            origin,
            state: OrderRefundState::Requested,
            released_because: None,
        }
    }

    pub fn refund_id(&self) -> RefundId {
        self.refund_id
    }

    pub fn amount(&self) -> Money {
        self.amount
    }

    /// The lines it gives money or units back for, in the order's line order.
    pub fn lines(&self) -> &[RefundedLine] {
        &self.lines
    }

    /// The part of `amount` that refunds shipping.
    pub fn shipping(&self) -> Money {
        self.shipping
    }

    /// Whether the units given back go back into stock.
    pub fn restock(&self) -> bool {
        self.restock
    }

    pub fn reason(&self) -> &RefundReason {
        &self.reason
    }

    pub fn origin(&self) -> RefundOrigin {
        self.origin
    }

    pub fn state(&self) -> OrderRefundState {
        self.state
    }

    pub fn released_because(&self) -> Option<&str> {
        self.released_because.as_deref()
    }

    pub(crate) fn mark_refunded(&mut self) {
        self.state = OrderRefundState::Refunded;
    }

    pub(crate) fn mark_released(&mut self, reason: String) {
        self.state = OrderRefundState::Released;
        self.released_because = Some(reason);
    }

    /// Whether it holds money or units: requested or refunded, not released.
    fn active(&self) -> bool {
        self.state != OrderRefundState::Released
    }

    /// Whether asking again for `items` and `shipping` with this id repeats this request;
    /// `shipping_left` is what the order's other refunds leave of its shipping (what
    /// [`ShippingRefund::Full`] took).
    pub(crate) fn repeats(
        &self,
        items: &RefundItems,
        shipping: ShippingRefund,
        shipping_left: Money,
        restock: bool,
        reason: &RefundReason,
        origin: RefundOrigin,
    ) -> bool {
        let same_items = match items {
            RefundItems::Amount(amount) => {
                *amount == self.amount && self.lines.iter().all(|line| line.quantity == 0)
            }
            RefundItems::Lines(requested) => {
                let returned: Vec<(&Sku, u32)> = self
                    .lines
                    .iter()
                    .filter(|line| line.quantity > 0)
                    .map(|line| (&line.sku, line.quantity))
                    .collect();
                returned.len() == requested.len()
                    && requested
                        .iter()
                        .all(|wanted| returned.contains(&(&wanted.sku, wanted.quantity.get())))
            }
        };
        let same_shipping = match items {
            RefundItems::Amount(_) => shipping == ShippingRefund::None,
            RefundItems::Lines(_) => shipping.matches(self.shipping, shipping_left),
        };
        same_items
            && same_shipping
            && self.restock == restock
            && &self.reason == reason
            && self.origin == origin
    }
}

/// What a new refund sets aside: its amount, and per line the units and money.
pub(crate) struct DecidedRefund {
    pub amount: Money,
    pub lines: Vec<RefundLineData>,
    pub shipping: Money,
}

/// What is left to refund of one line.
struct LineBalance<'a> {
    line: &'a OrderLine,
    units: u32,
    value: Money,
}

/// What is left of the order's shipping once its active refunds other than `except` took
/// their shipping parts.
pub(crate) fn shipping_left(
    shipping_total: Money,
    refunds: &[OrderRefund],
    except: Option<RefundId>,
) -> Result<Money, OrderError> {
    refunds
        .iter()
        .filter(|refund| refund.active() && Some(refund.refund_id) != except)
        .try_fold(shipping_total, |left, refund| sub(left, refund.shipping))
}

/// Decides what a new refund of `items` and `shipping` sets aside, given the order's lines,
/// its shipping total, what it was paid and its refunds so far.
pub(crate) fn decide_refund(
    lines: &[OrderLine],
    shipping_total: Money,
    paid: Money,
    refunds: &[OrderRefund],
    items: &RefundItems,
    shipping: ShippingRefund,
    restock: bool,
) -> Result<DecidedRefund, OrderError> {
    let currency = paid.currency();
    let active: Vec<&OrderRefund> = refunds.iter().filter(|r| r.active()).collect();
    let balances = lines
        .iter()
        .map(|line| {
            let mut units = line.quantity().get();
            let mut value = line.paid();
            for part in active.iter().flat_map(|r| &r.lines) {
                if part.sku == *line.sku() {
                    units = units.saturating_sub(part.quantity);
                    value = sub(value, part.amount)?;
                }
            }
            Ok(LineBalance { line, units, value })
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
    let shipping_left = shipping_left(shipping_total, refunds, None)?;
    let mut refundable = paid;
    for refund in &active {
        refundable = sub(refundable, refund.amount)?;
    }

    let decided = match items {
        RefundItems::Lines(requested) => match shipping_part(shipping, shipping_left, currency)? {
            Some(shipping) if requested.is_empty() => shipping_only(shipping, restock)?,
            shipping => lines_refund(&balances, requested, currency)?
                .with_shipping(shipping.unwrap_or_else(|| zero(currency)))?,
        },
        RefundItems::Amount(amount) => {
            if shipping != ShippingRefund::None {
                return Err(OrderError::ShippingWithAmount);
            }
            if restock {
                return Err(OrderError::RestockWithoutLines);
            }
            amount_refund(&balances, shipping_left, refundable, *amount)?
        }
    };
    // Per-line caps already keep a refund within the balance; this says so where it matters.
    if exceeds(decided.amount, refundable) {
        return Err(OrderError::OverRefund {
            requested: decided.amount,
            refundable,
        });
    }
    Ok(decided)
}

/// The id of the refund that cancelling a paid order requests: one per order, so a repeated
/// cancellation finds it.
pub fn cancellation_refund_id(order_id: OrderId) -> RefundId {
    RefundId::from_uuid(deterministic_uuid(
        "order-cancellation-refund",
        &[&order_id.as_uuid().to_string()],
    ))
}

/// Everything the order has left to refund: every unit not yet refunded with what is left of
/// its line's total, and what is left of shipping. `None` when nothing is left.
pub(crate) fn decide_remainder(
    lines: &[OrderLine],
    shipping_total: Money,
    paid: Money,
    refunds: &[OrderRefund],
) -> Result<Option<DecidedRefund>, OrderError> {
    let currency = paid.currency();
    let active: Vec<&OrderRefund> = refunds.iter().filter(|r| r.active()).collect();
    let mut amount = zero(currency);
    let mut parts = Vec::new();
    for line in lines {
        let mut units = line.quantity().get();
        let mut value = line.paid();
        for part in active.iter().flat_map(|r| &r.lines) {
            if part.sku == *line.sku() {
                units = units.saturating_sub(part.quantity);
                value = sub(value, part.amount)?;
            }
        }
        if units == 0 && value.is_zero() {
            continue;
        }
        amount = add(amount, value)?;
        parts.push(RefundLineData {
            sku: line.sku().as_str().to_owned(),
            quantity: units,
            amount: value,
        });
    }
    let mut shipping = shipping_total;
    let mut refundable = paid;
    for refund in &active {
        shipping = sub(shipping, refund.shipping)?;
        refundable = sub(refundable, refund.amount)?;
    }
    let amount = add(amount, shipping)?;
    if parts.is_empty() && amount.is_zero() {
        return Ok(None);
    }
    // What the lines and shipping have left is what was paid minus what refunds took.
    if amount != refundable {
        return Err(OrderError::RefundTooLarge);
    }
    Ok(Some(DecidedRefund {
        amount,
        lines: parts,
        shipping,
    }))
}

/// What `units` of `line` paid: their price, less their share of the line's discount, plus
/// their share of its tax when the tax came on top (ADR 0038). Each share is the line's
/// discount (or tax) split evenly per unit, rounded half up, separately; the last units
/// refunded take what is left of the line (the caller caps at the line's balance), so the
/// parts of a fully refunded line sum exactly to what it paid.
fn unit_share(line: &OrderLine, units: u32) -> Result<Money, OrderError> {
    let at_price = line
        .unit_price()
        .checked_times(shared_kernel::Quantity::new(units).map_err(|_| OrderError::RefundTooLarge)?)
        .map_err(|_| OrderError::RefundTooLarge)?;
    let currency = at_price.currency();
    let quantity = rust_decimal::Decimal::from(line.quantity().get());
    let units = rust_decimal::Decimal::from(units);
    // As ADR 0034 has it: the price less the exact share of the discount, rounded once.
    let discounted = Money::new(
        at_price.amount() - line.discount().amount() * units / quantity,
        currency,
    )
    .round_to_minor_units();
    let tax = line.tax_on_top();
    if tax.is_zero() {
        return Ok(discounted);
    }
    let tax_share = Money::new(tax.amount() * units / quantity, currency).round_to_minor_units();
    Ok(Money::new(
        discounted.amount() + tax_share.amount(),
        currency,
    ))
}

fn lines_refund(
    balances: &[LineBalance<'_>],
    requested: &[RefundLineRequest],
    currency: Currency,
) -> Result<DecidedRefund, OrderError> {
    if requested.is_empty() {
        return Err(OrderError::NoRefundLines);
    }
    let mut seen = BTreeSet::new();
    for wanted in requested {
        if !seen.insert(&wanted.sku) {
            return Err(OrderError::DuplicateRefundLine {
                sku: wanted.sku.clone(),
            });
        }
        let Some(balance) = balances.iter().find(|b| *b.line.sku() == wanted.sku) else {
            return Err(OrderError::UnknownLine {
                sku: wanted.sku.clone(),
            });
        };
        if wanted.quantity.get() > balance.units {
            return Err(OrderError::TooManyUnits {
                sku: wanted.sku.clone(),
                requested: wanted.quantity.get(),
                refundable: balance.units,
            });
        }
    }
    let mut amount = zero(currency);
    let mut lines = Vec::new();
    // In the order's line order, whatever order they were asked in.
    for balance in balances {
        let Some(wanted) = requested.iter().find(|w| w.sku == *balance.line.sku()) else {
            continue;
        };
        let at_price = unit_share(balance.line, wanted.quantity.get())?;
        // Money an earlier refund already gave back for this line is not given twice, and
        // the line's last units take whatever it has left, so rounded shares of a discount
        // never leave a cent behind.
        let part = if exceeds(at_price, balance.value) || wanted.quantity.get() == balance.units {
            balance.value
        } else {
            at_price
        };
        amount = add(amount, part)?;
        lines.push(RefundLineData {
            sku: balance.line.sku().as_str().to_owned(),
            quantity: wanted.quantity.get(),
            amount: part,
        });
    }
    Ok(DecidedRefund {
        amount,
        lines,
        shipping: zero(currency),
    })
}

/// `amount` as a refund may give it back: in the order's `currency`, greater than zero and
/// in whole minor units. `invalid` names what is wrong with it otherwise.
fn refundable_amount(
    amount: Money,
    currency: Currency,
    invalid: fn(String) -> OrderError,
) -> Result<Money, OrderError> {
    if amount.currency() != currency {
        return Err(OrderError::RefundCurrencyMismatch {
            order: currency,
            requested: amount.currency(),
        });
    }
    if amount.is_negative() || amount.is_zero() {
        return Err(invalid("must be greater than zero".to_owned()));
    }
    if !amount.has_at_most_minor_unit_precision() {
        return Err(invalid(format!(
            "{currency} amounts have at most {} decimal places",
            currency.minor_units()
        )));
    }
    Ok(amount)
}

/// The shipping part a refund asks for, checked against `left` (what other refunds leave of
/// the shipping); `None` when it asks for none.
fn shipping_part(
    shipping: ShippingRefund,
    left: Money,
    currency: Currency,
) -> Result<Option<Money>, OrderError> {
    match shipping {
        ShippingRefund::None => Ok(None),
        ShippingRefund::Full => Ok(Some(left)),
        ShippingRefund::Amount(amount) => {
            let amount = refundable_amount(amount, currency, |reason| {
                OrderError::InvalidShippingRefund { reason }
            })?;
            if exceeds(amount, left) {
                return Err(OrderError::ShippingOverRefund {
                    requested: amount.round_to_minor_units(),
                    refundable: left,
                });
            }
            Ok(Some(amount.round_to_minor_units()))
        }
    }
}

/// A refund of shipping alone: it gives no units back, so it cannot restock, and it must
/// give something back.
fn shipping_only(shipping: Money, restock: bool) -> Result<DecidedRefund, OrderError> {
    if restock {
        return Err(OrderError::RestockWithoutLines);
    }
    if shipping.is_zero() {
        return Err(OrderError::NoShippingToRefund);
    }
    Ok(DecidedRefund {
        amount: shipping,
        lines: Vec::new(),
        shipping,
    })
}

impl DecidedRefund {
    /// This refund with `shipping` given back beside what it already gives.
    fn with_shipping(self, shipping: Money) -> Result<DecidedRefund, OrderError> {
        Ok(DecidedRefund {
            amount: add(self.amount, shipping)?,
            shipping: add(self.shipping, shipping)?,
            ..self
        })
    }
}

fn amount_refund(
    balances: &[LineBalance<'_>],
    shipping_left: Money,
    refundable: Money,
    amount: Money,
) -> Result<DecidedRefund, OrderError> {
    let currency = refundable.currency();
    let amount = refundable_amount(amount, currency, |reason| OrderError::InvalidRefundAmount {
        reason,
    })?;
    if exceeds(amount, refundable) {
        return Err(OrderError::OverRefund {
            requested: amount.round_to_minor_units(),
            refundable,
        });
    }
    let amount = amount.round_to_minor_units();
    let mut weights: Vec<Money> = balances.iter().map(|b| b.value).collect();
    weights.push(shipping_left);
    let mut parts = allocate(amount, &weights).map_err(|_| OrderError::RefundTooLarge)?;
    let shipping = parts.pop().unwrap_or_else(|| zero(currency));
    let lines = balances
        .iter()
        .zip(parts)
        .filter(|(_, part)| !part.is_zero())
        .map(|(balance, part)| RefundLineData {
            sku: balance.line.sku().as_str().to_owned(),
            quantity: 0,
            amount: part,
        })
        .collect();
    Ok(DecidedRefund {
        amount,
        lines,
        shipping,
    })
}

/// What the order's refunds took, of refunds in `state`.
pub(crate) fn total_in(
    refunds: &[OrderRefund],
    state: OrderRefundState,
    currency: Currency,
) -> Money {
    refunds
        .iter()
        .filter(|refund| refund.state == state)
        .fold(zero(currency), |sum, refund| {
            // Refunds never exceed what was paid, which `Money::price` keeps far from overflow.
            sum.checked_add(&refund.amount)
                .expect("refunds of one order stay within what was paid")
        })
}

/// `a > b`, for two amounts of the order's currency.
fn exceeds(a: Money, b: Money) -> bool {
    a.amount() > b.amount()
}

fn zero(currency: Currency) -> Money {
    Money::zero(currency).round_to_minor_units()
}

fn add(a: Money, b: Money) -> Result<Money, OrderError> {
    a.checked_add(&b).map_err(|_| OrderError::RefundTooLarge)
}

fn sub(a: Money, b: Money) -> Result<Money, OrderError> {
    a.checked_sub(&b)
        .map(|m| m.round_to_minor_units())
        .map_err(|_| OrderError::RefundTooLarge)
}
