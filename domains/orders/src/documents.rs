//! The documents an order gives its shopper: an invoice once it is paid, and a credit note
//! for each refund whose money went back. Both are read from the order's own state, which its
//! events alone build, so a document printed today and one printed in ten years say the same.
//!
//! Invariant: an invoice's lines' `net` (line total less its share of the discount) sum with
//! the shipping to its total, and its total is what the order was paid. A credit note's lines
//! and shipping sum to its total, which is the refund's amount.
//!
//! Tax: nothing charges tax yet, so every document's `tax_total` is zero in the order's
//! currency and its tax breakdown is empty; when tax is priced (issue 11) it is recorded per
//! line on the order and shown here.

use chrono::{DateTime, Utc};
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
    /// What the line cost the shopper: `line_total - discount`.
    pub net: Money,
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
    pub tax_total: Money,
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
    pub amount: Money,
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
    pub shipping: Money,
    pub tax_total: Money,
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
    let lines = order
        .lines()
        .iter()
        .map(|line| InvoiceLine {
            sku: line.sku().as_str().to_owned(),
            title: line.title().to_owned(),
            quantity: line.quantity().get(),
            unit_price: line.unit_price(),
            line_total: line.line_total(),
            discount: line.discount(),
            net: line.paid(),
        })
        .collect();
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
        shipping_total: order.shipping_total().unwrap_or_else(|| zero(currency)),
        tax_total: zero(currency),
        total: order.total().unwrap_or_else(|| zero(currency)),
        paid,
    })
}

/// The credit notes of `order`: one per refund whose money went back, in refund order.
pub fn credit_notes(order: &Order) -> Vec<CreditNote> {
    let (Some(order_id), Some(currency)) = (order.id(), order.currency()) else {
        return Vec::new();
    };
    order
        .refunds()
        .iter()
        .filter(|refund| refund.state() == OrderRefundState::Refunded)
        .map(|refund| CreditNote {
            refund_id: refund.refund_id(),
            order_id,
            order_number: order.number(),
            currency,
            reason: refund.reason().as_str().to_owned(),
            lines: refund
                .lines()
                .iter()
                .map(|part| CreditNoteLine {
                    sku: part.sku().as_str().to_owned(),
                    title: order
                        .lines()
                        .iter()
                        .find(|line| line.sku() == part.sku())
                        .map(|line| line.title().to_owned())
                        .unwrap_or_default(),
                    quantity: part.quantity(),
                    amount: part.amount(),
                })
                .collect(),
            shipping: refund.shipping(),
            tax_total: zero(currency),
            total: refund.amount(),
        })
        .collect()
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
