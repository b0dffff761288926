//! The tax context's port: [`TaxCalculator`], what carts, checkouts and orders ask to learn
//! the tax on a basket. [`TaxTable`](crate::TaxTable) implements it from configured rates; an
//! external tax service (Avalara, TaxJar, Stripe Tax, ...) can implement it later in an
//! adapter, which is why it is async and fallible.
//!
//! The request and the answer are valid by construction ([`TaxRequest::new`],
//! [`TaxBreakdown::new`]), so an external service's answer passes the same checks as the
//! table's: one taxed amount per line, in order, in the request's currency, each adding up.

use async_trait::async_trait;
use shared_kernel::{CountryCode, Currency, Money, Quantity, Sku};

use crate::errors::TaxError;
use crate::rounding::{from_minor, to_minor, TaxedAmount};
use crate::values::{PriceBasis, TaxClass};

/// One line of a basket to tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    pub sku: Sku,
    /// `None`: the country's standard rate applies.
    pub tax_class: Option<TaxClass>,
    /// The line's total (unit price × quantity) after its share of discounts.
    pub amount: Money,
    /// For services that tax per unit or cap per item; the table taxes `amount` as a whole.
    pub quantity: Quantity,
}

/// What to calculate tax for: a basket's lines and its shipping charge, going to one country,
/// with prices that include tax or not.
///
/// Invariant: every amount is in the request's currency (the shipping charge's), not
/// negative, in whole minor units and at most
/// [`MAX_TAXABLE_AMOUNT`](crate::rounding::MAX_TAXABLE_AMOUNT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxRequest {
    destination: CountryCode,
    prices: PriceBasis,
    lines: Vec<TaxLine>,
    shipping: Money,
}

impl TaxRequest {
    /// `shipping` is the charge for shipping after discounts (zero when free); its currency is
    /// the request's. Errors: [`TaxError::InvalidRequest`] naming the first amount that breaks
    /// the invariant.
    pub fn new(
        destination: CountryCode,
        prices: PriceBasis,
        lines: Vec<TaxLine>,
        shipping: Money,
    ) -> Result<TaxRequest, TaxError> {
        let currency = shipping.currency();
        let amounts = lines
            .iter()
            .map(|line| (line.sku.as_str(), line.amount))
            .chain([("shipping", shipping)]);
        for (what, amount) in amounts {
            if amount.currency() != currency {
                return Err(TaxError::InvalidRequest {
                    reason: format!("{what}: {amount} is not in {currency}, as shipping is"),
                });
            }
            to_minor(amount).map_err(|reason| TaxError::InvalidRequest {
                reason: format!("{what}: {amount} {reason}"),
            })?;
        }
        Ok(TaxRequest {
            destination,
            prices,
            lines,
            shipping,
        })
    }

    pub fn destination(&self) -> CountryCode {
        self.destination
    }

    /// Whether the amounts include tax.
    pub fn prices(&self) -> PriceBasis {
        self.prices
    }

    pub fn lines(&self) -> &[TaxLine] {
        &self.lines
    }

    pub fn shipping(&self) -> Money {
        self.shipping
    }

    pub fn currency(&self) -> Currency {
        self.shipping.currency()
    }
}

/// A line's tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTax {
    pub sku: Sku,
    pub taxed: TaxedAmount,
}

/// The answer to a [`TaxRequest`]: the tax of each line, in the request's order, of the
/// shipping charge, and in total.
///
/// Invariant: one line per request line, in order, each taxing exactly the amount the request
/// gave under its price basis; `total_tax` is the sum of the lines' tax and the shipping's,
/// exactly, in the request's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxBreakdown {
    lines: Vec<LineTax>,
    shipping: TaxedAmount,
    total_tax: Money,
}

impl TaxBreakdown {
    /// The answer to `request` from `lines` (one per request line, in order) and `shipping`.
    /// Errors: [`TaxError::InvalidAnswer`] when they do not answer the request.
    pub fn new(
        request: &TaxRequest,
        lines: Vec<TaxedAmount>,
        shipping: TaxedAmount,
    ) -> Result<TaxBreakdown, TaxError> {
        let invalid = |reason: String| TaxError::InvalidAnswer { reason };
        if lines.len() != request.lines.len() {
            return Err(invalid(format!(
                "{} lines taxed for a request of {}",
                lines.len(),
                request.lines.len()
            )));
        }
        let answers = lines
            .iter()
            .zip(&request.lines)
            .map(|(taxed, line)| (line.sku.as_str(), taxed, line.amount));
        let mut total = 0u128;
        for (what, taxed, asked) in answers.chain([("shipping", &shipping, request.shipping)]) {
            if taxed.basis() != request.prices || taxed.given() != asked {
                return Err(invalid(format!(
                    "{what}: taxed {} {} for {asked} {}",
                    taxed.given(),
                    taxed.basis(),
                    request.prices
                )));
            }
            let tax = to_minor(taxed.tax()).map_err(invalid)?;
            total = total
                .checked_add(tax)
                .ok_or_else(|| invalid("the tax is too large to add up".to_owned()))?;
        }
        Ok(TaxBreakdown {
            lines: lines
                .into_iter()
                .zip(&request.lines)
                .map(|(taxed, line)| LineTax {
                    sku: line.sku.clone(),
                    taxed,
                })
                .collect(),
            shipping,
            total_tax: from_minor(total, request.currency())?,
        })
    }

    /// In the request's order.
    pub fn lines(&self) -> &[LineTax] {
        &self.lines
    }

    pub fn shipping(&self) -> &TaxedAmount {
        &self.shipping
    }

    /// Lines' tax plus shipping's tax.
    pub fn total_tax(&self) -> Money {
        self.total_tax
    }
}

/// Calculates the tax on a basket.
///
/// Promises: an answer is a [`TaxBreakdown`] of this very request (so it adds up, see its
/// invariant); calculating has no effect, so asking again is always safe.
/// Errors: [`TaxError::NoRate`] when it cannot tax the destination;
/// [`TaxError::CurrencyNotConfigured`] and [`TaxError::PriceBasisMismatch`] when its
/// configuration disagrees with the request; [`TaxError::InvalidAnswer`] and
/// [`TaxError::Unavailable`] from an external service.
#[async_trait]
pub trait TaxCalculator: Send + Sync {
    async fn calculate(&self, request: &TaxRequest) -> Result<TaxBreakdown, TaxError>;
}
