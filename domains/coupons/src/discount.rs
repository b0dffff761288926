//! What a promotion takes off a basket, and from which line: pure arithmetic on [`Terms`], so
//! a cart can show the discount and a checkout can record it without loading anything.
//!
//! The discount is computed on the eligible lines' total, then split across those lines in
//! proportion to their totals with [`shared_kernel::allocate`] (largest remainder, the split
//! refunds use), so that every line knows its share to the minor unit and a later refund of
//! one line gives back what that line really cost.
//!
//! - Percent off: the percentage of the eligible total, rounded half up (away from zero) to
//!   the currency's minor unit, as [`Money::round_to_minor_units`] rounds everywhere.
//! - Amount off: the amount in the basket's currency, or the eligible total if that is less.
//! - Free shipping: the shipping charge, which no other offer touches; nothing off the lines.
//!
//! Invariant: the line parts sum exactly to the lines' discount, each part is between zero and
//! its line's total, and lines the promotion does not cover get zero.
//! Invariant: the discount never exceeds what it applies to: the eligible lines' total, or the
//! shipping charge.

use shared_kernel::{allocate, Currency, Money, Sku};

use crate::errors::{BasketError, Refusal};
use crate::terms::{Offer, Terms};

/// Lines to price (a SKU and the line's total, quantity included) and a shipping charge, all
/// in one currency, none negative, in whole minor units. The currency is the shipping
/// charge's (zero when not known yet), so an empty basket still has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Basket {
    lines: Vec<(Sku, Money)>,
    shipping: Money,
    subtotal: Money,
}

impl Basket {
    /// Refuses mixed currencies, negative amounts, fractions of a minor unit, and a subtotal or
    /// shipping charge above [`Money::MAX_PRICE`] (which keeps every later product exact).
    pub fn new(lines: Vec<(Sku, Money)>, shipping: Money) -> Result<Basket, BasketError> {
        let currency = shipping.currency();
        let shipping = checked(shipping, currency)?;
        let mut subtotal = Money::zero(currency).round_to_minor_units();
        let mut checked_lines = Vec::with_capacity(lines.len());
        for (sku, total) in lines {
            let total = checked(total, currency)?;
            subtotal = subtotal
                .checked_add(&total)
                .ok()
                .filter(|sum| sum.amount() <= Money::MAX_PRICE)
                .ok_or(BasketError::TooLarge {
                    max: Money::MAX_PRICE,
                })?;
            checked_lines.push((sku, total));
        }
        Ok(Basket {
            lines: checked_lines,
            shipping,
            subtotal,
        })
    }

    pub fn currency(&self) -> Currency {
        self.shipping.currency()
    }

    /// The lines, in the order given.
    pub fn lines(&self) -> &[(Sku, Money)] {
        &self.lines
    }

    pub fn shipping(&self) -> Money {
        self.shipping
    }

    /// The merchandise subtotal: every line's total, without shipping. This is what a minimum
    /// subtotal is compared with, and what a redemption states.
    pub fn subtotal(&self) -> Money {
        self.subtotal
    }
}

fn checked(amount: Money, currency: Currency) -> Result<Money, BasketError> {
    if amount.currency() != currency {
        return Err(BasketError::CurrencyMismatch {
            basket: currency,
            found: amount.currency(),
        });
    }
    if amount.is_negative() {
        return Err(BasketError::Negative);
    }
    if !amount.has_at_most_minor_unit_precision() {
        return Err(BasketError::NotWholeMinorUnits {
            currency,
            minor_units: currency.minor_units(),
        });
    }
    if amount.amount() > Money::MAX_PRICE {
        return Err(BasketError::TooLarge {
            max: Money::MAX_PRICE,
        });
    }
    Ok(amount.round_to_minor_units())
}

/// What a promotion takes off one basket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discount {
    lines: Vec<Money>,
    shipping: Money,
    total: Money,
}

impl Discount {
    /// Each line's share, in the basket's line order (zero for lines not covered).
    pub fn lines(&self) -> &[Money] {
        &self.lines
    }

    /// What comes off the shipping charge.
    pub fn shipping(&self) -> Money {
        self.shipping
    }

    /// The whole discount: the line shares and the shipping part together.
    pub fn total(&self) -> Money {
        self.total
    }
}

/// What `terms` take off `basket`, or why the code cannot be used on it.
///
/// Checks, in this order, the currency, the minimum subtotal, and that at least one line is
/// covered (an empty basket has none). It does not check the schedule, the status or the
/// limits: those depend on the moment and on other checkouts, and the promotion checks them
/// when the code is redeemed. A free-shipping code on a basket with no shipping charge yet is
/// a zero discount, not a refusal.
pub fn discount(terms: &Terms, basket: &Basket) -> Result<Discount, Refusal> {
    let currency = basket.currency();
    terms.check_currency(currency)?;
    terms.check_minimum(basket.subtotal())?;
    if !basket
        .lines()
        .iter()
        .any(|(sku, _)| terms.applies_to.covers(sku))
    {
        return Err(Refusal::NoEligibleItems);
    }
    let zero = Money::zero(currency).round_to_minor_units();
    // Lines the promotion does not cover weigh nothing, so they get nothing.
    let weights: Vec<Money> = basket
        .lines()
        .iter()
        .map(|(sku, total)| {
            if terms.applies_to.covers(sku) {
                *total
            } else {
                zero
            }
        })
        .collect();
    // At most the basket's subtotal, so within `Money::MAX_PRICE`.
    let eligible = weights.iter().fold(zero, |sum, weight| {
        Money::new(sum.amount() + weight.amount(), currency)
    });
    let (off_lines, shipping) = match &terms.offer {
        Offer::PercentOff { percent } => (percent.of(eligible), zero),
        Offer::AmountOff { amounts } => {
            // `check_currency` found an amount in this currency.
            let amount = amounts.get(currency).unwrap_or(zero);
            (lesser(amount, eligible), zero)
        }
        Offer::FreeShipping => (zero, basket.shipping()),
    };
    // The basket's bounds keep the amount and every weight at most 10^15 with at most three
    // decimals, so each product in `allocate` stays far within u128, and the amount never
    // exceeds the weights' sum: nothing here can fail.
    let lines = allocate(off_lines, &weights)
        .expect("a discount within the eligible total of a bounded basket allocates");
    Ok(Discount {
        lines,
        shipping,
        total: Money::new(off_lines.amount() + shipping.amount(), currency).round_to_minor_units(),
    })
}

fn lesser(a: Money, b: Money) -> Money {
    if a.amount() <= b.amount() {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests;
