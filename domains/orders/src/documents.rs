//! The documents an order gives its shopper: an invoice once it is paid, and a credit note
//! for each refund whose money went back. Both are read from the order's own state, which its
//! events alone build, so a document printed today and one printed in ten years say the same.
//!
//! Invariant: an invoice's lines' `gross` (line total less its share of the discount, plus
//! its tax when the tax came on top) sum with the shipping's gross to its total, and its total
//! is what the order was paid. A credit note's lines and shipping sum to its total, which is
//! the refund's amount.
//!
//! Tax (ADR 0038): each line shows its rate, its tax, its `net` (without tax) and its
//! `gross`; the breakdown groups the lines and the shipping by rate, and its tax sums to the
//! tax total. A credit note's tax is the part of what it gave back that was tax: for each line
//! (and the shipping), the line's tax × what the refunds recorded so far gave back of the line
//! ÷ what the line paid, rounded half up, less what earlier credit notes already showed. So a
//! line refunded in several parts shows, over its notes, exactly the tax its invoice showed.
//! Orders placed without tax show zero tax and an empty breakdown.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_kernel::{Currency, Money, OrderId, RefundId};

use crate::aggregate::Order;
use crate::refunds::OrderRefundState;
use crate::values::OrderNumber;

/// Why a document cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("order not found")]
    NotFound,
    /// An invoice is issued once the order is paid.
    #[error("the order is not paid yet, so it has no invoice")]
    NotPaid,
    /// No refund of the order with this id gave money back.
    #[error("no refund {refund_id} of this order gave money back")]
    NoSuchRefund { refund_id: RefundId },
}

impl DocumentError {
    /// Stable, snake_case identifier for problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::NotFound => "order_not_found",
            DocumentError::NotPaid => "order_not_paid",
            DocumentError::NoSuchRefund { .. } => "credit_note_not_found",
        }
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
    /// The line's share of the promotion's discount.
    pub discount: Money,
    /// The rate the line was taxed at; `None` when the order charged no tax.
    pub tax_rate: Option<Decimal>,
    /// The line's tax (zero without tax).
    pub tax: Money,
    /// The line without tax: `line_total - discount`, less the tax when prices included it.
    pub net: Money,
    /// What the line cost the shopper: `net + tax`.
    pub gross: Money,
}

/// Tax charged at one rate: on the lines (and the shipping) taxed at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxAtRate {
    /// In percent.
    pub rate: Decimal,
    /// The amounts taxed, without their tax.
    pub taxable: Money,
    pub tax: Money,
}

/// The invoice of a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub order_id: OrderId,
    /// The order's number, which the invoice is filed under (`#1042`); `None` for orders
    /// placed before numbers existed.
    pub number: Option<OrderNumber>,
    pub issued_for: DateTime<Utc>,
    pub currency: Currency,
    /// `None` once the shopper's personal data was erased.
    pub email: Option<String>,
    pub lines: Vec<InvoiceLine>,
    pub promotion_code: Option<String>,
    pub subtotal: Money,
    pub discount_total: Money,
    pub shipping_total: Money,
    /// The tax on the shipping (zero without tax).
    pub shipping_tax: Money,
    /// Whether the prices included the tax; `None` when the order charged no tax.
    pub prices_include_tax: Option<bool>,
    pub tax_total: Money,
    /// One entry per rate, lowest first; empty when the order charged no tax.
    pub tax_breakdown: Vec<TaxAtRate>,
    pub total: Money,
    pub paid: Money,
}

/// One line of a credit note: what a refund gave back for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNoteLine {
    pub sku: String,
    pub title: String,
    /// Units given back; zero for a refund of money only.
    pub quantity: u32,
    /// What was given back for the line, its tax included.
    pub amount: Money,
    /// The part of `amount` that was tax.
    pub tax: Money,
}

/// The credit note of a refund whose money went back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNote {
    pub refund_id: RefundId,
    pub order_id: OrderId,
    /// The number of the order (and its invoice) the note credits.
    pub order_number: Option<OrderNumber>,
    pub currency: Currency,
    pub reason: String,
    pub lines: Vec<CreditNoteLine>,
    /// What was given back of the shipping, its tax included.
    pub shipping: Money,
    /// The part of `shipping` that was tax.
    pub shipping_tax: Money,
    pub tax_total: Money,
    /// One entry per rate, lowest first; empty when the order charged no tax.
    pub tax_breakdown: Vec<TaxAtRate>,
    pub total: Money,
}

fn zero(currency: Currency) -> Money {
    Money::zero(currency).round_to_minor_units()
}

/// The invoice of `order`, once paid.
pub fn invoice(order: &Order) -> Result<Invoice, DocumentError> {
    let (Some(order_id), Some(currency), Some(placed_at)) =
        (order.id(), order.currency(), order.placed_at())
    else {
        return Err(DocumentError::NotFound);
    };
    let paid = order.paid().ok_or(DocumentError::NotPaid)?;
    let lines: Vec<InvoiceLine> = order
        .lines()
        .iter()
        .map(|line| {
            let gross = line.paid();
            let tax = line.tax().map_or_else(|| zero(currency), |tax| tax.amount);
            InvoiceLine {
                sku: line.sku().as_str().to_owned(),
                title: line.title().to_owned(),
                quantity: line.quantity().get(),
                unit_price: line.unit_price(),
                line_total: line.line_total(),
                discount: line.discount(),
                tax_rate: line.tax().map(|tax| tax.rate),
                tax,
                net: minus(gross, tax),
                gross,
            }
        })
        .collect();
    let shipping_total = order.shipping_total().unwrap_or_else(|| zero(currency));
    let shipping_tax = order.shipping_tax();
    let mut breakdown = Breakdown::new(currency);
    for line in &lines {
        if let Some(rate) = line.tax_rate {
            breakdown.add(rate, line.net, line.tax);
        }
    }
    if let Some(tax) = shipping_tax {
        let gross = shipping_gross(shipping_total, tax);
        breakdown.add(tax.rate, minus(gross, tax.amount), tax.amount);
    }
    Ok(Invoice {
        order_id,
        number: order.number(),
        issued_for: placed_at,
        currency,
        email: (!order.personal_data_erased())
            .then(|| order.email().map(|email| email.as_str().to_owned()))
            .flatten(),
        lines,
        promotion_code: order.promotion_code().map(str::to_owned),
        subtotal: order.subtotal().unwrap_or_else(|| zero(currency)),
        discount_total: order.discount_total().unwrap_or_else(|| zero(currency)),
        shipping_total,
        shipping_tax: shipping_tax.map_or_else(|| zero(currency), |tax| tax.amount),
        prices_include_tax: shipping_tax.map(|tax| tax.included),
        tax_total: order.tax_total().unwrap_or_else(|| zero(currency)),
        tax_breakdown: breakdown.rates(),
        total: order.total().unwrap_or_else(|| zero(currency)),
        paid,
    })
}

/// The credit notes of `order`: one per refund whose money went back, in refund order.
pub fn credit_notes(order: &Order) -> Vec<CreditNote> {
    let (Some(order_id), Some(currency)) = (order.id(), order.currency()) else {
        return Vec::new();
    };
    let shipping_total = order.shipping_total().unwrap_or_else(|| zero(currency));
    // What the refunds recorded so far gave back, per line (by index) and of the shipping.
    let mut lines_so_far = vec![zero(currency); order.lines().len()];
    let mut shipping_so_far = zero(currency);
    let mut notes = Vec::new();
    for refund in order
        .refunds()
        .iter()
        .filter(|refund| refund.state() == OrderRefundState::Refunded)
    {
        let mut breakdown = Breakdown::new(currency);
        let mut lines = Vec::new();
        for part in refund.lines() {
            let found = order
                .lines()
                .iter()
                .enumerate()
                .find(|(_, line)| line.sku() == part.sku());
            let mut tax = zero(currency);
            let mut title = String::new();
            if let Some((index, line)) = found {
                title = line.title().to_owned();
                let before = lines_so_far[index];
                let through = plus(before, part.amount());
                lines_so_far[index] = through;
                if let Some(line_tax) = line.tax() {
                    tax = tax_given_back(line_tax.amount, line.paid(), before, through);
                    breakdown.add(line_tax.rate, minus(part.amount(), tax), tax);
                }
            }
            lines.push(CreditNoteLine {
                sku: part.sku().as_str().to_owned(),
                title,
                quantity: part.quantity(),
                amount: part.amount(),
                tax,
            });
        }
        let mut shipping_tax = zero(currency);
        if let Some(tax) = order.shipping_tax() {
            let before = shipping_so_far;
            shipping_so_far = plus(before, refund.shipping());
            shipping_tax = tax_given_back(
                tax.amount,
                shipping_gross(shipping_total, tax),
                before,
                shipping_so_far,
            );
            if !refund.shipping().is_zero() {
                breakdown.add(
                    tax.rate,
                    minus(refund.shipping(), shipping_tax),
                    shipping_tax,
                );
            }
        }
        let tax_total = lines.iter().map(|line| line.tax).fold(shipping_tax, plus);
        notes.push(CreditNote {
            refund_id: refund.refund_id(),
            order_id,
            order_number: order.number(),
            currency,
            reason: refund.reason().as_str().to_owned(),
            lines,
            shipping: refund.shipping(),
            shipping_tax,
            tax_total,
            tax_breakdown: breakdown.rates(),
            total: refund.amount(),
        });
    }
    notes
}

/// The tax in what refunds gave back of an amount that paid `paid` with `tax` in it, for the
/// refund that took the refunded sum from `before` to `through`: the tax in `through` less
/// the tax in `before`, each `tax × refunded ÷ paid` rounded half up. The parts of an amount
/// refunded in full sum to its tax exactly.
fn tax_given_back(tax: Money, paid: Money, before: Money, through: Money) -> Money {
    let currency = tax.currency();
    if paid.is_zero() || tax.is_zero() {
        return zero(currency);
    }
    let share = |refunded: Money| {
        Money::new(tax.amount() * refunded.amount() / paid.amount(), currency)
            .round_to_minor_units()
    };
    minus(share(through), share(before))
}

/// What the shipping cost the shopper: its charge, plus its tax when that came on top.
fn shipping_gross(charge: Money, tax: &crate::events::TaxData) -> Money {
    if tax.included {
        charge
    } else {
        plus(charge, tax.amount)
    }
}

/// Taxable amounts and tax, summed per rate.
struct Breakdown {
    currency: Currency,
    by_rate: BTreeMap<Decimal, (Money, Money)>,
}

impl Breakdown {
    fn new(currency: Currency) -> Breakdown {
        Breakdown {
            currency,
            by_rate: BTreeMap::new(),
        }
    }

    fn add(&mut self, rate: Decimal, taxable: Money, tax: Money) {
        let zero = zero(self.currency);
        let (sum_taxable, sum_tax) = self.by_rate.entry(rate.normalize()).or_insert((zero, zero));
        *sum_taxable = plus(*sum_taxable, taxable);
        *sum_tax = plus(*sum_tax, tax);
    }

    fn rates(self) -> Vec<TaxAtRate> {
        self.by_rate
            .into_iter()
            .map(|(rate, (taxable, tax))| TaxAtRate { rate, taxable, tax })
            .collect()
    }
}

/// `a + b` of one currency, in minor units; amounts of one order stay far from overflow.
fn plus(a: Money, b: Money) -> Money {
    Money::new(a.amount() + b.amount(), a.currency()).round_to_minor_units()
}

/// `a - b` of one currency, in minor units.
fn minus(a: Money, b: Money) -> Money {
    Money::new(a.amount() - b.amount(), a.currency()).round_to_minor_units()
}

/// The credit note of refund `refund_id` of `order`.
pub fn credit_note(order: &Order, refund_id: RefundId) -> Result<CreditNote, DocumentError> {
    if order.id().is_none() {
        return Err(DocumentError::NotFound);
    }
    credit_notes(order)
        .into_iter()
        .find(|note| note.refund_id == refund_id)
        .ok_or(DocumentError::NoSuchRefund { refund_id })
}

#[cfg(test)]
mod tests;
